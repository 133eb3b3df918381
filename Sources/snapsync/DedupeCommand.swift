import ArgumentParser
import Foundation
import HTTP
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync dedupe [--mailbox ADDR]... [--kind K]...`: deletes the extra copies of CRM records in Exchange.
struct DedupeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedupe",
        abstract: "Delete the items that carry the CRM id of another item of their folder, keeping the linked copy.",
        discussion: "Exit 0 when no extra copy is left, 4 when Exchange refused to delete some (they are logged).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "A mailbox to clean; repeatable. Default: every mailbox with a CRM user.") var mailbox: [String] = []
    @Option(help: "A kind to clean; repeatable. Default: all.") var kind: [ItemKind] = []

    func run() async throws {
        let kinds = kind.orAll
        let environment = try CLIEnvironment.start(global, command: "dedupe")
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let db = try await environment.database()
            let owners = try await CRMStore.mailboxOwners(mailbox.isEmpty ? nil : mailbox, db: db)
            let deduplicator = Deduplicator(source: source, logger: environment.logger)
            var deleted = 0, failed = 0
            for owner in owners {
                for removal in try await deduplicator.remove(
                    owner, kinds: kinds, store: SyncConnection(db, logger: environment.logger))
                {
                    print(
                        "\(owner.smtpAddress) \(removal.kind.rawValue): \(removal.records) record(s) held more than once, "
                            + "\(removal.deleted) extra cop\(removal.deleted == 1 ? "y" : "ies") deleted"
                            + (removal.failed > 0 ? ", \(removal.failed) refused by Exchange" : ""))
                    deleted += removal.deleted
                    failed += removal.failed
                }
            }
            await db.close()
            print("\(deleted) extra cop\(deleted == 1 ? "y" : "ies") deleted in \(owners.count) mailbox(es)")
            return failed == 0 ? 0 : 4
        }
    }
}

import ArgumentParser
import Foundation
import HTTP
import Logging
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync verify`: compares both sides field by mapped field.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare the CRM and the mailboxes field by mapped field; exit 0 only when in sync (4 otherwise).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "A mailbox to check; repeatable. Default: every mailbox with a CRM user.") var mailbox: [String] = []
    @Option(help: "A kind to check; repeatable. Default: all.") var kind: [ItemKind] = []

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "verify")
        let kinds = kind.orAll
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let db = try await environment.database()
            let owners = try await CRMStore.mailboxOwners(mailbox.isEmpty ? nil : mailbox, db: db)
            var total = 0
            let verifier = Verifier(source: source, logger: environment.logger)
            var unchecked = 0
            for owner in owners {
                do {
                    let differences = try await verifier.verify(
                        owner, kinds: kinds, store: SyncConnection(db, logger: environment.logger))
                    total += differences.count
                    for difference in differences { print(difference) }
                } catch let error as MailboxSourceError where !error.isSourceWide {
                    // A mailbox Exchange does not know (or will not open) is reported; the others are still checked.
                    unchecked += 1
                    print("\(owner.smtpAddress): not checked: \(error)")
                    environment.logger.error(
                        "mailbox not verified",
                        metadata: ["mailbox": "\(owner.smtpAddress)", "item.error": "\(error.code)"])
                }
            }
            await db.close()
            let checked = owners.count - unchecked
            print(
                (total == 0 ? "in sync: \(checked) mailbox(es)" : "\(total) difference(s) in \(checked) mailbox(es)")
                    + (unchecked == 0 ? "" : "; \(unchecked) mailbox(es) not checked"))
            return total == 0 && unchecked == 0 ? 0 : 4
        }
    }
}

import ArgumentParser
import Foundation
import HTTP
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync sync enable|disable|status|run`.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Switch live sync on or off, show its state, or run it.",
        subcommands: [Enable.self, Disable.self, Status.self, Run.self])

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch sync on (globally, or for one mailbox); journaled.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this mailbox.") var mailbox: String?
        @Option(help: "Why (kept in the journal).") var note: String?
        func run() async throws { try await SyncCommand.set(true, mailbox: mailbox, note: note, global: global) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch sync off (globally, or for one mailbox); journaled.",
            discussion:
                "While off, CRM changes are not queued and Exchange is not read: switching it on again needs snapshots (snapsync doctor says which)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this mailbox.") var mailbox: String?
        @Option(help: "Why (kept in the journal).") var note: String?
        func run() async throws { try await SyncCommand.set(false, mailbox: mailbox, note: note, global: global) }
    }

    static func set(_ enabled: Bool, mailbox: String?, note: String?, global: GlobalOptions) async throws {
        let environment = try CLIEnvironment.start(global, command: enabled ? "sync enable" : "sync disable")
        try await environment.run {
            let actor =
                ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
                ?? "snapsync"
            try await SyncControl(database: try environment.syncDatabase()).setEnabled(
                enabled, mailbox: mailbox, actor: actor, note: note)
            print("sync \(enabled ? "enabled" : "disabled")\(mailbox.map { " for \($0)" } ?? "")")
            return 0
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The switch, the outbox, folders needing a snapshot, the journal.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "sync status")
            try await environment.run {
                let db = try await environment.database()
                let enabled = try await LiveSyncStore.isEnabled(db: db)
                let disabled = try await LiveSyncStore.disabledMailboxes(db: db)
                let outbox = try await LiveSyncStore.outboxSummary(db: db)
                let folders = try await FolderStateStore.needingSnapshot(db: db)
                let journal = try await LiveSyncStore.journal(limit: 10, db: db)
                await db.close()
                print(
                    "sync: \(enabled ? "on" : "off")"
                        + (disabled.isEmpty ? "" : ", off for \(disabled.sorted().joined(separator: ", "))"))
                print(
                    "outbox: \(outbox.pending) pending (\(outbox.retrying) retrying), \(outbox.parked) parked"
                        + (outbox.oldest.map { ", oldest queued \($0)" } ?? ""))
                for folder in folders {
                    print("needs an inbound snapshot: \(folder.mailbox) \(folder.kind): \(folder.reason ?? "")")
                }
                for entry in journal {
                    let change =
                        entry.protocol.map { "set the protocol to \($0.rawValue) of" }
                        ?? "switched \(entry.enabled == true ? "on" : "off")"
                    print(
                        "journal: \(entry.at) \(entry.actor) \(change) \(entry.mailbox ?? "globally")\(entry.note.map { ": \($0)" } ?? "")"
                    )
                }
                return 0
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver queued CRM changes and pull Exchange changes (loops until SIGTERM, or --once).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "One pass, then exit (for cron every minute).") var once = false
        @Option(help: "Seconds between passes when looping.") var interval: Double = 30
        @Option(help: "Conflict policy per kind, e.g. appointments=crm-wins,tasks=newest-wins (default newest-wins).")
        var conflictPolicy: String?

        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "sync run")
            var options = LiveSyncOptions()
            options.conflictPolicies = try ConflictPolicy.perKind(
                conflictPolicy ?? ProcessInfo.processInfo.environment["SNAPSYNC_CONFLICT_POLICY"])
            let stop = StopSignal()
            try await environment.run {
                let (source, http) = try await environment.exchange()
                defer { http.shutdown() }
                let db = try await environment.database()
                // One sender per installation at a time: a second `sync run` waits its turn (exit 75 with --once).
                guard try await db.tryAdvisoryLock(Self.lockKey) else {
                    environment.report("another snapsync sync run is active")
                    return 75
                }
                let sync = LiveSync(source: source, logger: environment.logger, options: options)
                var worst: Int32 = 0
                repeat {
                    let report = try await sync.runOnce(store: SyncConnection(db, logger: environment.logger))
                    environment.metrics?.record(
                        stage: "outbox", items: report.delivered, errors: report.parked, retries: report.retried)
                    environment.metrics?.record(stage: "pull", items: report.pulled)
                    print(
                        "sync pass: \(report.delivered) delivered, \(report.retried) to retry, \(report.parked) parked, "
                            + "\(report.pulled) pulled, \(report.conflicts) conflicts"
                            + (report.exchangeUnavailable ? ", Exchange unavailable" : "")
                            + (report.foldersNeedingSnapshot.isEmpty
                                ? "" : ", \(report.foldersNeedingSnapshot.count) folder(s) need an inbound snapshot"))
                    worst =
                        report.parked > 0 || !report.foldersNeedingSnapshot.isEmpty
                        ? 4 : (report.exchangeUnavailable ? 69 : 0)
                    if once { break }
                    let until = Date().addingTimeInterval(interval)
                    while Date() < until && !stop.isSet { try await Task.sleep(for: .milliseconds(200)) }
                } while !stop.isSet
                try await db.advisoryUnlock(Self.lockKey)
                await db.close()
                return worst
            }
        }

        static let lockKey: Int64 = 0x736E_6170_7379_6E63  // "snapsync"
    }
}

import ArgumentParser
import Foundation
import HTTP
import Pipeline
import SyncCore

/// `snapsync onboard`: carries out the rows of `sync.onboarding`.
struct OnboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onboard",
        abstract: "Bulk onboarding: activate or deactivate the mailboxes listed in sync.onboarding.",
        discussion: """
            Per activate row: tests the mailbox in Exchange, links it to the CRM user with the login, switches its sync \
            on (journaled) and, with --days-past/--days-future, runs an initial inbound and outbound snapshot limited to \
            that window; the row is deleted on success. A failure counts an attempt and keeps its reason; rows at \
            --max-attempts are skipped and reported. Deactivate rows switch the mailbox's sync off. Exit 0 when every \
            row was carried out, 3 when the window (--until/--max-duration) ended with rows left, 4 when some failed or were \
            skipped.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Initial snapshot: days before today.") var daysPast: Int?
    @Option(help: "Initial snapshot: days after today.") var daysFuture: Int?
    @Option(help: "Failed attempts after which a row is no longer retried.") var maxAttempts: Int = 5
    @OptionGroup var window: RunWindowOptions

    func validate() throws {
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard (daysPast ?? 0) >= 0, (daysFuture ?? 0) >= 0 else {
            throw ValidationError("--days-past and --days-future must not be negative")
        }
    }

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "onboard")
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let url = try environment.configured { () throws(SnapsyncConfiguration.Error) in
                try environment.configuration.requireDatabase()
            }
            var onboarding = Onboarding(conninfo: url, source: source, logger: environment.logger)
            onboarding.maxAttempts = maxAttempts
            onboarding.snapshotRange = OnboardingDecision.window(
                now: Date(), daysPast: daysPast, daysFuture: daysFuture)
            onboarding.window = try window.window(now: Date())
            let report = try await onboarding.run()
            for mailbox in report.activated { print("activated \(mailbox)") }
            for mailbox in report.deactivated { print("deactivated \(mailbox)") }
            for row in report.failed {
                print("failed \(row.mailbox) (attempt \(row.attempts) of \(maxAttempts)): \(row.error ?? "")")
            }
            for row in report.skipped {
                print("skipped \(row.mailbox): \(row.attempts) failed attempts, last: \(row.error ?? "")")
            }
            if report.windowEnded { print("the window ended with rows left; the next run goes on") }
            return report.windowEnded ? 3 : (report.failed.isEmpty && report.skipped.isEmpty ? 0 : 4)
        }
    }
}

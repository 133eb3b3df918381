import ArgumentParser
import Foundation
import Logging
import Observability

/// `snapsync`: keeps a PostgreSQL CRM and Exchange mailboxes in sync.
@main
struct Snapsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapsync",
        abstract:
            "Keeps a PostgreSQL CRM and Exchange mailboxes in sync, and brings them back in line when they drift.",
        discussion: """
            Exit codes: 0 success, 1 failure, 3 window ended with work left (the next run resumes), 4 finished with \
            quarantined items or failed stages, 64 usage, 69 PostgreSQL or Exchange unreachable, 75 locked, \
            78 configuration error.
            """,
        version: SnapsyncVersion.current,
        subcommands: [
            SnapshotCommand.self, ResumeCommand.self, RunsCommand.self, RerunCommand.self, VerifyCommand.self,
            SyncCommand.self, MailboxCommand.self, MigrateCommand.self, StatusCommand.self, DemoCommand.self,
            DoctorCommand.self, DedupeCommand.self, OnboardCommand.self,
        ]
    )
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "A key=value configuration file (the environment wins over it).")
    var config: String?

    @Option(name: .long, help: "Log format on stderr (auto: text on a terminal, else json).")
    var logFormat: LogFormat = .auto

    @Option(name: .long, help: "The least severe log level written (default: info; notice under a run's live status).")
    var logLevel: Logger.Level?

    @Option(name: .long, help: "Write Prometheus metrics to this file (node_exporter textfile collector).")
    var metricsFile: String?
}

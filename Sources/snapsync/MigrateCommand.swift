import ArgumentParser
import Foundation
import Logging
import Postgres
import SyncStore

/// `snapsync migrate`: applies the pending migrations of `sql/` to the CRM database.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the pending database migrations (a no-op when the database is up to date).",
        discussion: """
            Each NNNN_name.sql file runs in its own transaction and is recorded with its SHA-256 in \
            sync.schema_migrations; an applied file that changed is refused before anything runs. Concurrent \
            runs wait for each other (advisory lock).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var migrations: MigrationOptions

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "migrate")
        try await environment.run {
            let runner = try migrations.runner(logger: environment.logger)
            let db = try await environment.database()
            let report = try await runner.migrate(on: db)
            await db.close()
            print(MigrationText.summary(report))
            return 0
        }
    }
}

/// Where the migration files are.
struct MigrationOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The directory of NNNN_name.sql migration files.",
            discussion:
                "Default: SNAPSYNC_SQL_DIR, <bin>/../share/snapsync/sql, the sql/ of the repository the binary was built in, ./sql."
        ))
    var sqlDir: String?

    func runner(logger: Logger) throws -> MigrationRunner {
        try MigrationRunner(directory: MigrationDirectory.locate(explicit: sqlDir), logger: logger)
    }
}

/// What the migration commands print on stdout.
enum MigrationText {
    static func summary(_ report: MigrationReport) -> String {
        if report.applied.isEmpty { return "database is up to date (\(report.alreadyApplied) migrations applied)" }
        return report.applied.map { "applied \($0.fileName)" }.joined(separator: "\n")
    }

    static func status(db: PostgresConnection, runner: MigrationRunner?) async throws -> String {
        let applied = try await MigrationRunner.applied(on: db)
        var lines = ["migrations:"]
        if applied.isEmpty { lines.append("  (none applied)") }
        for migration in applied {
            lines.append(
                "  \(migration.fileName)  applied \(migration.appliedAt.formatted(.iso8601))  "
                    + "sha256 \(migration.checksum.prefix(12))")
        }
        if let runner {
            for migration in try runner.pending(applied: applied) { lines.append("  \(migration.fileName)  pending") }
        }
        let counts = try await CRMStatus.rowCounts(on: db)
        lines.append("crm tables:")
        if counts.isEmpty { lines.append("  (no crm schema: run snapsync migrate)") }
        let width = counts.map(\.table.count).max() ?? 0
        for count in counts {
            lines.append("  \(count.table.padding(toLength: width, withPad: " ", startingAt: 0))  \(count.rows) rows")
        }
        return lines.joined(separator: "\n")
    }
}

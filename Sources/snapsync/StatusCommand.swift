import ArgumentParser
import Foundation
import Postgres
import SyncStore

/// `snapsync status`: the applied (and pending) migrations and the row counts of the crm tables.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the applied and pending migrations and the row counts of the crm tables.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var migrations: MigrationOptions

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "status")
        try await environment.run {
            // Pending migrations are listed when the files are found; status works without them.
            let runner = try? migrations.runner(logger: environment.logger)
            let db = try await environment.database()
            let text = try await MigrationText.status(db: db, runner: runner)
            await db.close()
            print(text)
            return 0
        }
    }
}

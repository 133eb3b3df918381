import ArgumentParser
import Foundation
import Postgres
import SyncStore

/// `snapsync demo`: the main job on embedded defaults. For now: a throwaway local PostgreSQL cluster (initdb in
/// a temporary directory), migrated, and its status; the cluster is stopped and removed at the end, whatever
/// happens (its watchdog removes it even when the process is killed).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a throwaway local PostgreSQL, migrate it, print its status, and remove it.",
        discussion: "Needs the PostgreSQL server binaries (initdb, pg_ctl); as root they run as the postgres user.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var migrations: MigrationOptions

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "demo")
        try await environment.run {
            let runner = try migrations.runner(logger: environment.logger)
            let cluster = try await PostgresLocalCluster.start()
            environment.logger.info("throwaway PostgreSQL started", metadata: [
                "postgres.directory": "\(cluster.directory)", "postgres.port": "\(cluster.port)",
            ])
            do {
                let db = try await PostgresConnection.connect(cluster.conninfo, logger: environment.logger)
                let report = try await runner.migrate(on: db)
                print(MigrationText.summary(report))
                print(try await MigrationText.status(db: db, runner: runner))
                await db.close()
            } catch {
                try? await cluster.stop()
                throw error
            }
            try await cluster.stop()
            environment.logger.info("throwaway PostgreSQL stopped and removed")
            return 0
        }
    }
}

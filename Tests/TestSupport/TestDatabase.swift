import Foundation
import Logging
import Postgres
import SyncStore

/// A fresh PostgreSQL database per test, so tests run in parallel against a real server.
///
/// The server is `SNAPSYNC_TEST_DATABASE_URL` when set (a superuser, or a role allowed to create databases),
/// otherwise one ``PostgresLocalCluster`` per test process, started on first use and shared by every test (its
/// watchdog stops it and removes its directory when the process exits). Each test gets its own database, created
/// from a template that has every migration of `sql/` applied (built once per process; per migration set on a
/// given server) or from `template0` when the test wants an empty database, and dropped afterwards.
///
/// When the server cannot be reached or the cluster cannot start, the test fails: it is never skipped.
public enum TestDatabase {
    /// Runs `body` with the conninfo of a fresh database (migrated, or empty when `migrated` is false), then
    /// drops the database.
    public static func with<T>(
        migrated: Bool = true, _ body: (_ conninfo: String) async throws -> T
    ) async throws -> T {
        let server = try await TestServer.shared.server()
        let template = migrated ? try await TestServer.shared.migratedTemplate() : "template0"
        let name = "snapsync_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await server.admin { connection in
            try connection.execute(
                "create database \(PostgresIdentifier(name)) template \(PostgresIdentifier(template))")
        }
        do {
            let result = try await body(server.conninfo(database: name))
            try await server.drop(name)
            return result
        } catch {
            try? await server.drop(name)
            throw error
        }
    }

    /// Runs `body` with a connection to a fresh database (see ``with(migrated:_:)``); closes it afterwards.
    public static func withConnection<T>(
        migrated: Bool = true, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await with(migrated: migrated) { conninfo in
            let connection = try await PostgresConnection.connect(conninfo, logger: quietLogger)
            do {
                let result = try await body(connection)
                await connection.close()
                return result
            } catch {
                await connection.close()
                throw error
            }
        }
    }

    /// The conninfo of the server's maintenance database (`postgres`), for tests that create their own objects
    /// across databases.
    public static func serverConninfo() async throws -> String {
        try await TestServer.shared.server().conninfo(database: "postgres")
    }

    /// The repository's `sql/` directory (found from this file's location).
    public static let sqlDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sql", isDirectory: true)

    /// A logger that drops everything (tests assert behaviour, not log lines).
    public static let quietLogger = Logger(label: "snapsync.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// `conninfo` (a `postgresql://` URL or key=value conninfo) with its database replaced by `database`.
    public static func conninfo(_ conninfo: String, database: String) -> String {
        if conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://"),
            var components = URLComponents(string: conninfo)
        {
            components.path = "/" + database
            return components.string ?? conninfo
        }
        // In a key=value conninfo the last occurrence of a keyword wins.
        return conninfo + " dbname='\(database)'"
    }
}

/// The server the tests use and the templates built on it, created once per process.
private actor TestServer {
    static let shared = TestServer()

    struct Server: Sendable {
        var baseConninfo: String
        var cluster: PostgresLocalCluster?

        func conninfo(database: String) -> String { TestDatabase.conninfo(baseConninfo, database: database) }

        @discardableResult
        func admin<T: Sendable>(_ body: @Sendable (isolated PostgresConnection) throws -> T) async throws -> T {
            let connection = try await PostgresConnection.connect(
                conninfo(database: "postgres"), logger: TestDatabase.quietLogger)
            do {
                let result = try await connection.run(body)
                await connection.close()
                return result
            } catch {
                await connection.close()
                throw error
            }
        }

        func drop(_ name: String) async throws {
            try await admin { connection in
                try connection.execute("drop database if exists \(PostgresIdentifier(name)) with (force)")
            }
        }
    }

    private var server: Task<Server, any Error>?
    private var template: Task<String, any Error>?

    func server() async throws -> Server {
        if server == nil {
            server = Task {
                if let url = ProcessInfo.processInfo.environment["SNAPSYNC_TEST_DATABASE_URL"], !url.isEmpty {
                    return Server(baseConninfo: url, cluster: nil)
                }
                let cluster = try await PostgresLocalCluster.start()
                return Server(baseConninfo: cluster.conninfo, cluster: cluster)
            }
        }
        return try await server!.value
    }

    /// The name of a database with every migration applied, built once (a server that already has the template
    /// of this exact migration set keeps it: per-test databases are copied from it).
    func migratedTemplate() async throws -> String {
        if template == nil {
            template = Task { try await Self.buildTemplate(on: try await self.server()) }
        }
        return try await template!.value
    }

    private static func buildTemplate(on server: Server) async throws -> String {
        let migrations = try Migration.load(from: TestDatabase.sqlDirectory)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the checksums: one template per migration set
        for byte in migrations.map(\.checksum).joined().utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let name = "snapsync_template_\(String(hash, radix: 16))"
        let exists = try await server.admin { connection in
            try connection.query("select 1 from pg_database where datname = $1", [name]).count > 0
        }
        if exists { return name }

        let building = name + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try await server.admin { connection in
            try connection.execute("create database \(PostgresIdentifier(building)) template template0")
        }
        do {
            let connection = try await PostgresConnection.connect(
                server.conninfo(database: building), logger: TestDatabase.quietLogger)
            do {
                _ = try await MigrationRunner(migrations: migrations, logger: TestDatabase.quietLogger)
                    .migrate(on: connection)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            // Another process may have built the same template meanwhile: then use theirs.
            try await server.admin { connection in
                let taken = try connection.query("select 1 from pg_database where datname = $1", [name]).count > 0
                if !taken {
                    try connection.execute(
                        "alter database \(PostgresIdentifier(building)) rename to \(PostgresIdentifier(name))")
                }
            }
            try? await server.drop(building)
            return name
        } catch {
            try? await server.drop(building)
            throw error
        }
    }
}

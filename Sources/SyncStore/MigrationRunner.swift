import Foundation
import Logging
import Postgres

/// A migration recorded in `sync.schema_migrations`.
public struct AppliedMigration: Sendable, Hashable {
    /// The file's number.
    public var version: Int
    /// The file's name after the number.
    public var name: String
    /// SHA-256 (hex) of the file's bytes when it was applied.
    public var checksum: String
    /// When it was applied.
    public var appliedAt: Date

    /// Creates a record.
    public init(version: Int, name: String, checksum: String, appliedAt: Date) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.appliedAt = appliedAt
    }

    /// `NNNN_name.sql`.
    public var fileName: String { "\(Migration.number(version))_\(name).sql" }
}

/// What ``MigrationRunner/migrate(on:)`` did.
public struct MigrationReport: Sendable {
    /// The migrations applied by this run, in order (empty when the database was up to date).
    public var applied: [Migration]
    /// How many migrations had been applied before.
    public var alreadyApplied: Int
}

/// Applies the numbered, forward-only migrations of `sql/` to a database.
///
/// - Every file runs in its own transaction together with its row in `sync.schema_migrations` (version, name,
///   SHA-256 of the file, time): a failing file leaves nothing of itself behind.
/// - The whole run holds a session advisory lock (``lockKey``), so concurrent migrators wait for each other and
///   the second finds nothing left to do.
/// - Before anything is applied, every applied migration is checked against its file: a file changed after it
///   was applied, or a migration applied that no file knows, is refused with an error naming the file, and
///   nothing is applied.
/// - The runner creates `sync.schema_migrations` itself (`create schema if not exists sync`), so later migrations
///   that add to the `sync` schema must use `create schema if not exists sync` too.
public struct MigrationRunner: Sendable {
    /// The session advisory lock key held while migrating ("snapmigr" in ASCII).
    public static let lockKey: Int64 = 0x736E_6170_6D69_6772

    /// The migrations, checked and ordered.
    public let migrations: [Migration]
    private let logger: Logger

    /// A runner of `migrations` (checked: numbered 1, 2, ... without gaps or duplicates).
    public init(migrations: [Migration], logger: Logger) throws(SyncStoreError) {
        self.migrations = try Migration.ordered(migrations)
        self.logger = logger
    }

    /// A runner of the `*.sql` files of `directory`.
    public init(directory: URL, logger: Logger) throws(SyncStoreError) {
        try self.init(migrations: Migration.load(from: directory), logger: logger)
    }

    /// Applies the pending migrations; a no-op when the database is up to date.
    public func migrate(on connection: PostgresConnection) async throws(SyncStoreError) -> MigrationReport {
        let migrations = self.migrations
        let logger = self.logger
        do {
            return try await connection.withAdvisoryLock(Self.lockKey) { connection in
                try connection.executeScript(
                    """
                    create schema if not exists sync;
                    create table if not exists sync.schema_migrations (
                        version    integer primary key,
                        name       text not null,
                        checksum   text not null,
                        applied_at timestamptz not null default now()
                    );
                    """)
                let applied = try Self.readApplied(connection)
                let pending = try Self.pending(migrations, applied: applied)
                for migration in pending {
                    logger.info(
                        "applying migration",
                        metadata: [
                            "migration.file": "\(migration.fileName)", "migration.checksum": "\(migration.checksum)",
                        ])
                    do {
                        try connection.withTransaction { connection in
                            try connection.executeScript(migration.sql)
                            try connection.execute(
                                "insert into sync.schema_migrations (version, name, checksum) values ($1, $2, $3)",
                                [migration.version, migration.name, migration.checksum])
                        }
                    } catch {
                        throw SyncStoreError.wrapping(
                            error, "\(migration.fileName) failed; nothing of it was applied", file: migration.fileName)
                    }
                }
                if pending.isEmpty {
                    logger.info("database is up to date", metadata: ["migration.count": "\(applied.count)"])
                }
                return MigrationReport(applied: pending, alreadyApplied: applied.count)
            }
        } catch {
            throw SyncStoreError.wrapping(error, "migrating the database")
        }
    }

    /// The migrations recorded in the database (empty when it was never migrated), in order.
    public static func applied(on connection: PostgresConnection) async throws(SyncStoreError) -> [AppliedMigration] {
        do {
            return try await connection.run { connection in try readApplied(connection) }
        } catch {
            throw SyncStoreError.wrapping(error, "reading sync.schema_migrations")
        }
    }

    /// The migrations of this runner not yet applied, after checking every applied one against its file.
    public func pending(applied: [AppliedMigration]) throws(SyncStoreError) -> [Migration] {
        try Self.pending(migrations, applied: applied)
    }

    static func pending(
        _ migrations: [Migration], applied: [AppliedMigration]
    ) throws(SyncStoreError)
        -> [Migration]
    {
        let byVersion = Dictionary(migrations.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        for record in applied {
            guard let migration = byVersion[record.version] else {
                throw SyncStoreError(
                    code: .unknownMigration,
                    message: "the database has \(record.fileName) applied, which is not among the migration files "
                        + "(a newer snapsync migrated this database?)",
                    file: record.fileName)
            }
            guard migration.checksum == record.checksum, migration.name == record.name else {
                throw SyncStoreError(
                    code: .migrationChanged,
                    message: "\(migration.fileName) changed after it was applied"
                        + (record.name == migration.name ? " " : " as \(record.fileName) ")
                        + "(recorded sha256 \(record.checksum.prefix(12))…, file sha256 \(migration.checksum.prefix(12))…); "
                        + "migrations are forward-only: restore the file and add a new numbered one",
                    file: migration.fileName)
            }
        }
        let done = Set(applied.map(\.version))
        return migrations.filter { !done.contains($0.version) }
    }

    private static func readApplied(_ connection: isolated PostgresConnection) throws -> [AppliedMigration] {
        let exists = try connection.query("select to_regclass('sync.schema_migrations') is not null")
        guard try exists.first?.decode(Bool.self, at: 0) == true else { return [] }
        return try connection.query(
            "select version, name, checksum, applied_at from sync.schema_migrations order by version"
        ).map { row in
            AppliedMigration(
                version: try row.decode(Int.self, at: 0), name: try row.decode(String.self, at: 1),
                checksum: try row.decode(String.self, at: 2), appliedAt: try row.decode(Date.self, at: 3))
        }
    }
}

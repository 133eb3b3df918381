import Foundation
import Logging
import Postgres
import SyncCore

/// The sync store in PostgreSQL: opens a connection per scope and closes it on every path.
///
/// ```swift
/// let database = SyncDatabase(conninfo: url, logger: logger)
/// let owners = try await database.withConnection { store in try await store.mailboxOwners(nil) }
/// ```
public struct SyncDatabase: SyncStoreDatabase {
    public let conninfo: String
    public let logger: Logger

    public init(conninfo: String, logger: Logger) {
        self.conninfo = conninfo
        self.logger = logger
    }

    public func withConnection<T: Sendable>(_ body: (any SyncStoreConnection) async throws -> T) async throws -> T {
        try await withPostgres { connection in try await body(SyncConnection(connection, logger: logger)) }
    }

    public func withConnectionIfReachable<T: Sendable>(
        _ body: (any SyncStoreConnection) async throws -> T
    ) async throws -> Reachability<T> {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(conninfo, logger: logger)
        } catch {
            // A wrong connection string is a configuration error, not an outage.
            guard error.code == .connectionFailed, !error.isConnectionSettingProblem else { throw error }
            return .unreachable("\(error)")
        }
        return .answered(try await Self.closing(connection) { try await body(SyncConnection($0, logger: logger)) })
    }

    /// Runs `body` with a PostgreSQL connection of its own, closed when `body` returns or throws.
    public func withPostgres<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.closing(try await PostgresConnection.connect(conninfo, logger: logger), body)
    }

    private static func closing<T: Sendable>(
        _ connection: PostgresConnection, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let value: T
        do {
            value = try await body(connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        return value
    }
}

/// ``SyncStoreConnection`` over one PostgreSQL connection (which whoever opened it closes).
public struct SyncConnection: SyncStoreConnection {
    public let connection: PostgresConnection
    let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func withTransaction<T: Sendable>(
        _ body: @Sendable (isolated PostgresConnection) throws -> T
    ) async throws -> T {
        try await connection.withTransaction(body)
    }
}

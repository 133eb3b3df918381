import CLibPQ
import Logging

extension PostgresConnection {
    /// Runs `body` on the connection; calls inside are synchronous.
    public func run<T: Sendable>(_ body: @Sendable (isolated PostgresConnection) throws -> T) rethrows -> T {
        try body(self)
    }

    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` when it returns, `ROLLBACK` when it throws
    /// (the error is rethrown). Nested calls use savepoints, so an inner failure undoes only the inner work.
    public func withTransaction<T: Sendable>(_ body: @Sendable (isolated PostgresConnection) throws -> T) throws -> T {
        let pointer = try connection()
        let nested = PQtransactionStatus(pointer) != PQTRANS_IDLE
        let savepoint = "snapsync_sp\(savepointDepth + 1)"
        try executeScript(nested ? "SAVEPOINT \(savepoint)" : "BEGIN")
        if nested { savepointDepth += 1 }
        defer { if nested { savepointDepth -= 1 } }
        let value: T
        do {
            value = try body(self)
        } catch {
            rollback(nested ? "ROLLBACK TO SAVEPOINT \(savepoint)" : "ROLLBACK")
            throw error
        }
        do {
            try executeScript(nested ? "RELEASE SAVEPOINT \(savepoint)" : "COMMIT")
        } catch {
            rollback(nested ? "ROLLBACK TO SAVEPOINT \(savepoint)" : "ROLLBACK")
            throw error
        }
        return value
    }

    private func rollback(_ statement: String) {
        do {
            try executeScript(statement)
        } catch {
            logger.info("postgres rollback failed", metadata: ["db.error": "\(error)"])
        }
    }

    // MARK: Advisory locks

    /// Takes the session advisory lock `key` if it is free; true when taken.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_try_advisory_lock($1)", [key])[0].decode(Bool.self, at: 0)
    }

    /// Releases a session advisory lock this connection holds.
    public func advisoryUnlock(_ key: Int64) throws(PostgresError) {
        _ = try query("SELECT pg_advisory_unlock($1)", [key])
    }

    /// Waits for the session advisory lock `key`, runs `body`, and releases the lock on every path.
    public func withAdvisoryLock<T: Sendable>(
        _ key: Int64, _ body: @Sendable (isolated PostgresConnection) throws -> T
    ) throws -> T {
        _ = try query("SELECT pg_advisory_lock($1)", [key])
        defer {
            do { try advisoryUnlock(key) } catch {
                logger.info("postgres advisory unlock failed", metadata: ["db.error": "\(error)"])
            }
        }
        return try body(self)
    }
}

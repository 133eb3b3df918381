import Foundation
import Logging
import Postgres
import SyncCore

/// Counts the rows the pipeline changes per table and runs `ANALYZE` when ``AnalyzePolicy`` says so.
public enum TableActivityStore {
    /// Adds `rows` changed rows to a table's count. Call in the transaction that changed them.
    public static func record(_ rows: Int, in table: String, db: isolated PostgresConnection) throws(PostgresError) {
        guard rows > 0 else { return }
        try db.execute(try db.prepare("""
            INSERT INTO sync.table_activity (table_name, changed_since) VALUES ($1, $2)
            ON CONFLICT (table_name) DO UPDATE SET changed_since = sync.table_activity.changed_since + EXCLUDED.changed_since
            """), [table, rows])
    }

    /// The counts with the row estimate each table's last ANALYZE left.
    public static func activities(db: isolated PostgresConnection) throws(PostgresError) -> [TableActivity] {
        try db.query("""
            SELECT a.table_name, coalesce(c.reltuples::float8, -1), a.changed_since
            FROM sync.table_activity a
            LEFT JOIN pg_class c ON c.oid = to_regclass(a.table_name)
            ORDER BY a.table_name
            """).map { (row) throws(PostgresError) in
            TableActivity(table: try row.decode(at: 0), rowsAtAnalyze: try row.decode(at: 1), changedSince: try row.decode(at: 2))
        }
    }

    /// Runs ANALYZE on every table the policy picks (skipping one another process is analyzing), resets
    /// its count, and records the ANALYZE in the run log. Returns the tables analyzed.
    @discardableResult
    public static func analyzeIfNeeded(policy: AnalyzePolicy, runID: Int64?, mailbox: String?, after stage: SnapshotStage?,
                                       logger: Logger, db: isolated PostgresConnection) throws -> [String] {
        var analyzed: [String] = []
        for activity in try activities(db: db) where policy.shouldAnalyze(activity) {
            let parts = activity.table.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let lockKey = "snapsync.analyze:\(activity.table)"
            guard try db.query("SELECT pg_try_advisory_lock(hashtext($1))", [lockKey])[0].decode(Bool.self, at: 0) else { continue }
            defer { _ = try? db.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]) }
            let started = ContinuousClock.now
            try db.executeScript("ANALYZE \(PostgresIdentifier(schema: parts[0], parts[1]))")
            let elapsed = ContinuousClock.now - started
            let rows = try db.query("""
                UPDATE sync.table_activity SET rows_at_analyze = greatest((SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)), 0),
                    changed_since = greatest(changed_since - $2, 0), analyzed_at = now()
                WHERE table_name = $1 RETURNING rows_at_analyze
                """, [activity.table, activity.changedSince])[0].decode(Double.self, at: 0)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            try RunStore.recordEvent(runID: runID, mailbox: mailbox, kind: nil, stage: stage, event: "analyze",
                                     message: "ANALYZE \(activity.table): \(activity.changedSince) rows changed since the last one (estimate was \(Int(activity.rowsAtAnalyze)), now \(Int(rows)))",
                                     data: ["table": activity.table, "changed": activity.changedSince, "rows": rows, "seconds": seconds], db: db)
            logger.info("analyzed table", metadata: ["db.table": "\(activity.table)", "db.changed": "\(activity.changedSince)",
                                                     "db.rows": "\(Int(rows))"])
            analyzed.append(activity.table)
        }
        return analyzed
    }
}

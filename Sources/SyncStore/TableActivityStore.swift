import Foundation
import Logging
import Postgres
import SyncCore

/// Counts the rows the pipeline changes per table and runs `ANALYZE` when ``AnalyzePolicy`` says so.
public enum TableActivityStore {
    /// The columns snapsync's queries filter, join or group on, per table it analyzes. ANALYZE of only these
    /// columns gives the planner what snapsync's plans need (row counts included) at a fraction of the cost of
    /// computing statistics for every text column; autovacuum's own ANALYZE keeps the rest for the CRM's queries.
    /// A table not listed is analyzed whole.
    static let plannerColumns: [String: [String]] = [
        "crm.appointments": ["id", "owner_id", "ical_uid", "starts_at", "ends_at", "updated_at"],
        "crm.tasks": ["id", "owner_id", "starts_on", "due_on", "updated_at"],
        "crm.appointment_exceptions": ["appointment_id"],
        "crm.appointment_attendees": ["appointment_id", "contact_id"],
        "sync.links": ["mailbox", "kind", "crm_id", "item_id"],
        "sync.stage_appointments": ["run_id", "mailbox", "item_id", "crm_id", "stamped_id", "ical_uid", "matched"],
        "sync.stage_tasks": ["run_id", "mailbox", "item_id", "crm_id", "stamped_id", "matched"],
        "sync.stage_appointment_exceptions": ["run_id", "mailbox", "item_id"],
        "sync.stage_appointment_attendees": ["run_id", "mailbox", "item_id"],
    ]

    /// The ANALYZE statement for `table` (`schema.name`): only its ``plannerColumns`` when listed.
    static func analyzeStatement(_ table: String, vacuum: Bool = false) -> String? {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let name = PostgresIdentifier(schema: parts[0], parts[1])
        let command = vacuum ? "VACUUM (ANALYZE, TRUNCATE false)" : "ANALYZE"
        guard let columns = plannerColumns[table] else { return "\(command) \(name)" }
        return "\(command) \(name) (\(columns.map(PostgresIdentifier.quote).joined(separator: ", ")))"
    }

    /// Vacuums and analyzes `table` now, outside the policy (staging tables, see
    /// ``InboundStore/refreshStagingStatistics(_:runID:mailbox:logger:db:)``), and journals it as an ANALYZE. The table
    /// keeps its length (`TRUNCATE false`): shortening it takes a lock that would stall every worker using it. A second
    /// worker on the same table waits for the first.
    public static func vacuumAnalyze(
        _ table: String, runID: Int64?, mailbox: String?, stage: SnapshotStage?, logger: Logger,
        db: isolated PostgresConnection
    ) throws {
        guard let statement = analyzeStatement(table, vacuum: true) else { return }
        let started = ContinuousClock.now
        try db.executeScript(statement)
        let elapsed = ContinuousClock.now - started
        let rows = try db.query(
            "SELECT greatest(coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)), 0), 0)::float8",
            [table])[0].decode(Double.self, at: 0)
        try journal(
            table, message: "VACUUM and ANALYZE \(table)", changed: nil, rows: rows, elapsed: elapsed, runID: runID,
            mailbox: mailbox, stage: stage, logger: logger, db: db)
    }

    /// Records an ANALYZE that took `elapsed` and left `rows` as the table's estimate in the run log and the log.
    static func journal(
        _ table: String, message: String, changed: Int64?, rows: Double, elapsed: Duration,
        statisticsTarget: Int? = nil, runID: Int64?, mailbox: String?, stage: SnapshotStage?, logger: Logger,
        db: isolated PostgresConnection
    ) throws {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var data: [String: any Sendable] = ["table": table, "rows": rows, "seconds": seconds]
        if let changed { data["changed"] = changed }
        if let statisticsTarget { data["statistics_target"] = statisticsTarget }
        try RunStore.recordEvent(
            runID: runID, mailbox: mailbox, kind: nil, stage: stage, event: "analyze",
            message: "\(message) (now \(Int(rows)) rows)", data: data, db: db)
        var metadata: Logger.Metadata = ["db.table": "\(table)", "db.rows": "\(Int(rows))"]
        if let changed { metadata["db.changed"] = "\(changed)" }
        if let statisticsTarget { metadata["db.statistics_target"] = "\(statisticsTarget)" }
        logger.info(changed == nil ? "vacuumed and analyzed table" : "analyzed table", metadata: metadata)
    }

    /// Adds the rows of ``StageCounts/changedRows`` to their tables' counts, in a deterministic order (concurrent
    /// writers then never wait on each other's rows in opposite orders).
    public static func record(_ changedRows: [String: Int], db: isolated PostgresConnection) throws(PostgresError) {
        for (table, rows) in changedRows.sorted(by: { $0.key < $1.key }) { try record(rows, in: table, db: db) }
    }

    /// Adds `rows` changed rows to a table's count. Call in the transaction that changed them.
    public static func record(_ rows: Int, in table: String, db: isolated PostgresConnection) throws(PostgresError) {
        guard rows > 0 else { return }
        try db.execute(
            try db.prepare(
                """
                INSERT INTO sync.table_activity (table_name, changed_since) VALUES ($1, $2)
                ON CONFLICT (table_name) DO UPDATE SET changed_since = sync.table_activity.changed_since + EXCLUDED.changed_since
                """), [table, rows])
    }

    /// The counts with the row estimate each table's last ANALYZE left.
    public static func activities(db: isolated PostgresConnection) throws(PostgresError) -> [TableActivity] {
        try db.query(
            """
            SELECT a.table_name, coalesce(c.reltuples::float8, -1), a.changed_since
            FROM sync.table_activity a
            LEFT JOIN pg_class c ON c.oid = to_regclass(a.table_name)
            ORDER BY a.table_name
            """
        ).map { (row) throws(PostgresError) in
            TableActivity(
                table: try row.decode(at: 0), rowsAtAnalyze: try row.decode(at: 1), changedSince: try row.decode(at: 2))
        }
    }

    /// Runs ANALYZE on every table the policy picks (skipping one another process is analyzing), resets
    /// its count, and records the ANALYZE in the run log. The ANALYZEs sample as ``AnalyzePolicy/interimStatisticsTarget``
    /// says; ``completeInterimStatistics(runID:logger:db:)`` analyzes those tables again when the run ends. Returns the
    /// tables analyzed.
    @discardableResult
    public static func analyzeIfNeeded(
        policy: AnalyzePolicy, runID: Int64?, mailbox: String?, after stage: SnapshotStage?,
        logger: Logger, db: isolated PostgresConnection
    ) throws -> [String] {
        var analyzed: [String] = []
        for activity in try activities(db: db) where policy.shouldAnalyze(activity) {
            let message =
                "ANALYZE \(activity.table): \(activity.changedSince) rows changed since the last one (estimate was \(Int(activity.rowsAtAnalyze)))"
            if try analyze(
                activity.table, changed: activity.changedSince, statisticsTarget: policy.interimStatisticsTarget,
                message: message, runID: runID, mailbox: mailbox, stage: stage, logger: logger, db: db)
            {
                analyzed.append(activity.table)
            }
        }
        return analyzed
    }

    /// Analyzes again, at the server's statistics target, every table whose last ANALYZE was an interim one (a
    /// snapshot's, see ``AnalyzePolicy/interimStatisticsTarget``): run when a snapshot run ends, so the CRM's own
    /// queries are planned from full statistics. A table another process is analyzing keeps its mark for the next
    /// run. Returns the tables analyzed.
    @discardableResult
    public static func completeInterimStatistics(
        runID: Int64?, logger: Logger, db: isolated PostgresConnection
    ) throws -> [String] {
        let coarse = try db.query(
            "SELECT table_name, changed_since FROM sync.table_activity WHERE coarse ORDER BY table_name"
        )
        .map { (row) throws(PostgresError) in
            (table: try row.decode(String.self, at: 0), changed: try row.decode(Int64.self, at: 1))
        }
        var analyzed: [String] = []
        for (table, changed) in coarse {
            let message =
                "ANALYZE \(table) at the server's statistics target (the run's ANALYZEs of it were interim ones)"
            if try analyze(
                table, changed: changed, statisticsTarget: nil, message: message, runID: runID, mailbox: nil,
                stage: nil, logger: logger, db: db)
            {
                analyzed.append(table)
            }
        }
        return analyzed
    }

    /// Analyzes `table` unless another process is analyzing it (then returns false): at `statisticsTarget` when given
    /// (and marks the table `coarse`), else at the server's. Takes `changed` rows off its count and journals the ANALYZE.
    static func analyze(
        _ table: String, changed: Int64, statisticsTarget: Int?, message: String, runID: Int64?,
        mailbox: String?, stage: SnapshotStage?, logger: Logger, db: isolated PostgresConnection
    ) throws -> Bool {
        guard let statement = analyzeStatement(table) else { return false }
        let lockKey = "snapsync.analyze:\(table)"
        guard try db.query("SELECT pg_try_advisory_lock(hashtext($1))", [lockKey])[0].decode(Bool.self, at: 0) else {
            return false
        }
        defer { _ = try? db.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]) }
        let started = ContinuousClock.now
        if let statisticsTarget {
            try db.withTransaction { db in
                _ = try db.query("SELECT set_config('default_statistics_target', $1, true)", [String(statisticsTarget)])
                try db.executeScript(statement)
            }
        } else {
            try db.executeScript(statement)
        }
        let elapsed = ContinuousClock.now - started
        let rows = try db.query(
            """
            UPDATE sync.table_activity SET rows_at_analyze = greatest((SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)), 0),
                changed_since = greatest(changed_since - $2, 0), analyzed_at = now(), coarse = $3
            WHERE table_name = $1 RETURNING rows_at_analyze
            """, [table, changed, statisticsTarget != nil])[0].decode(Double.self, at: 0)
        try journal(
            table, message: message, changed: changed, rows: rows, elapsed: elapsed, statisticsTarget: statisticsTarget,
            runID: runID, mailbox: mailbox, stage: stage, logger: logger, db: db)
        return true
    }
}

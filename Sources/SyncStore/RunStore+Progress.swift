import Postgres
import SyncCore

extension RunStore {
    /// Where a run stands, for a live display: its mailboxes by status, per kind the items its reading stages read
    /// so far and the totals they expect, the items quarantined so far, and the stage each running mailbox is in.
    public struct Progress: Sendable, Hashable {
        /// Per kind: the items read so far by the stages that read the source (``SnapshotStage/readsSourceItems``).
        public struct KindProgress: Sendable, Hashable {
            public var kind: ItemKind
            public var read: Int64
            /// The sum of the totals the folders announced (EWS' item count of a folder), for `foldersWithTotal` of
            /// `folders` folders.
            public var announced: Int64
            public var foldersWithTotal: Int
            public var folders: Int
            public var quarantined: Int64
        }

        /// A stage running now.
        public struct Running: Sendable, Hashable {
            public var mailbox: String
            public var kind: ItemKind
            public var stage: SnapshotStage
        }

        public var mailboxes: Int
        public var done: Int
        public var failed: Int
        public var running: Int
        public var kinds: [KindProgress]
        public var stages: [Running]
    }

    /// The run's progress (three small aggregate queries over its mailboxes and stages).
    public static func progress(runID: Int64, db: isolated PostgresConnection) throws(PostgresError) -> Progress {
        var byStatus: [String: Int] = [:]
        for row in try db.query(
            "SELECT status, count(*)::int8 FROM sync.run_mailboxes WHERE run_id = $1 GROUP BY status", [runID])
        {
            byStatus[try row.decode(String.self, at: 0)] = Int(try row.decode(Int64.self, at: 1))
        }
        let reading = SnapshotStage.allCases.filter(\.readsSourceItems).map(\.rawValue)
        let kinds = try db.query(
            """
            SELECT kind, coalesce(sum(items) FILTER (WHERE stage = ANY($2::text[])), 0)::int8,
                   coalesce(sum(total) FILTER (WHERE stage = ANY($2::text[])), 0)::int8,
                   count(total) FILTER (WHERE stage = ANY($2::text[]))::int8, count(*) FILTER (WHERE stage = ANY($2::text[]))::int8,
                   coalesce(sum(failed), 0)::int8
            FROM sync.run_stages WHERE run_id = $1 GROUP BY kind ORDER BY kind
            """, [runID, reading]
        ).map { (row) throws(PostgresError) in
            Progress.KindProgress(
                kind: ItemKind(rawValue: try row.decode(at: 0)) ?? .tasks, read: try row.decode(at: 1),
                announced: try row.decode(at: 2), foldersWithTotal: Int(try row.decode(Int64.self, at: 3)),
                folders: Int(try row.decode(Int64.self, at: 4)), quarantined: try row.decode(at: 5))
        }
        let running = try db.query(
            """
            SELECT mailbox, kind, stage FROM sync.run_stages WHERE run_id = $1 AND status = 'running' ORDER BY mailbox, position
            """, [runID]
        ).map { (row) throws(PostgresError) in
            Progress.Running(
                mailbox: try row.decode(at: 0), kind: ItemKind(rawValue: try row.decode(at: 1)) ?? .tasks,
                stage: SnapshotStage(rawValue: try row.decode(at: 2)) ?? .extract)
        }
        return Progress(
            mailboxes: byStatus.values.reduce(0, +), done: byStatus["done"] ?? 0, failed: byStatus["failed"] ?? 0,
            running: byStatus["running"] ?? 0, kinds: kinds, stages: running)
    }
}

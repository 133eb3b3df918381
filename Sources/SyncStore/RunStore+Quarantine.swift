import Postgres
import SyncCore

extension RunStore {
    /// The items a run quarantined that share a reason code: how many, and the first of them as an example.
    public struct QuarantineGroup: Sendable, Hashable {
        public var code: String
        public var count: Int64
        public var mailbox: String
        public var kind: ItemKind
        public var itemID: String?
        public var reason: String
    }

    /// The run's quarantined items grouped by reason code, the largest group first.
    public static func quarantineGroups(
        runID: Int64, db: isolated PostgresConnection
    ) throws(PostgresError) -> [QuarantineGroup] {
        try db.query(
            """
            SELECT q.code, g.count, q.mailbox, q.kind, q.item_id, q.reason
            FROM (SELECT code, count(*) AS count, min(id) AS first FROM sync.quarantine WHERE run_id = $1 GROUP BY code) g
            JOIN sync.quarantine q ON q.id = g.first
            ORDER BY g.count DESC, q.code
            """, [runID]
        ).map { (row) throws(PostgresError) in
            QuarantineGroup(
                code: try row.decode(at: 0), count: try row.decode(at: 1), mailbox: try row.decode(at: 2),
                kind: ItemKind(rawValue: try row.decode(at: 3)) ?? .tasks, itemID: try row.decode(at: 4),
                reason: try row.decode(at: 5))
        }
    }
}

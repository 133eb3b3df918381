import Foundation
import Postgres
import SyncCore

/// The sync switch, its journal, the outbox and conflicts (`sql/0003_live_sync.sql`).
public enum LiveSyncStore {
    // MARK: Switch

    /// Switches sync on or off, globally (`mailbox` nil) or for one mailbox, and journals the transition.
    public static func setEnabled(
        _ enabled: Bool, mailbox: String?, actor: String, note: String?,
        db: isolated PostgresConnection
    ) throws {
        try db.withTransaction { db in
            if let mailbox {
                try db.execute(
                    """
                    INSERT INTO sync.mailbox_settings (mailbox, enabled, changed_at) VALUES (lower($1), $2, now())
                    ON CONFLICT (mailbox) DO UPDATE SET enabled = EXCLUDED.enabled, changed_at = now()
                    """, [mailbox, enabled])
            } else {
                try db.execute("UPDATE sync.settings SET enabled = $1, changed_at = now()", [enabled])
            }
            try db.execute(
                "INSERT INTO sync.journal (actor, mailbox, enabled, note) VALUES ($1, lower($2), $3, $4)",
                [actor, mailbox, enabled, note])
        }
    }

    /// Whether sync is on globally.
    public static func isEnabled(db: isolated PostgresConnection) throws(PostgresError) -> Bool {
        try db.query("SELECT enabled FROM sync.settings")[0].decode(Bool.self, at: 0)
    }

    /// The mailboxes whose sync is switched off on their own.
    public static func disabledMailboxes(db: isolated PostgresConnection) throws(PostgresError) -> Set<String> {
        Set(
            try db.query("SELECT mailbox FROM sync.mailbox_settings WHERE NOT enabled").map {
                (row) throws(PostgresError) in
                try row.decode(String.self, at: 0)
            })
    }

    /// One journaled transition: of a sync switch (`enabled`), or of a mailbox's protocol (`protocol`).
    public struct JournalEntry: Sendable, Hashable {
        public var at: Date
        public var actor: String
        public var mailbox: String?
        public var enabled: Bool?
        public var `protocol`: ExchangeProtocol?
        public var note: String?
    }

    /// The journal, newest first.
    public static func journal(limit: Int, db: isolated PostgresConnection) throws -> [JournalEntry] {
        try db.query(
            "SELECT at, actor, mailbox, enabled, protocol, note FROM sync.journal ORDER BY id DESC LIMIT $1", [limit]
        )
        .map { (row) throws in
            JournalEntry(
                at: try row.decode(at: 0), actor: try row.decode(at: 1), mailbox: try row.decode(at: 2),
                enabled: try row.decode(at: 3),
                protocol: try row.decode(String?.self, at: 4).map { (text) throws(SyncStoreError) in
                    try ExchangeProtocol.decoded(text, column: "sync.journal.protocol")
                }, note: try row.decode(at: 5))
        }
    }

    // MARK: Outbox

    /// A claimed outbox entry.
    public struct Entry: Sendable, Hashable {
        public var id: Int64
        public var kind: ItemKind
        public var crmID: UUID
        public var seq: Int64
        public var attempts: Int

        public init(id: Int64, kind: ItemKind, crmID: UUID, seq: Int64, attempts: Int) {
            self.id = id
            self.kind = kind
            self.crmID = crmID
            self.seq = seq
            self.attempts = attempts
        }
    }

    /// Claims up to `limit` due entries (oldest first) for `lease`: concurrent senders skip them, and a
    /// crashed sender's entries become due again when the lease ends.
    public static func claimDue(
        limit: Int, lease: Duration, db: isolated PostgresConnection
    ) throws(PostgresError) -> [Entry] {
        try db.query(
            """
            UPDATE sync.outbox o SET next_attempt_at = now() + $2 * interval '1 second'
            FROM (SELECT id FROM sync.outbox WHERE NOT parked AND next_attempt_at <= now()
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) c
            WHERE o.id = c.id
            RETURNING o.id, o.kind, o.crm_id, o.seq, o.attempts
            """, [limit, Double(lease.components.seconds)]
        ).map { (row) throws(PostgresError) in
            Entry(
                id: try row.decode(at: 0), kind: ItemKind(rawValue: try row.decode(at: 1)) ?? .tasks,
                crmID: try row.decode(at: 2), seq: try row.decode(at: 3), attempts: try row.decode(at: 4))
        }.sorted { $0.id < $1.id }
    }

    /// Removes a delivered entry, unless the item changed again meanwhile (then it stays, due now).
    public static func complete(_ entry: Entry, db: isolated PostgresConnection) throws(PostgresError) {
        try db.execute("DELETE FROM sync.outbox WHERE id = $1 AND seq = $2", [entry.id, entry.seq])
    }

    /// Records a failed delivery: a transient failure (Exchange down, throttled) is retried with exponential
    /// backoff and jitter forever; a permanent one (item rejected) up to `limit` attempts, then parked.
    public static func fail(
        _ entry: Entry, transient: Bool, code: String, message: String, limit: Int, backoff: TimeInterval,
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            UPDATE sync.outbox SET attempts = attempts + 1, last_error = $3, last_error_kind = $4,
                next_attempt_at = now() + $5 * interval '1 second',
                parked = NOT $6 AND attempts + 1 >= $7
            WHERE id = $1 AND seq = $2
            """,
            [
                entry.id, entry.seq, "\(code): \(message)", transient ? "transient" : "permanent", backoff, transient,
                limit,
            ])
    }

    /// Outbox figures for status and doctor.
    public struct OutboxSummary: Sendable, Hashable {
        public var pending: Int
        public var retrying: Int
        public var parked: Int
        public var oldest: Date?
    }

    public static func outboxSummary(db: isolated PostgresConnection) throws(PostgresError) -> OutboxSummary {
        let row = try db.query(
            """
            SELECT count(*) FILTER (WHERE NOT parked), count(*) FILTER (WHERE NOT parked AND attempts > 0),
                   count(*) FILTER (WHERE parked), min(enqueued_at) FILTER (WHERE NOT parked)
            FROM sync.outbox
            """)[0]
        return OutboxSummary(
            pending: try row.decode(at: 0), retrying: try row.decode(at: 1), parked: try row.decode(at: 2),
            oldest: try row.decode(at: 3))
    }

    /// Parked entries with their reasons.
    public static func parked(
        limit: Int, db: isolated PostgresConnection
    ) throws(PostgresError) -> [(kind: String, crmID: UUID, error: String?)] {
        try db.query("SELECT kind, crm_id, last_error FROM sync.outbox WHERE parked ORDER BY id LIMIT $1", [limit])
            .map { (row) throws(PostgresError) in
                (
                    try row.decode(String.self, at: 0), try row.decode(UUID.self, at: 1),
                    try row.decode(String?.self, at: 2)
                )
            }
    }

    /// Records a conflict and its resolution.
    public static func recordConflict(
        mailbox: String, kind: ItemKind, crmID: UUID, itemID: String, policy: String, winner: String,
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            "INSERT INTO sync.conflicts (mailbox, kind, crm_id, item_id, policy, winner) VALUES ($1, $2, $3, $4, $5, $6)",
            [mailbox, kind.rawValue, crmID, itemID, policy, winner])
    }

    /// Marks this transaction's CRM writes as coming from Exchange, so the capture triggers do not queue
    /// them back to Exchange (call inside the transaction).
    public static func markOriginExchange(db: isolated PostgresConnection) throws(PostgresError) {
        _ = try db.query("SELECT set_config('snapsync.origin', 'exchange', true)")
    }

    /// Queues CRM items for delivery (e.g. a conflict the CRM won).
    public static func enqueue(kind: ItemKind, crmIDs: [UUID], db: isolated PostgresConnection) throws(PostgresError) {
        for id in crmIDs { _ = try db.query("SELECT sync.enqueue($1, $2)", [kind.rawValue, id]) }
    }
}

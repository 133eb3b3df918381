import Foundation
import Postgres
import SyncCore

/// The database facts `snapsync doctor` diagnoses from (``RecoveryFacts``): the switch and its journal, the
/// outbox, unfinished runs, and per mailbox its last snapshots, folder states, links and CRM changes.
public enum RecoveryStore {
    /// Every facts field PostgreSQL knows, for these mailbox owners; Exchange probes stay `.notProbed`.
    public static func facts(
        owners: [MailboxOwner], now: Date, db: isolated PostgresConnection
    ) throws(PostgresError) -> RecoveryFacts {
        let global = try LiveSyncStore.isEnabled(db: db)
        let journal = try db.query(
            "SELECT at, mailbox, enabled, actor, note FROM sync.journal WHERE enabled IS NOT NULL ORDER BY id"
        ).map {
            (row) throws(PostgresError) in
            SwitchTransition(
                at: try row.decode(at: 0), mailbox: try row.decode(at: 1), enabled: try row.decode(at: 2),
                actor: try row.decode(at: 3), note: try row.decode(at: 4))
        }
        var own: [String: Bool] = [:]
        for row in try db.query("SELECT mailbox, enabled FROM sync.mailbox_settings WHERE enabled IS NOT NULL") {
            own[try row.decode(String.self, at: 0).lowercased()] = try row.decode(Bool.self, at: 1)
        }
        let summary = try LiveSyncStore.outboxSummary(db: db)
        let reasons = try LiveSyncStore.parked(limit: 10, db: db).map {
            "\($0.kind) \($0.crmID.lowercasedString): \($0.error ?? "no reason")"
        }
        let outbox = OutboxFacts(
            pending: summary.pending, retrying: summary.retrying, parked: summary.parked, oldest: summary.oldest,
            parkedReasons: reasons)
        let runs = try db.query(
            """
            SELECT r.id, r.direction, r.created_at,
                   (SELECT count(*) FROM sync.run_mailboxes m WHERE m.run_id = r.id AND m.status = 'running' AND m.lease_until > now())
            FROM sync.runs r WHERE r.status = 'running' ORDER BY r.id
            """
        ).map { (row) throws(PostgresError) in
            UnfinishedRun(
                id: try row.decode(at: 0), direction: SnapshotDirection(rawValue: try row.decode(at: 1)) ?? .inbound,
                createdAt: try row.decode(at: 2), activeMailboxes: try row.decode(at: 3))
        }
        let folders = try FolderStateStore.needingSnapshot(db: db)
        var mailboxes: [MailboxFacts] = []
        for owner in owners {
            let address = owner.smtpAddress.lowercased()
            var facts = MailboxFacts(mailbox: address, ownSwitch: own[address])
            facts.lastInbound = try lastSnapshot(address, directions: [.inbound, .fullFromExchange], db: db)
            facts.lastOutbound = try lastSnapshot(address, directions: [.outbound, .fullFromCRM], db: db)
            facts.foldersNeedingSnapshot = folders.filter { $0.mailbox.lowercased() == address }.compactMap { folder in
                ItemKind(rawValue: folder.kind).map { FolderNeedingSnapshot(kind: $0, reason: folder.reason) }
            }
            facts.crmRows = try db.query(
                """
                SELECT (SELECT count(*) FROM crm.appointments WHERE owner_id = $1) + (SELECT count(*) FROM crm.tasks WHERE owner_id = $1)
                     + (SELECT count(*) FROM crm.coverage WHERE user_id = $1)
                """, [owner.userID])[0].decode(Int.self, at: 0)
            for row in try db.query(
                "SELECT kind, count(*) FROM sync.links WHERE lower(mailbox) = $1 GROUP BY kind", [address])
            {
                if let kind = ItemKind(rawValue: try row.decode(String.self, at: 0)) {
                    facts.links[kind] = try row.decode(Int.self, at: 1)
                }
            }
            facts.orphanLinks = try orphanLinks(address, db: db)
            let history = SwitchHistory(mailbox: address, journal: journal, globalNow: global, ownNow: own[address])
            if let off = history.lastSwitchedOff {
                facts.crmChangesSinceOff =
                    try crmChanges(owner, from: off, to: history.switchedBackOn, db: db)
                    + facts.orphanLinks.values.reduce(0, +)
            }
            mailboxes.append(facts)
        }
        return RecoveryFacts(
            now: now, globalSyncEnabled: global, journal: journal, mailboxes: mailboxes, outbox: outbox,
            unfinishedRuns: runs)
    }

    /// The newest completed run of these directions in which the mailbox was done.
    static func lastSnapshot(
        _ address: String, directions: [SnapshotDirection], db: isolated PostgresConnection
    ) throws(PostgresError) -> CompletedSnapshot? {
        try db.query(
            """
            SELECT r.id, r.created_at FROM sync.runs r JOIN sync.run_mailboxes m ON m.run_id = r.id
            WHERE lower(m.mailbox) = $1 AND m.status = 'done' AND r.status IN ('completed', 'completed_with_errors')
              AND r.direction = ANY($2::text[])
            ORDER BY r.created_at DESC LIMIT 1
            """, [address, directions.map(\.rawValue)]
        ).first.map { (row) throws(PostgresError) in
            CompletedSnapshot(runID: try row.decode(at: 0), startedAt: try row.decode(at: 1))
        }
    }

    /// Links of the mailbox whose CRM row is gone and not queued for delivery (a queued delete is live sync's work).
    static func orphanLinks(_ address: String, db: isolated PostgresConnection) throws(PostgresError) -> [ItemKind: Int]
    {
        var result: [ItemKind: Int] = [:]
        for row in try db.query(
            """
            SELECT l.kind, count(*) FROM sync.links l
            WHERE lower(l.mailbox) = $1
              AND NOT EXISTS (SELECT 1 FROM sync.outbox o WHERE o.kind = l.kind AND o.crm_id = l.crm_id)
              AND CASE l.kind WHEN 'appointments' THEN NOT EXISTS (SELECT 1 FROM crm.appointments a WHERE a.id = l.crm_id)
                              WHEN 'tasks' THEN NOT EXISTS (SELECT 1 FROM crm.tasks t WHERE t.id = l.crm_id)
                              ELSE NOT EXISTS (SELECT 1 FROM crm.contacts c WHERE c.id = l.crm_id) END
            GROUP BY l.kind
            """, [address])
        {
            if let kind = ItemKind(rawValue: try row.decode(String.self, at: 0)) {
                result[kind] = try row.decode(Int.self, at: 1)
            }
        }
        return result
    }

    /// CRM rows of the mailbox (owned appointments and tasks, covered contacts) changed while sync was off:
    /// after `from` and, when sync is back on, up to `to` (later changes were queued, or came from snapshots).
    static func crmChanges(
        _ owner: MailboxOwner, from: Date, to: Date?, db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        try db.query(
            """
            SELECT (SELECT count(*) FROM crm.appointments WHERE owner_id = $1 AND updated_at > $2 AND ($3::timestamptz IS NULL OR updated_at <= $3))
                 + (SELECT count(*) FROM crm.tasks WHERE owner_id = $1 AND updated_at > $2 AND ($3::timestamptz IS NULL OR updated_at <= $3))
                 + (SELECT count(*) FROM crm.contacts c JOIN crm.coverage cv ON cv.contact_id = c.id
                    WHERE cv.user_id = $1 AND c.updated_at > $2 AND ($3::timestamptz IS NULL OR c.updated_at <= $3))
            """, [owner.userID, from, to])[0].decode(Int.self, at: 0)
    }

    /// Queues every parked outbox entry again with a fresh attempt count; returns how many.
    public static func requeueParked(db: isolated PostgresConnection) throws(PostgresError) -> Int {
        try db.execute(
            """
            UPDATE sync.outbox SET parked = false, attempts = 0, next_attempt_at = now(), last_error = NULL, last_error_kind = NULL
            WHERE parked
            """)
    }
}

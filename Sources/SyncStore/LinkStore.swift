import Foundation
import Postgres
import SyncCore

/// The links between CRM rows and mailbox items (`sync.links`).
public enum LinkStore {
    /// A link to write: the CRM row, its item, and the row version the item now holds.
    public struct Link: Sendable, Hashable {
        public var crmID: UUID
        public var ref: MailboxItemRef
        public var version: Int64
        public init(crmID: UUID, ref: MailboxItemRef, version: Int64) {
            self.crmID = crmID
            self.ref = ref
            self.version = version
        }
    }

    /// Inserts or replaces links of one mailbox folder in one statement (arrays bound as parameters).
    public static func upsert(
        _ links: [Link], mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) {
        guard !links.isEmpty else { return }
        try db.execute(
            try db.prepare(
                """
                INSERT INTO sync.links (mailbox, kind, crm_id, item_id, change_key, crm_version, synced_at)
                SELECT $1, $2, u.crm_id, u.item_id, u.change_key, u.version, now()
                FROM unnest($3::uuid[], $4::text[], $5::text[], $6::bigint[]) AS u(crm_id, item_id, change_key, version)
                ON CONFLICT (mailbox, kind, crm_id) DO UPDATE
                SET item_id = EXCLUDED.item_id, change_key = EXCLUDED.change_key, crm_version = EXCLUDED.crm_version, synced_at = now()
                """),
            [
                mailbox, kind.rawValue, links.map(\.crmID), links.map(\.ref.id), links.map(\.ref.changeKey),
                links.map(\.version),
            ])
    }

    /// The version a link gets when the item was found rather than written from a known row version (a create whose
    /// answer never arrived): no CRM row has it, so the next outbound write brings the item up to the row.
    public static let unknownVersion: Int64 = -1

    /// Inserts the links of CRM rows of the mailbox folder that have none; rows already linked keep their link.
    public static func insertMissing(
        _ links: [Link], mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) {
        guard !links.isEmpty else { return }
        try db.execute(
            """
            INSERT INTO sync.links (mailbox, kind, crm_id, item_id, change_key, crm_version, synced_at)
            SELECT $1, $2, u.crm_id, u.item_id, u.change_key, u.version, now()
            FROM unnest($3::uuid[], $4::text[], $5::text[], $6::bigint[]) AS u(crm_id, item_id, change_key, version)
            ON CONFLICT (mailbox, kind, crm_id) DO NOTHING
            """,
            [
                mailbox, kind.rawValue, links.map(\.crmID), links.map(\.ref.id), links.map(\.ref.changeKey),
                links.map(\.version),
            ])
    }

    /// Deletes the links of these CRM rows in one mailbox folder.
    public static func delete(
        crmIDs: [UUID], mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) {
        guard !crmIDs.isEmpty else { return }
        try db.execute(
            "DELETE FROM sync.links WHERE mailbox = $1 AND kind = $2 AND crm_id = ANY($3::uuid[])",
            [mailbox, kind.rawValue, crmIDs])
    }

    /// Forgets every link of a mailbox folder.
    public static func deleteAll(mailbox: String, kind: ItemKind, db: isolated PostgresConnection) throws(PostgresError)
    {
        try db.execute("DELETE FROM sync.links WHERE mailbox = $1 AND kind = $2", [mailbox, kind.rawValue])
    }

    /// The number of links of a mailbox folder.
    public static func count(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        try db.query("SELECT count(*) FROM sync.links WHERE mailbox = $1 AND kind = $2", [mailbox, kind.rawValue])[0]
            .decode(Int.self, at: 0)
    }

    /// Every link of a mailbox folder, keyed by item id.
    public static func links(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> [String: (crmID: UUID, changeKey: String?, version: Int64)] {
        var result: [String: (crmID: UUID, changeKey: String?, version: Int64)] = [:]
        for row in try db.query(
            "SELECT item_id, crm_id, change_key, crm_version FROM sync.links WHERE mailbox = $1 AND kind = $2",
            [mailbox, kind.rawValue])
        {
            result[try row.decode(String.self, at: 0)] = (
                try row.decode(at: 1), try row.decode(at: 2), try row.decode(at: 3)
            )
        }
        return result
    }

    /// What an outbound snapshot would do to the mailbox folder: rows without a link (create), rows changed
    /// since last synced (update), links whose row is gone or no longer belongs (delete).
    public static func outboundPending(
        mailbox: MailboxOwner, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> (create: Int, update: Int, delete: Int) {
        let rows =
            switch kind {
            case .contacts: "crm.coverage cv JOIN crm.contacts r ON r.id = cv.contact_id AND cv.user_id = $2"
            case .appointments: "crm.appointments r"
            case .tasks: "crm.tasks r"
            }
        let owned = kind == .contacts ? "true" : "r.owner_id = $2"
        let counts = try db.query(
            """
            SELECT count(*) FILTER (WHERE l.crm_id IS NULL), count(*) FILTER (WHERE l.crm_version <> r.version)
            FROM \(rows) LEFT JOIN sync.links l ON l.mailbox = $1 AND l.kind = $3 AND l.crm_id = r.id
            WHERE \(owned)
            """, [mailbox.smtpAddress, mailbox.userID, kind.rawValue])[0]
        var orphans = 0
        var after: UUID?
        while true {
            let page = try orphanPage(mailbox: mailbox, kind: kind, after: after, limit: 10_000, db: db)
            orphans += page.count
            guard page.count == 10_000, let last = page.last else { break }
            after = last.crmID
        }
        return (try counts.decode(Int.self, at: 0), try counts.decode(Int.self, at: 1), orphans)
    }

    /// A keyset page of links whose CRM row is gone or no longer belongs in the mailbox (coverage removed,
    /// owner changed): their items must be deleted.
    public static func orphanPage(
        mailbox: MailboxOwner, kind: ItemKind, after: UUID?, limit: Int,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> [(crmID: UUID, ref: MailboxItemRef)] {
        let belongs =
            switch kind {
            case .contacts: "SELECT 1 FROM crm.coverage cv WHERE cv.user_id = $2 AND cv.contact_id = l.crm_id"
            case .appointments: "SELECT 1 FROM crm.appointments a WHERE a.id = l.crm_id AND a.owner_id = $2"
            case .tasks: "SELECT 1 FROM crm.tasks t WHERE t.id = l.crm_id AND t.owner_id = $2"
            }
        let statement = try db.prepare(
            """
            SELECT l.crm_id, l.item_id, l.change_key FROM sync.links l
            WHERE l.mailbox = $1 AND l.kind = $3 AND l.crm_id > $4 AND NOT EXISTS (\(belongs))
            ORDER BY l.crm_id LIMIT $5
            """)
        let zero = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        return try db.query(statement, [mailbox.smtpAddress, mailbox.userID, kind.rawValue, after ?? zero, limit])
            .map { (row) throws(PostgresError) in
                (
                    try row.decode(UUID.self, at: 0),
                    MailboxItemRef(id: try row.decode(at: 1), changeKey: try row.decode(at: 2))
                )
            }
    }
}

/// Per-folder sync states for live inbound sync (`sync.folder_states`).
public enum FolderStateStore {
    /// Stores the state live sync continues from and clears any "needs snapshot" mark.
    public static func store(
        _ state: String, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            INSERT INTO sync.folder_states (mailbox, kind, sync_state, needs_snapshot, reason, updated_at)
            VALUES ($1, $2, $3, false, NULL, now())
            ON CONFLICT (mailbox, kind) DO UPDATE SET sync_state = EXCLUDED.sync_state, needs_snapshot = false, reason = NULL, updated_at = now()
            """, [mailbox, kind.rawValue, state])
    }

    /// The stored state, nil when none.
    public static func state(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> String? {
        try db.query(
            "SELECT sync_state FROM sync.folder_states WHERE mailbox = $1 AND kind = $2", [mailbox, kind.rawValue]
        )
        .first?.decode(String?.self, at: 0)
    }

    /// The stored state, nil when none, locked until the transaction ends: whoever replaces it waits, and sees what
    /// this transaction did.
    public static func lockedState(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> String? {
        try db.query(
            "SELECT sync_state FROM sync.folder_states WHERE mailbox = $1 AND kind = $2 FOR UPDATE",
            [mailbox, kind.rawValue]
        )
        .first?.decode(String?.self, at: 0)
    }

    /// The stored state and whether the folder needs an inbound snapshot.
    public static func status(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> (state: String?, needsSnapshot: Bool) {
        guard
            let row = try db.query(
                "SELECT sync_state, needs_snapshot FROM sync.folder_states WHERE mailbox = $1 AND kind = $2",
                [mailbox, kind.rawValue]
            ).first
        else { return (nil, false) }
        return (try row.decode(String?.self, at: 0), try row.decode(Bool.self, at: 1))
    }

    /// Forgets a folder's state (`snapsync mailbox reset-state`): live sync skips it until an inbound snapshot.
    public static func reset(
        mailbox: String, kinds: [ItemKind], db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        try db.execute(
            "DELETE FROM sync.folder_states WHERE mailbox = lower($1) AND kind = ANY($2::text[])",
            [mailbox, kinds.map(\.rawValue)])
    }

    /// Folders that need an inbound snapshot, with the reason.
    public static func needingSnapshot(
        db: isolated PostgresConnection
    ) throws(PostgresError) -> [(mailbox: String, kind: String, reason: String?)] {
        try db.query("SELECT mailbox, kind, reason FROM sync.folder_states WHERE needs_snapshot ORDER BY mailbox, kind")
            .map { (row) throws(PostgresError) in
                (
                    try row.decode(String.self, at: 0), try row.decode(String.self, at: 1),
                    try row.decode(String?.self, at: 2)
                )
            }
    }

    /// Marks a folder as needing an inbound snapshot (e.g. Exchange rejected its sync state).
    public static func markNeedsSnapshot(
        mailbox: String, kind: ItemKind, reason: String, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            INSERT INTO sync.folder_states (mailbox, kind, needs_snapshot, reason, updated_at) VALUES ($1, $2, true, $3, now())
            ON CONFLICT (mailbox, kind) DO UPDATE SET needs_snapshot = true, reason = EXCLUDED.reason, updated_at = now()
            """, [mailbox, kind.rawValue, reason])
    }
}

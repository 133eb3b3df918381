import Foundation
import Postgres
import SyncCore

/// The protocol each mailbox is reached by (`sql/0013_mailbox_protocol.sql`): the assignments, the facts a switch is
/// decided from, and the switch itself (links' item ids, folder states, the assignment and its journal entry in one
/// transaction).
public enum MailboxProtocolStore {
    /// The mailboxes with a protocol of their own (lower-case address); the others follow the configuration.
    public static func assignments(db: isolated PostgresConnection) throws -> [String: ExchangeProtocol] {
        var result: [String: ExchangeProtocol] = [:]
        for row in try db.query("SELECT mailbox, protocol FROM sync.mailbox_settings WHERE protocol IS NOT NULL") {
            result[try row.decode(String.self, at: 0).lowercased()] = try ExchangeProtocol.decoded(
                try row.decode(String.self, at: 1), column: "sync.mailbox_settings.protocol")
        }
        return result
    }

    /// What a switch of the mailbox's protocol is decided from.
    public static func facts(mailbox: String, db: isolated PostgresConnection) throws -> MailboxProtocolFacts {
        var facts = MailboxProtocolFacts()
        if let row = try db.query(
            "SELECT protocol FROM sync.mailbox_settings WHERE mailbox = lower($1) AND protocol IS NOT NULL", [mailbox]
        ).first {
            facts.assigned = try ExchangeProtocol.decoded(
                try row.decode(String.self, at: 0), column: "sync.mailbox_settings.protocol")
        }
        // The folders' states before the links: links that a live-sync pass adds after this are written with a new
        // state, which a switch decided from these facts then finds changed.
        for row in try db.query(
            "SELECT kind, sync_state, needs_snapshot FROM sync.folder_states WHERE lower(mailbox) = lower($1)",
            [mailbox])
        {
            let kind = try ItemKind.decoded(try row.decode(String.self, at: 0), column: "sync.folder_states.kind")
            facts.folders[kind] = MailboxProtocolFacts.FolderStatus(
                state: try row.decode(at: 1), needsSnapshot: try row.decode(at: 2))
        }
        for row in try db.query("SELECT kind, item_id FROM sync.links WHERE lower(mailbox) = lower($1)", [mailbox]) {
            let kind = try ItemKind.decoded(try row.decode(String.self, at: 0), column: "sync.links.kind")
            facts.linkedItemIDs[kind, default: []].append(try row.decode(String.self, at: 1))
        }
        facts.unfinishedRuns = try db.query(
            """
            SELECT m.run_id FROM sync.run_mailboxes m JOIN sync.runs r ON r.id = m.run_id
            WHERE r.status = 'running' AND lower(m.mailbox) = lower($1) AND m.status IN ('pending', 'running')
            ORDER BY m.run_id
            """, [mailbox]
        ).map { (row) throws(PostgresError) in try row.decode(Int64.self, at: 0) }
        return facts
    }

    /// Switches the mailbox to `commit.protocol` in one transaction: the links' item ids are replaced by their
    /// translations, the folders' sync states by the new baselines (a folder needing a snapshot keeps its mark and
    /// loses its state), the assignment is stored and the change journaled.
    public static func commit(_ commit: ProtocolSwitchCommit, db: isolated PostgresConnection) throws {
        try db.withTransaction { db in
            // A live-sync pass that committed since the switch read the states would have linked items by the old
            // protocol's ids, which this switch did not translate: nothing is changed, and the switch is run again.
            for (kind, expected) in commit.replacing.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let current = try db.query(
                    """
                    SELECT sync_state FROM sync.folder_states WHERE lower(mailbox) = lower($1) AND kind = $2
                    FOR UPDATE
                    """, [commit.mailbox, kind.rawValue]
                ).first?.decode(String?.self, at: 0)
                guard current == expected else {
                    throw SyncStoreError(
                        code: .syncStateChanged,
                        message: "the \(kind.rawValue) sync state of \(commit.mailbox) changed during the switch "
                            + "(a live-sync pass or a snapshot ran): nothing was changed; run the switch again")
                }
            }
            for (kind, ids) in commit.itemIDs where !ids.isEmpty {
                let pairs = ids.sorted { $0.key < $1.key }
                try db.execute(
                    """
                    UPDATE sync.links l SET item_id = t.new_id
                    FROM unnest($3::text[], $4::text[]) AS t(old_id, new_id)
                    WHERE lower(l.mailbox) = lower($1) AND l.kind = $2 AND l.item_id = t.old_id
                    """, [commit.mailbox, kind.rawValue, pairs.map(\.key), pairs.map(\.value)])
            }
            for (kind, keys) in commit.changeKeys where !keys.isEmpty {
                let pairs = keys.sorted { $0.key < $1.key }
                try db.execute(
                    """
                    UPDATE sync.links l SET change_key = t.change_key
                    FROM unnest($3::text[], $4::text[]) AS t(item_id, change_key)
                    WHERE lower(l.mailbox) = lower($1) AND l.kind = $2 AND l.item_id = t.item_id
                    """, [commit.mailbox, kind.rawValue, pairs.map(\.key), pairs.map(\.value)])
            }
            for (kind, state) in commit.folderStates {
                try db.execute(
                    """
                    UPDATE sync.folder_states SET sync_state = $3, needs_snapshot = needs_snapshot AND $3::text IS NULL,
                           reason = CASE WHEN $3::text IS NULL THEN reason END, updated_at = now()
                    WHERE lower(mailbox) = lower($1) AND kind = $2
                    """, [commit.mailbox, kind.rawValue, state])
            }
            try db.execute(
                """
                INSERT INTO sync.mailbox_settings (mailbox, enabled, protocol, changed_at) VALUES (lower($1), NULL, $2, now())
                ON CONFLICT (mailbox) DO UPDATE SET protocol = EXCLUDED.protocol, changed_at = now()
                """, [commit.mailbox, commit.protocol.rawValue])
            try db.execute(
                "INSERT INTO sync.journal (actor, mailbox, protocol, note) VALUES ($1, lower($2), $3, $4)",
                [commit.actor, commit.mailbox, commit.protocol.rawValue, commit.note])
        }
    }
}

/// What switching a mailbox's protocol writes (``MailboxProtocolStore/commit(_:db:)``).
public struct ProtocolSwitchCommit: Sendable, Hashable {
    public var mailbox: String
    public var `protocol`: ExchangeProtocol
    /// Old item id to new, by kind.
    public var itemIDs: [ItemKind: [String: String]]
    /// New item id to the change key a write through the new protocol gave the item, by kind.
    public var changeKeys: [ItemKind: [String: String]]
    /// The new sync state of each tracked folder (nil: none until an inbound snapshot).
    public var folderStates: [ItemKind: String?]
    /// The sync state each folder had when the switch read its links: the switch commits only if they are unchanged.
    public var replacing: [ItemKind: String?]
    public var actor: String
    public var note: String?

    public init(
        mailbox: String, protocol: ExchangeProtocol, itemIDs: [ItemKind: [String: String]] = [:],
        changeKeys: [ItemKind: [String: String]] = [:], folderStates: [ItemKind: String?] = [:],
        replacing: [ItemKind: String?] = [:], actor: String, note: String?
    ) {
        self.mailbox = mailbox
        self.protocol = `protocol`
        self.itemIDs = itemIDs
        self.changeKeys = changeKeys
        self.folderStates = folderStates
        self.replacing = replacing
        self.actor = actor
        self.note = note
    }
}

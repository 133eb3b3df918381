import Foundation
import Postgres
import SyncCore

/// Creates whose outcome is not known yet (`sync.create_intents`): a batch's CRM ids are recorded, and committed,
/// before its CreateItem request is sent, and cleared in the transaction that commits the batch's links. An intent
/// left behind (the answer was lost or unreadable, the process died with the request in flight) says Exchange may
/// hold items of those ids that no link knows: they are looked up by their stamped CRM id before the folder gets
/// any create again.
///
/// Creating in a mailbox folder and resolving its intents exclude each other through a session advisory lock of the
/// folder (``withFolderLock(mailbox:kind:db:_:)``), held from the intent to the commit of the links: a resolver never
/// takes an intent whose request is still in flight in another process for unanswered, and a killed process's
/// lock goes with its connection.
public enum CreateIntentStore {
    /// An open intent: the CRM ids of one create batch.
    public struct Intent: Sendable, Hashable {
        public var id: Int64
        public var crmIDs: [UUID]

        public init(id: Int64, crmIDs: [UUID]) {
            self.id = id
            self.crmIDs = crmIDs
        }
    }

    /// Records that the batch of these CRM ids is about to be created in the mailbox folder; commits at once (call
    /// it outside a transaction). Returns the intent's id, for ``clear(_:db:)``.
    public static func record(
        mailbox: String, kind: ItemKind, crmIDs: [UUID], runID: Int64?,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> Int64 {
        try db.query(
            """
            INSERT INTO sync.create_intents (mailbox, kind, crm_ids, run_id) VALUES ($1, $2, $3, $4) RETURNING id
            """, [mailbox.lowercased(), kind.rawValue, crmIDs, runID])[0].decode(Int64.self, at: 0)
    }

    /// Clears intents: call in the transaction that commits the links of their batches.
    public static func clear(_ ids: [Int64], db: isolated PostgresConnection) throws(PostgresError) {
        guard !ids.isEmpty else { return }
        try db.execute("DELETE FROM sync.create_intents WHERE id = ANY($1::bigint[])", [ids])
    }

    /// The open intents of a mailbox folder, oldest first.
    public static func intents(
        mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> [Intent] {
        try db.query(
            "SELECT id, crm_ids FROM sync.create_intents WHERE mailbox = $1 AND kind = $2 ORDER BY id",
            [mailbox.lowercased(), kind.rawValue]
        ).map { (row) throws(PostgresError) in
            Intent(id: try row.decode(at: 0), crmIDs: try row.decode(at: 1))
        }
    }

    /// The number of CRM ids of open intents per mailbox folder (for `snapsync doctor`).
    public static func openCounts(db: isolated PostgresConnection) throws(PostgresError) -> [String: [ItemKind: Int]] {
        var result: [String: [ItemKind: Int]] = [:]
        for row in try db.query(
            "SELECT mailbox, kind, sum(cardinality(crm_ids))::int FROM sync.create_intents GROUP BY mailbox, kind")
        {
            guard let kind = ItemKind(rawValue: try row.decode(at: 1)) else { continue }
            result[try row.decode(String.self, at: 0), default: [:]][kind] = try row.decode(Int.self, at: 2)
        }
        return result
    }

    /// Runs `body` holding the folder's create lock (a session advisory lock; waits for another holder).
    public static func withFolderLock<T: Sendable>(
        mailbox: String, kind: ItemKind, db: PostgresConnection,
        _ body: () async throws -> T
    ) async throws -> T {
        let key = "\(mailbox.lowercased())/\(kind.rawValue)"
        _ = try await db.query("SELECT pg_advisory_lock(hashtext('sync.create_intents'), hashtext($1))", [key])
        do {
            let result = try await body()
            _ = try await db.query("SELECT pg_advisory_unlock(hashtext('sync.create_intents'), hashtext($1))", [key])
            return result
        } catch {
            _ = try? await db.query("SELECT pg_advisory_unlock(hashtext('sync.create_intents'), hashtext($1))", [key])
            throw error
        }
    }
}

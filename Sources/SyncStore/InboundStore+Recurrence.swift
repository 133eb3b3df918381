import Foundation
import Postgres
import SyncCore

extension InboundStore {
    /// Gives the staged series of a mailbox ($1 run, $2 mailbox) whose CRM row states the same rule in other words the
    /// CRM row's text. Exchange answers a rule in its own terms (`FREQ=WEEKLY;BYDAY=SA;COUNT=10` for the CRM's
    /// `FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;COUNT=10`): merged as read, every series the CRM wrote got the other text and a
    /// new version on each inbound, though nothing changed. Only matched series whose text differs are read back (none
    /// once the texts agree); rules are compared as ``RecordDifference`` compares them. Returns how many were kept.
    @discardableResult
    static func keepCRMRecurrenceText(runID: Int64, mailbox: String, db: isolated PostgresConnection) throws(PostgresError) -> Int {
        let rows = try db.query("""
            SELECT s.item_id, s.recurrence, s.starts_at, a.recurrence, a.starts_at
            FROM sync.stage_appointments s
            CROSS JOIN LATERAL (SELECT a.recurrence, a.starts_at FROM crm.appointments a WHERE a.id = s.crm_id OFFSET 0) a
            WHERE s.run_id = $1 AND s.mailbox = $2 AND s.matched AND s.recurrence IS NOT NULL
              AND a.recurrence IS NOT NULL AND a.recurrence <> s.recurrence
            """, [runID, mailbox])
        var items: [String] = [], texts: [String] = []
        for row in rows {
            let staged: String = try row.decode(at: 1), crm: String = try row.decode(at: 3)
            if RecordDifference.sameRecurrence(staged, seriesStart: try row.decode(at: 2), crm, seriesStart: try row.decode(at: 4)) {
                items.append(try row.decode(at: 0))
                texts.append(crm)
            }
        }
        guard !items.isEmpty else { return 0 }
        return try db.execute("""
            UPDATE sync.stage_appointments s SET recurrence = v.recurrence
            FROM unnest($3::text[], $4::text[]) AS v(item_id, recurrence)
            WHERE s.run_id = $1 AND s.mailbox = $2 AND s.item_id = v.item_id
            """, [runID, mailbox, items, texts])
    }
}

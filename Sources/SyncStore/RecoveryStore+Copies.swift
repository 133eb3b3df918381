import Foundation
import Postgres
import SyncCore

extension RecoveryStore {
    /// The open `DuplicateCRMId` quarantine entries of these mailboxes (each folder's latest inbound reported them; the
    /// next one resolves them), one line each: mailbox, kind, item and CRM id. At most 20, then a count of the others.
    static func copiesInExchange(owners: [MailboxOwner], db: isolated PostgresConnection) throws(PostgresError) -> [String] {
        let rows = try db.query("""
            SELECT mailbox, kind, item_id, crm_id, count(*) OVER () FROM sync.quarantine
            WHERE resolved_at IS NULL AND code = 'DuplicateCRMId' AND lower(mailbox) = ANY($1::text[])
            ORDER BY mailbox, kind, item_id LIMIT 20
            """, [owners.map { $0.smtpAddress.lowercased() }])
        var lines: [String] = []
        var total = 0
        for row in rows {
            let crmID: UUID? = try row.decode(at: 3)
            lines.append("\(try row.decode(String.self, at: 0)) \(try row.decode(String.self, at: 1)): item \(try row.decode(String?.self, at: 2) ?? "?") "
                         + "is a copy of CRM record \(crmID?.lowercasedString ?? "?")")
            total = try row.decode(Int.self, at: 4)
        }
        if total > lines.count { lines.append("and \(total - lines.count) more") }
        return lines
    }
}

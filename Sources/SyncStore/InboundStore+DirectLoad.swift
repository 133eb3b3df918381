import Foundation
import Postgres
import SyncCore

extension InboundStore {
    /// Loads a page of an inbound snapshot: the items no CRM row can claim are written straight into the CRM, with
    /// their children and links (``createDirectly(_:runID:mailbox:kind:db:)``); the others are staged for the
    /// folder's match and merge (``stage(_:runID:mailbox:kind:db:)``). Call inside the page's transaction.
    ///
    /// An item can be claimed when it carries a CRM id snapsync stamped on it, when it already has a link, or (an
    /// appointment) when an unlinked CRM appointment of the owner has its iCalendar UID: the match decides those once
    /// the whole folder is staged. Any other item becomes a new CRM row whatever the rest of the folder holds, so
    /// staging it, reading it back and deleting it only cost the server: most of an inbound snapshot into a blank
    /// folder (a first snapshot, onboarding, a full snapshot after its clean step), where every item is such an item.
    ///
    /// The rows are the merge's: the same columns, version 1, `updated_at` the transaction's start, time-ordered ids.
    /// When a link write collides with a link written since the lookup (SQLSTATE 23505), the page is staged whole.
    public static func load(
        _ items: [MailboxItem], runID: Int64, mailbox: MailboxOwner, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws -> StageCounts {
        // Indices, not copies of the items: copying a page of decoded items retains every string in them.
        var seenIDs = Set<String>(minimumCapacity: items.count)
        // an item listed twice is one item
        let unique = items.indices.filter { seenIDs.insert(items[$0].ref.id).inserted }
        let claimable = try claimableItemIDs(items, unique, mailbox: mailbox, kind: kind, db: db)
        let isFresh = { (index: Int) in
            items[index].crmID == nil && items[index].record.kind == kind && !claimable.contains(items[index].ref.id)
        }
        let fresh = unique.filter(isFresh)
        var rest = unique.filter { !isFresh($0) }
        var counts = StageCounts()
        if !fresh.isEmpty {
            let created = fresh.count == items.count ? items : fresh.map { items[$0] }
            do {
                counts = try db.withTransaction { db in
                    try createDirectly(created, runID: runID, mailbox: mailbox, kind: kind, db: db)
                }
            } catch let error as PostgresError where error.hasSQLState("23505") {
                rest = unique
            }
        }
        if !rest.isEmpty {
            counts.items += Int64(
                try stage(rest.map { items[$0] }, runID: runID, mailbox: mailbox.smtpAddress, kind: kind, db: db))
        }
        return counts
    }

    /// The ids of the unstamped items (at `indices`) the match could claim: those with a link in the mailbox, and
    /// appointments whose iCalendar UID an unlinked CRM appointment of the owner has (the match's order: link,
    /// stamp, UID).
    static func claimableItemIDs(
        _ items: [MailboxItem], _ indices: [Int], mailbox: MailboxOwner, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> Set<String> {
        let unstamped = indices.filter { items[$0].crmID == nil }
        guard !unstamped.isEmpty else { return [] }
        let linked = try db.query(
            try db.prepare(
                """
                SELECT item_id FROM sync.links WHERE mailbox = $1 AND item_id = ANY($2::text[])
                """), [mailbox.smtpAddress, unstamped.map { items[$0].ref.id }])
        var claimable = Set(try linked.map { (row) throws(PostgresError) in try row.decode(String.self, at: 0) })
        guard kind == .appointments else { return claimable }
        var byUID: [String: [String]] = [:]
        for index in unstamped {
            if case .appointment(let a) = items[index].record, let uid = a.icalUID {
                byUID[uid, default: []].append(items[index].ref.id)
            }
        }
        guard !byUID.isEmpty else { return claimable }
        let uids = try db.query(
            try db.prepare(
                """
                SELECT DISTINCT a.ical_uid FROM crm.appointments a
                WHERE a.ical_uid = ANY($2::text[]) AND a.owner_id = $3
                  AND NOT EXISTS (SELECT 1 FROM sync.links l WHERE l.mailbox = $1 AND l.kind = 'appointments' AND l.crm_id = a.id)
                """), [mailbox.smtpAddress, Array(byUID.keys), mailbox.userID])
        for row in uids { claimable.formUnion(byUID[try row.decode(String.self, at: 0)] ?? []) }
        return claimable
    }

    /// Writes `items` (none stamped, linked or claimable by UID) as new CRM rows with their exceptions, attendees
    /// (linked to contacts by email, as the merge does) and links, all with COPY. Returns what was written.
    static func createDirectly(
        _ items: [MailboxItem], runID: Int64, mailbox: MailboxOwner, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws -> StageCounts {
        let now: Date = try db.query("SELECT now()")[0].decode(at: 0)  // the merge's `now()`: the transaction's start
        var random = SplitMix64()
        let idTime = Date()
        let ids = items.map { _ in UUID.timeOrdered(at: idTime, using: &random) }
        var changed: [String: Int] = [:]
        switch kind {
        case .appointments:
            let appointments = items.compactMap { item -> CRMAppointment? in
                if case .appointment(let a) = item.record { a } else { nil }
            }
            precondition(appointments.count == items.count, "only appointments are created in an appointment folder")
            changed["crm.appointments"] = try db.copyBinary(
                into: PostgresIdentifier(schema: "crm", "appointments"),
                columns: ["id"] + mergedColumns(.appointments) + ["updated_at", "version"]
            ) { writer in
                for (id, a) in zip(ids, appointments) {
                    writer.append(id); appendMergedFields(of: a, to: &writer); writer.append(now);
                    writer.append(Int64(1))
                    try writer.endRow()
                }
            }
            changed["crm.appointment_exceptions"] = try db.copyBinary(
                into: PostgresIdentifier(schema: "crm", "appointment_exceptions"),
                columns: ["appointment_id"] + exceptionColumns
            ) { writer in
                for (id, a) in zip(ids, appointments) { try forEachException(of: a, to: &writer) { $0.append(id) } }
            }
            let contacts = try contactIDs(byEmail: Set(appointments.flatMap { $0.attendees.map(\.email) }), db: db)
            changed["crm.appointment_attendees"] = try db.copyBinary(
                into: PostgresIdentifier(schema: "crm", "appointment_attendees"),
                columns: ["appointment_id"] + attendeeColumns + ["contact_id"]
            ) { writer in
                for (id, a) in zip(ids, appointments) {
                    try forEachAttendee(
                        of: a, to: &writer, key: { $0.append(id) },
                        rest: { attendee, writer in writer.append(contacts[attendee.email]) })
                }
            }
        case .tasks:
            changed["crm.tasks"] = try db.copyBinary(
                into: PostgresIdentifier(schema: "crm", "tasks"),
                columns: ["id"] + mergedColumns(.tasks) + ["updated_at", "version"]
            ) { writer in
                for (id, item) in zip(ids, items) {
                    guard case .task(let t) = item.record else {
                        preconditionFailure("only tasks are created in a task folder")
                    }
                    writer.append(id); appendMergedFields(of: t, to: &writer); writer.append(now);
                    writer.append(Int64(1))
                    try writer.endRow()
                }
            }
        case .contacts:
            return StageCounts()  // contacts only go CRM → Exchange
        }
        changed["sync.links"] = try db.copyBinary(
            into: PostgresIdentifier(schema: "sync", "links"),
            columns: [
                "mailbox", "kind", "crm_id", "item_id", "change_key", "crm_version", "synced_at", "seen_by_run",
            ]
        ) { writer in
            for (id, item) in zip(ids, items) {
                writer.append(mailbox.smtpAddress); writer.append(kind.rawValue); writer.append(id);
                writer.append(item.ref.id)
                writer.append(item.ref.changeKey); writer.append(Int64(1)); writer.append(now); writer.append(runID)
                try writer.endRow()
            }
        }
        return StageCounts(items: Int64(items.count), created: Int64(items.count), changedRows: changed)
    }

    /// The CRM contact of each attendee address, chosen as the merge chooses it: the lowest id among contacts whose
    /// first, else second, else third address matches it case-insensitively (`lower()`, through the e-mail indexes).
    static func contactIDs(
        byEmail emails: Set<String>, db: isolated PostgresConnection
    ) throws(PostgresError) -> [String: UUID] {
        guard !emails.isEmpty else { return [:] }
        let rows = try db.query(
            try db.prepare(
                """
                SELECT e, coalesce((SELECT c.id FROM crm.contacts c WHERE lower(c.email1) = lower(e) ORDER BY c.id LIMIT 1),
                                   (SELECT c.id FROM crm.contacts c WHERE lower(c.email2) = lower(e) ORDER BY c.id LIMIT 1),
                                   (SELECT c.id FROM crm.contacts c WHERE lower(c.email3) = lower(e) ORDER BY c.id LIMIT 1))
                FROM unnest($1::text[]) AS e
                """), [Array(emails)])
        var contacts: [String: UUID] = [:]
        for row in rows {
            if let id = try row.decode(UUID?.self, at: 1) { contacts[try row.decode(String.self, at: 0)] = id }
        }
        return contacts
    }
}

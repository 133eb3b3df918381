import Foundation
import Postgres
import SyncCore

/// Reads the CRM rows that belong in a mailbox, in keyset pages (never OFFSET), with their links.
public enum CRMStore {
    /// The CRM users with a mailbox, optionally only these SMTP addresses (case-insensitive), by address.
    public static func mailboxOwners(
        _ addresses: [String]?, db: isolated PostgresConnection
    ) throws(PostgresError) -> [MailboxOwner] {
        let rows: PostgresRows
        if let addresses {
            rows = try db.query(
                """
                SELECT mailbox, id FROM crm.users WHERE mailbox IS NOT NULL AND lower(mailbox) = ANY($1::text[])
                ORDER BY lower(mailbox)
                """, [addresses.map { $0.lowercased() }])
        } else {
            rows = try db.query("SELECT mailbox, id FROM crm.users WHERE mailbox IS NOT NULL ORDER BY lower(mailbox)")
        }
        return try rows.map { (row) throws(PostgresError) in
            MailboxOwner(smtpAddress: try row.decode(String.self, at: 0), userID: try row.decode(UUID.self, at: 1))
        }
    }

    static let contactColumns = """
        c.id, c.given_name, c.surname, c.display_name, c.company, c.job_title, c.email1, c.email2, c.email3,
        c.business_phone, c.mobile_phone, c.home_phone, c.street, c.city, c.state, c.postal_code, c.country,
        c.notes, c.birthday, c.categories, c.updated_at, c.version
        """
    static let appointmentColumns = """
        a.id, a.owner_id, a.subject, a.location, a.body, a.starts_at, a.ends_at, a.is_all_day, a.time_zone,
        a.is_private, a.categories, a.ical_uid, a.recurrence, a.updated_at, a.version
        """
    static let taskColumns = """
        t.id, t.owner_id, t.subject, t.body, t.starts_on, t.due_on, t.status, t.percent_complete, t.importance,
        t.completed_at, t.categories, t.updated_at, t.version
        """

    /// One keyset page of the rows of `kind` that belong in `mailbox` (covered contacts, owned
    /// appointments and tasks) with ids after `after`, each with its link to the mailbox, if any.
    /// Each page is a range of an index on (owner, id): the contacts' keyset is on `crm.coverage`'s key, since
    /// PostgreSQL does not carry `> $3` across the join and a keyset on `c.id` walked every contact after it.
    public static func outboundPage(
        _ kind: ItemKind, mailbox: MailboxOwner, after: UUID?, limit: Int,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> [OutboundCandidate] {
        let after = after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        switch kind {
        case .contacts:
            let statement = try db.prepare(outboundPageSQL(kind))
            return try db.query(statement, [mailbox.smtpAddress, mailbox.userID, after, limit]).map {
                (row) throws(PostgresError) in
                let contact = try decodeContact(row)
                return OutboundCandidate(
                    record: .contact(contact), version: contact.version, link: try decodeLink(row, at: 22))
            }
        case .appointments:
            let statement = try db.prepare(outboundPageSQL(kind))
            let rows = try db.query(statement, [mailbox.smtpAddress, mailbox.userID, after, limit])
            var appointments = try rows.map { (row) throws(PostgresError) in
                (try decodeAppointment(row), try decodeLink(row, at: 15))
            }
            try attachDetails(&appointments, db: db)
            return appointments.map { OutboundCandidate(record: .appointment($0.0), version: $0.0.version, link: $0.1) }
        case .tasks:
            let statement = try db.prepare(outboundPageSQL(kind))
            return try db.query(statement, [mailbox.smtpAddress, mailbox.userID, after, limit]).map {
                (row) throws(PostgresError) in
                let task = try decodeTask(row)
                return OutboundCandidate(record: .task(task), version: task.version, link: try decodeLink(row, at: 13))
            }
        }
    }

    /// The statement of ``outboundPage(_:mailbox:after:limit:db:)``: $1 mailbox, $2 user id, $3 after, $4 limit.
    static func outboundPageSQL(_ kind: ItemKind) -> String {
        let linkColumns = "l.item_id, l.change_key, l.crm_version"
        switch kind {
        case .contacts:
            return """
                SELECT \(contactColumns), \(linkColumns)
                FROM crm.coverage cv JOIN crm.contacts c ON c.id = cv.contact_id
                LEFT JOIN sync.links l ON l.mailbox = $1 AND l.kind = 'contacts' AND l.crm_id = c.id
                WHERE cv.user_id = $2 AND cv.contact_id > $3 ORDER BY cv.contact_id LIMIT $4
                """
        case .appointments, .tasks:
            let (table, alias, columns) =
                kind == .appointments
                ? ("crm.appointments", "a", appointmentColumns) : ("crm.tasks", "t", taskColumns)
            return """
                SELECT \(columns), \(linkColumns)
                FROM \(table) \(alias)
                LEFT JOIN sync.links l ON l.mailbox = $1 AND l.kind = '\(kind.rawValue)' AND l.crm_id = \(alias).id
                WHERE \(alias).owner_id = $2 AND \(alias).id > $3 ORDER BY \(alias).id LIMIT $4
                """
        }
    }

    /// Every CRM record of `kind` that belongs in the mailbox, keyed by id (for `verify`).
    public static func records(
        _ kind: ItemKind, mailbox: MailboxOwner, db: isolated PostgresConnection
    ) throws(PostgresError) -> [UUID: OutboundCandidate] {
        var result: [UUID: OutboundCandidate] = [:]
        var after: UUID?
        while true {
            let page = try outboundPage(kind, mailbox: mailbox, after: after, limit: 1000, db: db)
            for candidate in page { result[candidate.record.id] = candidate }
            guard page.count == 1000, let last = page.last else { return result }
            after = last.record.id
        }
    }

    // MARK: Decoding

    static func decodeLink(_ row: PostgresRow, at column: Int) throws(PostgresError) -> OutboundCandidate.Link? {
        guard let itemID = try row.decode(String?.self, at: column) else { return nil }
        return OutboundCandidate.Link(
            itemID: itemID, changeKey: try row.decode(String?.self, at: column + 1),
            syncedVersion: try row.decode(Int64.self, at: column + 2))
    }

    static func decodeContact(_ row: PostgresRow) throws(PostgresError) -> CRMContact {
        CRMContact(
            id: try row.decode(at: 0), givenName: try row.decode(at: 1), surname: try row.decode(at: 2),
            displayName: try row.decode(at: 3), company: try row.decode(at: 4), jobTitle: try row.decode(at: 5),
            email1: try row.decode(at: 6), email2: try row.decode(at: 7), email3: try row.decode(at: 8),
            businessPhone: try row.decode(at: 9), mobilePhone: try row.decode(at: 10),
            homePhone: try row.decode(at: 11),
            street: try row.decode(at: 12), city: try row.decode(at: 13), state: try row.decode(at: 14),
            postalCode: try row.decode(at: 15), country: try row.decode(at: 16), notes: try row.decode(at: 17),
            birthday: try row.decode(PostgresDate?.self, at: 18).flatMap(LocalDate.init),
            categories: try row.decode(at: 19), updatedAt: try row.decode(at: 20), version: try row.decode(at: 21))
    }

    static func decodeAppointment(_ row: PostgresRow) throws(PostgresError) -> CRMAppointment {
        CRMAppointment(
            id: try row.decode(at: 0), ownerID: try row.decode(at: 1), subject: try row.decode(at: 2),
            location: try row.decode(at: 3), body: try row.decode(at: 4), startsAt: try row.decode(at: 5),
            endsAt: try row.decode(at: 6), isAllDay: try row.decode(at: 7), timeZone: try row.decode(at: 8),
            isPrivate: try row.decode(at: 9), categories: try row.decode(at: 10), icalUID: try row.decode(at: 11),
            recurrence: try row.decode(at: 12), updatedAt: try row.decode(at: 13), version: try row.decode(at: 14))
    }

    static func decodeTask(_ row: PostgresRow) throws(PostgresError) -> CRMTask {
        let status: String = try row.decode(at: 6)
        let importance: String = try row.decode(at: 8)
        guard let taskStatus = TaskStatus(rawValue: status), let taskImportance = TaskImportance(rawValue: importance)
        else {
            throw PostgresError(code: .decoding, message: "unknown task status or importance")
        }
        return CRMTask(
            id: try row.decode(at: 0), ownerID: try row.decode(at: 1), subject: try row.decode(at: 2),
            body: try row.decode(at: 3), startsOn: try row.decode(PostgresDate?.self, at: 4).flatMap(LocalDate.init),
            dueOn: try row.decode(PostgresDate?.self, at: 5).flatMap(LocalDate.init), status: taskStatus,
            percentComplete: try row.decode(at: 7), importance: taskImportance,
            completedAt: try row.decode(at: 9), categories: try row.decode(at: 10),
            updatedAt: try row.decode(at: 11), version: try row.decode(at: 12))
    }

    /// Loads the exceptions and attendees of a page of appointments.
    static func attachDetails(
        _ appointments: inout [(CRMAppointment, OutboundCandidate.Link?)],
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        guard !appointments.isEmpty else { return }
        let ids = appointments.map(\.0.id)
        var index: [UUID: Int] = [:]
        for (position, appointment) in appointments.enumerated() { index[appointment.0.id] = position }
        let exceptions = try db.query(
            try db.prepare(
                """
                SELECT appointment_id, original_start, is_cancelled, subject, location, starts_at, ends_at
                FROM crm.appointment_exceptions WHERE appointment_id = ANY($1::uuid[]) ORDER BY appointment_id, original_start
                """), [ids])
        for row in exceptions {
            guard let position = index[try row.decode(UUID.self, at: 0)] else { continue }
            appointments[position].0.exceptions.append(
                CRMAppointmentException(
                    originalStart: try row.decode(at: 1), isCancelled: try row.decode(at: 2),
                    subject: try row.decode(at: 3),
                    location: try row.decode(at: 4), startsAt: try row.decode(at: 5), endsAt: try row.decode(at: 6)))
        }
        let attendees = try db.query(
            try db.prepare(
                """
                SELECT appointment_id, email, name, kind, contact_id
                FROM crm.appointment_attendees WHERE appointment_id = ANY($1::uuid[]) ORDER BY appointment_id, email
                """), [ids])
        for row in attendees {
            guard let position = index[try row.decode(UUID.self, at: 0)] else { continue }
            let kind = AttendeeKind(rawValue: try row.decode(String.self, at: 3)) ?? .required
            appointments[position].0.attendees.append(
                CRMAttendee(
                    email: try row.decode(at: 1), name: try row.decode(at: 2), kind: kind,
                    contactID: try row.decode(at: 4)))
        }
    }
}

extension LocalDate {
    /// The same calendar date as a PostgreSQL `date`.
    init?(_ date: PostgresDate) { self.init(year: date.year, month: date.month, day: date.day) }

    /// This date as a PostgreSQL `date`.
    var postgres: PostgresDate { PostgresDate(year: year, month: month, day: day) }
}

extension CRMStore {
    /// A CRM row to deliver to Exchange with the mailboxes it belongs in.
    public struct Placed: Sendable, Hashable {
        public var record: MailboxRecord
        public var version: Int64
        public var updatedAt: Date
        /// Covering users' mailboxes (contacts) or the owner's mailbox (appointments, tasks).
        public var mailboxes: [MailboxOwner]

        public init(record: MailboxRecord, version: Int64, updatedAt: Date, mailboxes: [MailboxOwner]) {
            self.record = record
            self.version = version
            self.updatedAt = updatedAt
            self.mailboxes = mailboxes
        }
    }

    /// The rows with these ids (missing ids: deleted) with the mailboxes they belong in.
    public static func placed(
        _ kind: ItemKind, ids: [UUID], db: isolated PostgresConnection
    ) throws(PostgresError) -> [UUID: Placed] {
        guard !ids.isEmpty else { return [:] }
        var result: [UUID: Placed] = [:]
        switch kind {
        case .contacts:
            for row in try db.query("SELECT \(contactColumns) FROM crm.contacts c WHERE c.id = ANY($1::uuid[])", [ids])
            {
                let contact = try decodeContact(row)
                result[contact.id] = Placed(
                    record: .contact(contact), version: contact.version, updatedAt: contact.updatedAt, mailboxes: [])
            }
            for row in try db.query(
                """
                SELECT cv.contact_id, u.mailbox, u.id FROM crm.coverage cv JOIN crm.users u ON u.id = cv.user_id
                WHERE cv.contact_id = ANY($1::uuid[]) AND u.mailbox IS NOT NULL
                """, [ids])
            {
                let id: UUID = try row.decode(at: 0)
                result[id]?.mailboxes.append(
                    MailboxOwner(smtpAddress: try row.decode(at: 1), userID: try row.decode(at: 2)))
            }
        case .appointments:
            var appointments: [(CRMAppointment, OutboundCandidate.Link?)] = []
            var owners: [UUID: MailboxOwner] = [:]
            for row in try db.query(
                """
                SELECT \(appointmentColumns), u.mailbox FROM crm.appointments a JOIN crm.users u ON u.id = a.owner_id
                WHERE a.id = ANY($1::uuid[])
                """, [ids])
            {
                let appointment = try decodeAppointment(row)
                appointments.append((appointment, nil))
                if let mailbox = try row.decode(String?.self, at: 15) {
                    owners[appointment.id] = MailboxOwner(smtpAddress: mailbox, userID: appointment.ownerID)
                }
            }
            try attachDetails(&appointments, db: db)
            for (appointment, _) in appointments {
                result[appointment.id] = Placed(
                    record: .appointment(appointment), version: appointment.version, updatedAt: appointment.updatedAt,
                    mailboxes: owners[appointment.id].map { [$0] } ?? [])
            }
        case .tasks:
            for row in try db.query(
                """
                SELECT \(taskColumns), u.mailbox FROM crm.tasks t JOIN crm.users u ON u.id = t.owner_id WHERE t.id = ANY($1::uuid[])
                """, [ids])
            {
                let task = try decodeTask(row)
                let owner = try row.decode(String?.self, at: 13).map {
                    MailboxOwner(smtpAddress: $0, userID: task.ownerID)
                }
                result[task.id] = Placed(
                    record: .task(task), version: task.version, updatedAt: task.updatedAt,
                    mailboxes: owner.map { [$0] } ?? [])
            }
        }
        return result
    }

    /// The owner (CRM user) of each mailbox address that has one.
    public static func owner(
        ofMailbox address: String, db: isolated PostgresConnection
    ) throws(PostgresError) -> MailboxOwner? {
        try mailboxOwners([address], db: db).first
    }
}

extension LinkStore {
    /// The links of these CRM rows in every mailbox.
    public static func links(
        kind: ItemKind, crmIDs: [UUID], db: isolated PostgresConnection
    ) throws(PostgresError)
        -> [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]]
    {
        guard !crmIDs.isEmpty else { return [:] }
        var result: [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]] = [:]
        for row in try db.query(
            """
            SELECT crm_id, mailbox, item_id, change_key, crm_version FROM sync.links WHERE kind = $1 AND crm_id = ANY($2::uuid[])
            """, [kind.rawValue, crmIDs])
        {
            result[try row.decode(UUID.self, at: 0), default: []].append(
                (
                    try row.decode(at: 1), MailboxItemRef(id: try row.decode(at: 2), changeKey: try row.decode(at: 3)),
                    try row.decode(at: 4)
                ))
        }
        return result
    }

    /// The links of these items of one mailbox folder, keyed by item id.
    public static func links(
        mailbox: String, kind: ItemKind, itemIDs: [String], db: isolated PostgresConnection
    ) throws(PostgresError)
        -> [String: (crmID: UUID, changeKey: String?, version: Int64)]
    {
        guard !itemIDs.isEmpty else { return [:] }
        var result: [String: (crmID: UUID, changeKey: String?, version: Int64)] = [:]
        for row in try db.query(
            """
            SELECT item_id, crm_id, change_key, crm_version FROM sync.links WHERE mailbox = $1 AND kind = $2 AND item_id = ANY($3::text[])
            """, [mailbox, kind.rawValue, itemIDs])
        {
            result[try row.decode(String.self, at: 0)] = (
                try row.decode(at: 1), try row.decode(at: 2), try row.decode(at: 3)
            )
        }
        return result
    }
}

extension CRMStore {
    /// Version and last update of these rows (missing: deleted).
    public static func versions(
        _ kind: ItemKind, ids: [UUID], db: isolated PostgresConnection
    ) throws(PostgresError) -> [UUID: (version: Int64, updatedAt: Date)] {
        guard !ids.isEmpty, kind != .contacts else { return [:] }
        let table = InboundStore.crmTable(kind)
        var result: [UUID: (version: Int64, updatedAt: Date)] = [:]
        for row in try db.query("SELECT id, version, updated_at FROM \(table) WHERE id = ANY($1::uuid[])", [ids]) {
            result[try row.decode(UUID.self, at: 0)] = (try row.decode(at: 1), try row.decode(at: 2))
        }
        return result
    }
}

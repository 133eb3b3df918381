import Foundation
import Postgres
import SyncCore

/// Bulk-writes CRM rows with COPY (demo data, benchmarks, tests, and restoring CRM rows in bulk).
public enum CRMWriter {
    public static func insert(users: [CRMUser], db: isolated PostgresConnection) throws {
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "users"), columns: ["id", "login", "display_name", "mailbox"]
        ) { w in
            for u in users {
                w.append(u.id); w.append(u.login); w.append(u.displayName); w.append(u.mailbox); try w.endRow()
            }
        }
    }

    public static func insert(contacts: [CRMContact], db: isolated PostgresConnection) throws {
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "contacts"),
            columns: [
                "id", "given_name", "surname", "display_name", "company", "job_title", "email1", "email2", "email3",
                "business_phone",
                "mobile_phone", "home_phone", "street", "city", "state", "postal_code", "country", "notes", "birthday",
                "categories",
                "updated_at", "version",
            ]
        ) { w in
            for c in contacts {
                w.append(c.id); w.append(c.givenName); w.append(c.surname); w.append(c.displayName); w.append(c.company)
                w.append(c.jobTitle); w.append(c.email1); w.append(c.email2); w.append(c.email3);
                w.append(c.businessPhone)
                w.append(c.mobilePhone); w.append(c.homePhone); w.append(c.street); w.append(c.city); w.append(c.state)
                w.append(c.postalCode); w.append(c.country); w.append(c.notes); w.append(c.birthday?.postgres)
                w.append(c.categories); w.append(c.updatedAt); w.append(c.version)
                try w.endRow()
            }
        }
    }

    public static func insert(coverage: [(userID: UUID, contactID: UUID)], db: isolated PostgresConnection) throws {
        _ = try db.copy(into: PostgresIdentifier(schema: "crm", "coverage"), columns: ["user_id", "contact_id"]) { w in
            for c in coverage { w.append(c.userID); w.append(c.contactID); try w.endRow() }
        }
    }

    public static func insert(appointments: [CRMAppointment], db: isolated PostgresConnection) throws {
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "appointments"),
            columns: [
                "id", "owner_id", "subject", "location", "body", "starts_at", "ends_at", "is_all_day", "time_zone",
                "is_private",
                "categories", "ical_uid", "recurrence", "updated_at", "version",
            ]
        ) { w in
            for a in appointments {
                w.append(a.id); w.append(a.ownerID); w.append(a.subject); w.append(a.location); w.append(a.body)
                w.append(a.startsAt); w.append(a.endsAt); w.append(a.isAllDay); w.append(a.timeZone);
                w.append(a.isPrivate)
                w.append(a.categories); w.append(a.icalUID); w.append(a.recurrence); w.append(a.updatedAt);
                w.append(a.version)
                try w.endRow()
            }
        }
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "appointment_exceptions"),
            columns: [
                "appointment_id", "original_start", "is_cancelled", "subject", "location", "starts_at", "ends_at",
            ]
        ) { w in
            for a in appointments {
                for e in a.exceptions {
                    w.append(a.id); w.append(e.originalStart); w.append(e.isCancelled); w.append(e.subject)
                    w.append(e.location); w.append(e.startsAt); w.append(e.endsAt)
                    try w.endRow()
                }
            }
        }
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "appointment_attendees"),
            columns: [
                "appointment_id", "email", "name", "kind", "contact_id",
            ]
        ) { w in
            for a in appointments {
                for t in a.attendees {
                    w.append(a.id); w.append(t.email); w.append(t.name); w.append(t.kind.rawValue);
                    w.append(t.contactID)
                    try w.endRow()
                }
            }
        }
    }

    public static func insert(tasks: [CRMTask], db: isolated PostgresConnection) throws {
        _ = try db.copy(
            into: PostgresIdentifier(schema: "crm", "tasks"),
            columns: [
                "id", "owner_id", "subject", "body", "starts_on", "due_on", "status", "percent_complete", "importance",
                "completed_at", "categories", "updated_at", "version",
            ]
        ) { w in
            for t in tasks {
                w.append(t.id); w.append(t.ownerID); w.append(t.subject); w.append(t.body);
                w.append(t.startsOn?.postgres)
                w.append(t.dueOn?.postgres); w.append(t.status.rawValue); w.append(t.percentComplete)
                w.append(t.importance.rawValue); w.append(t.completedAt); w.append(t.categories); w.append(t.updatedAt)
                w.append(t.version)
                try w.endRow()
            }
        }
    }
}

import Foundation
import Postgres
import SyncCore

/// The fields an inbound snapshot COPYs of a record, shared by staging (`copy`) and the rows created as paged
/// (`createDirectly`), so that both write the columns of ``InboundStore/mergedColumns(_:)`` in its order and keep
/// the same children of an appointment.
extension InboundStore {
    /// The columns of an appointment exception after its key (the appointment, or the staged item).
    static let exceptionColumns = ["original_start", "is_cancelled", "subject", "location", "starts_at", "ends_at"]
    /// The columns of an attendee after its key, as staged (the CRM row adds `contact_id`).
    static let attendeeColumns = ["email", "name", "kind"]

    /// Appends the appointment's ``mergedColumns(_:)`` fields.
    static func appendMergedFields(of a: CRMAppointment, to writer: inout PostgresBinaryCopyWriter) {
        writer.append(a.ownerID); writer.append(a.subject); writer.append(a.location); writer.append(a.body)
        writer.append(a.startsAt); writer.append(a.endsAt); writer.append(a.isAllDay); writer.append(a.timeZone)
        writer.append(a.isPrivate); writer.append(a.categories); writer.append(a.icalUID); writer.append(a.recurrence)
    }

    /// Appends the task's ``mergedColumns(_:)`` fields.
    static func appendMergedFields(of t: CRMTask, to writer: inout PostgresBinaryCopyWriter) {
        writer.append(t.ownerID); writer.append(t.subject); writer.append(t.body); writer.append(t.startsOn?.postgres)
        writer.append(t.dueOn?.postgres); writer.append(t.status.rawValue);
        writer.append(Int32(clamping: t.percentComplete))
        writer.append(t.importance.rawValue); writer.append(t.completedAt); writer.append(t.categories)
    }

    /// Writes a row for each exception of the appointment whose original start came first (one per occurrence):
    /// `key`, then the ``exceptionColumns`` fields.
    static func forEachException(
        of a: CRMAppointment, to writer: inout PostgresBinaryCopyWriter,
        key: (inout PostgresBinaryCopyWriter) -> Void
    ) throws {
        var seen = Set<Date>()
        for e in a.exceptions where seen.insert(e.originalStart).inserted {
            key(&writer)
            writer.append(e.originalStart); writer.append(e.isCancelled); writer.append(e.subject);
            writer.append(e.location)
            writer.append(e.startsAt); writer.append(e.endsAt)
            try writer.endRow()
        }
    }

    /// Writes a row for each attendee of the appointment whose address (case-insensitively) came first: `key`, the
    /// ``attendeeColumns`` fields, then `rest` (nothing for staging, the contact for the CRM row).
    static func forEachAttendee(
        of a: CRMAppointment, to writer: inout PostgresBinaryCopyWriter,
        key: (inout PostgresBinaryCopyWriter) -> Void,
        rest: (CRMAttendee, inout PostgresBinaryCopyWriter) -> Void = { _, _ in }
    ) throws {
        var seen = Set<String>()
        for attendee in a.attendees where seen.insert(attendee.email.lowercased()).inserted {
            key(&writer)
            writer.append(attendee.email); writer.append(attendee.name); writer.append(attendee.kind.rawValue)
            rest(attendee, &writer)
            try writer.endRow()
        }
    }
}

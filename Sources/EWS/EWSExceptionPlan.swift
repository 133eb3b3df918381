import Foundation
import SyncCore
import XML

/// The occurrence requests that give a recurring series in Exchange the exceptions of its CRM record.
///
/// Exchange has no writable property for exceptions: each one is a request on an occurrence of the
/// series (`t:OccurrenceItemId`, addressed by its 1-based position in the pattern): a cancelled
/// occurrence is deleted (DeleteItem), a moved or changed one is updated (UpdateItem) with its Start
/// and End, and its Subject and Location when the exception has its own. The plan is computed before
/// anything is written, so an exception that does not fit its series fails the record up front.
public enum EWSExceptionPlan {
    /// One request on one occurrence.
    public enum Operation: Sendable, Hashable {
        /// UpdateItem of the occurrence with these `Updates` (SetItemField elements).
        case modify(instanceIndex: Int, updates: [UInt8])
        /// DeleteItem of the occurrence.
        case delete(instanceIndex: Int)

        /// The occurrence's position in the series.
        public var instanceIndex: Int {
            switch self {
            case .modify(let index, _), .delete(let index): index
            }
        }

        /// The `Updates` of a modification, nil for a deletion.
        public var updates: [UInt8]? {
            if case .modify(_, let updates) = self { return updates }
            return nil
        }
    }

    /// The operations for `record`'s exceptions: deletions first (a deleted occurrence no longer bounds
    /// where its neighbour may move), then modifications, each in series order. Empty when the record
    /// has no exceptions. Throws ``EWSError/Code/exceptionsNotApplied(reason:cause:)`` when an
    /// exception is not on an occurrence of the series, two exceptions name one occurrence, an
    /// exception ends before it starts, or the record has exceptions but no recurrence.
    public static func operations(
        for record: CRMAppointment, operation: String = "UpdateItem",
        mailbox: String? = nil
    ) throws(EWSError) -> [Operation] {
        guard !record.exceptions.isEmpty else { return [] }
        func failure(_ reason: String) -> EWSError {
            EWSError(
                code: .exceptionsNotApplied(reason: reason, cause: nil), operation: operation, mailbox: mailbox,
                itemID: record.id.lowercasedString, message: "")
        }
        guard let text = record.recurrence, !text.isEmpty else {
            throw failure("exceptions on an appointment without recurrence")
        }
        guard let rule = try? RecurrenceRule(rrule: text) else { throw failure("unsupported recurrence") }
        let seriesStart = LocalDate(utcDateOf: record.startsAt)
        let duration = record.endsAt.timeIntervalSince(record.startsAt)
        let exceptions = record.exceptions.sorted { $0.originalStart < $1.originalStart }
        var deletions: [Operation] = [], modifications: [Operation] = [], seen = Set<Int>()
        for (position, exception) in exceptions.enumerated() {
            let number = "exception \(position + 1) of \(exceptions.count)"
            guard
                let index = rule.occurrenceIndex(
                    of: LocalDate(utcDateOf: exception.originalStart), seriesStart: seriesStart)
            else {
                throw failure("\(number) is not on an occurrence of the series")
            }
            guard seen.insert(index).inserted else { throw failure("\(number) names occurrence \(index) again") }
            if exception.isCancelled {
                deletions.append(.delete(instanceIndex: index))
                continue
            }
            let start = exception.startsAt ?? exception.originalStart
            let end = exception.endsAt ?? start.addingTimeInterval(duration)
            guard end >= start else { throw failure("\(number) ends before it starts") }
            modifications.append(
                .modify(
                    instanceIndex: index,
                    updates: updates(
                        start: start, end: end, subject: exception.subject,
                        location: exception.location)))
        }
        return deletions + modifications
    }

    /// SetItemField of Start and End (always: they make the occurrence an exception even when only
    /// its subject changed) and of Subject and Location when given.
    static func updates(start: Date, end: Date, subject: String?, location: String?) -> [UInt8] {
        var writer = XMLWriter(declaration: false, reservingCapacity: 512)
        func set(_ uri: String, _ element: String, _ value: String) {
            writer.element("t:SetItemField") { w in
                EWSFieldURI.field(uri).write(into: &w)
                w.element("t:CalendarItem") { $0.element(element, text: value) }
            }
        }
        if let subject, !subject.isEmpty { set("item:Subject", "t:Subject", subject) }
        set("calendar:Start", "t:Start", ISO8601.format(start))
        set("calendar:End", "t:End", ISO8601.format(end))
        if let location, !location.isEmpty { set("calendar:Location", "t:Location", location) }
        return writer.bytes
    }

    /// Whether updating `previous` to `record` writes the series again: the record is a series and its
    /// exceptions, rule, start or end changed, or the previous version is unknown. The Recurrence is
    /// then set again, which resets the occurrences in Exchange (restoring those whose exception the
    /// CRM dropped), and every exception is applied anew.
    public static func rewritesSeries(from previous: CRMAppointment?, to record: CRMAppointment) -> Bool {
        guard let text = record.recurrence, !text.isEmpty else { return false }
        guard let previous else { return true }
        return previous.recurrence != record.recurrence || previous.startsAt != record.startsAt
            || previous.endsAt != record.endsAt
            || Set(previous.exceptions) != Set(record.exceptions)
    }
}

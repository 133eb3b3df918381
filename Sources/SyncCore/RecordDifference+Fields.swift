import Foundation

// The comparison tables: one row per mapped field of a kind, with the normalization that field needs.
// Names and coverage follow the EWS mapping tables (Sources/EWS/EWSMapping+Tables.swift); a test in the
// EWS tests checks that both name the same fields.

extension RecordDifference {
    /// One compared field: its name and when two records agree on it.
    struct Field<Record>: Sendable {
        let name: String
        let same: @Sendable (Record, Record) -> Bool

        init(_ name: String, _ same: @escaping @Sendable (Record, Record) -> Bool) {
            self.name = name
            self.same = same
        }

        static func text(_ name: String, _ key: any KeyPath<Record, String?> & Sendable) -> Self {
            Self(name) { sameText($0[keyPath: key], $1[keyPath: key]) }
        }

        static func text(_ name: String, _ key: any KeyPath<Record, String> & Sendable) -> Self {
            Self(name) { sameText($0[keyPath: key], $1[keyPath: key]) }
        }

        static func value<V: Equatable & Sendable>(_ name: String, _ key: any KeyPath<Record, V> & Sendable) -> Self {
            Self(name) { $0[keyPath: key] == $1[keyPath: key] }
        }

        static func instant(_ name: String, _ key: any KeyPath<Record, Date?> & Sendable) -> Self {
            Self(name) { sameInstant($0[keyPath: key], $1[keyPath: key]) }
        }

        static func instant(_ name: String, _ key: any KeyPath<Record, Date> & Sendable) -> Self {
            Self(name) { sameInstant($0[keyPath: key], $1[keyPath: key]) }
        }

        static func categories(_ key: any KeyPath<Record, [String]> & Sendable) -> Self {
            Self("categories") { Set($0[keyPath: key]) == Set($1[keyPath: key]) }
        }
    }

    static let contactFields: [Field<CRMContact>] = [
        .text("display_name", \.displayName),
        .text("given_name", \.givenName),
        .text("surname", \.surname),
        .text("company", \.company),
        .text("job_title", \.jobTitle),
        .text("email1", \.email1),
        .text("email2", \.email2),
        .text("email3", \.email3),
        .text("business_phone", \.businessPhone),
        .text("mobile_phone", \.mobilePhone),
        .text("home_phone", \.homePhone),
        .text("street", \.street),
        .text("city", \.city),
        .text("state", \.state),
        .text("postal_code", \.postalCode),
        .text("country", \.country),
        .text("notes", \.notes),
        .value("birthday", \.birthday),
        .categories(\.categories),
    ]

    static let appointmentFields: [Field<CRMAppointment>] = [
        .text("subject", \.subject),
        .text("location", \.location),
        .text("body", \.body),
        .instant("starts_at", \.startsAt),
        .instant("ends_at", \.endsAt),
        .value("is_all_day", \.isAllDay),
        Field("time_zone") { sameTimeZone($0.timeZone, $1.timeZone) },
        .value("is_private", \.isPrivate),
        .categories(\.categories),
        .text("ical_uid", \.icalUID),
        Field("recurrence") {
            sameRecurrence($0.recurrence, seriesStart: $0.startsAt, $1.recurrence, seriesStart: $1.startsAt)
        },
        Field("appointment_exceptions") {
            sameExceptions(
                $0.exceptions, duration: second($0.endsAt) - second($0.startsAt),
                $1.exceptions, duration: second($1.endsAt) - second($1.startsAt))
        },
        Field("appointment_attendees") { sameAttendees($0.attendees, $1.attendees) },
    ]

    static let taskFields: [Field<CRMTask>] = [
        .text("subject", \.subject),
        .text("body", \.body),
        .value("starts_on", \.startsOn),
        .value("due_on", \.dueOn),
        .value("status", \.status),
        .value("percent_complete", \.percentComplete),
        .value("importance", \.importance),
        .instant("completed_at", \.completedAt),
        .categories(\.categories),
    ]

    // MARK: normalizations

    /// Text as it reads back: without the characters Exchange cannot hold (``ExchangeText``), nil for "", line ends as LF.
    static func normalizedText(_ text: String?) -> String? {
        guard let text = text.map(ExchangeText.stored), !text.isEmpty else { return nil }
        guard text.contains("\r") else { return text }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    static func sameText(_ lhs: String?, _ rhs: String?) -> Bool { normalizedText(lhs) == normalizedText(rhs) }

    /// Names of UTC as sources write it; an appointment without a zone is in UTC (``CRMAppointment/timeZone``).
    public static let utcNames: Set<String> = ["utc", "etc/utc", "coordinated universal time", "tzone://microsoft/utc"]

    /// Time zones compare as text, except that no zone and UTC (Graph always names an event's zone) are alike.
    static func sameTimeZone(_ lhs: String?, _ rhs: String?) -> Bool {
        func zone(_ name: String?) -> String? {
            guard let name = normalizedText(name), !utcNames.contains(name.lowercased()) else { return nil }
            return name
        }
        return zone(lhs) == zone(rhs)
    }

    /// Whole seconds since 1970 (rounded down, so that 12:00:00.900 and 12:00:00 agree).
    static func second(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    static func sameInstant(_ lhs: Date?, _ rhs: Date?) -> Bool { lhs.map(second) == rhs.map(second) }

    /// Attendees keyed by lowercased email: the same addresses with the same kinds, and the same name
    /// where both sides have one that is not just the address.
    static func sameAttendees(_ lhs: [CRMAttendee], _ rhs: [CRMAttendee]) -> Bool {
        func keyed(_ attendees: [CRMAttendee]) -> [String: (kinds: Set<AttendeeKind>, names: Set<String>)] {
            var result: [String: (kinds: Set<AttendeeKind>, names: Set<String>)] = [:]
            for attendee in attendees {
                let email = attendee.email.lowercased()
                result[email, default: ([], [])].kinds.insert(attendee.kind)
                if let name = normalizedText(attendee.name), name.lowercased() != email {
                    result[email, default: ([], [])].names.insert(name)
                }
            }
            return result
        }
        let left = keyed(lhs), right = keyed(rhs)
        guard Set(left.keys) == Set(right.keys) else { return false }
        return left.allSatisfy { email, entry in
            let other = right[email]!
            return entry.kinds == other.kinds
                && (entry.names.isEmpty || other.names.isEmpty || entry.names == other.names)
        }
    }

    /// Exceptions keyed by original start (to the second): the same occurrences, cancelled or moved
    /// alike, and moved occurrences at the same times. An exception without its own start keeps its
    /// original start, one without its own end lasts as long as the series (`duration`, seconds), as
    /// Exchange reads them back.
    static func sameExceptions(
        _ lhs: [CRMAppointmentException], duration lhsDuration: Int64,
        _ rhs: [CRMAppointmentException], duration rhsDuration: Int64
    ) -> Bool {
        struct Occurrence: Hashable {
            var isCancelled: Bool
            var start: Int64?
            var end: Int64?
        }
        func keyed(_ exceptions: [CRMAppointmentException], _ duration: Int64) -> [Int64: Occurrence] {
            var result: [Int64: Occurrence] = [:]
            for exception in exceptions {
                let original = second(exception.originalStart)
                let start = second(exception.startsAt ?? exception.originalStart)
                result[original] =
                    exception.isCancelled
                    ? Occurrence(isCancelled: true)
                    : Occurrence(
                        isCancelled: false, start: start, end: exception.endsAt.map(second) ?? start + duration)
            }
            return result
        }
        return keyed(lhs, lhsDuration) == keyed(rhs, rhsDuration)
    }

    /// Recurrences as the rules Exchange would store for each series start; unparsable rules compare as
    /// text.
    public static func sameRecurrence(
        _ lhs: String?, seriesStart lhsStart: Date, _ rhs: String?, seriesStart rhsStart: Date
    ) -> Bool {
        let left = normalizedText(lhs)?.trimmingCharacters(in: .whitespacesAndNewlines)
        let right = normalizedText(rhs)?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let left, let right, !left.isEmpty, !right.isEmpty else {
            return (left ?? "").isEmpty && (right ?? "").isEmpty
        }
        guard let leftRule = try? RecurrenceRule(rrule: left), let rightRule = try? RecurrenceRule(rrule: right) else {
            return left == right
        }
        return leftRule.normalized(seriesStart: LocalDate(utcDateOf: lhsStart))
            == rightRule.normalized(seriesStart: LocalDate(utcDateOf: rhsStart))
    }
}

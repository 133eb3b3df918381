import Foundation

/// The mapped fields in which two versions of a record differ, as `snapsync verify` reports them and
/// conflict detection needs them (which fields changed on each side since the last sync).
///
/// Only fields that travel to and from the mailbox are compared (the columns of the EWS mapping tables),
/// after the normalizations a round trip through Exchange implies, so that a record written to Exchange
/// and read back compares equal to itself:
/// - text: nil and "" are alike; line ends compare equal as CRLF, CR or LF (XML parsers normalize them);
/// - timestamps: to the whole second;
/// - categories: as a set;
/// - attendees: as a set keyed by lowercased email, with their kind; a name counts only when both sides
///   have one (Exchange fills in the address as the name when none was given);
/// - exceptions: keyed by original start; a cancelled occurrence's times and every exception's subject
///   and location are not compared (Exchange reads modified occurrences as start and end only); an
///   exception without its own start or end has its original start and the series' duration;
/// - recurrence: as the rule Exchange would store for the series start (see
///   ``RecurrenceRule/normalized(seriesStart:)``), not as text.
///
/// Never compared: the record id (the caller has matched the records), `updatedAt`, `version`, the
/// owner (implied by the mailbox) and attendee `contactID` links (set by the pipeline).
///
/// ``fields`` holds field names (CRM column names; attendees and exceptions by their table name), never
/// values, so the difference can be logged.
public struct RecordDifference: Sendable, Hashable, CustomStringConvertible {
    /// The kind of the records compared (of the first when the kinds differ).
    public var kind: ItemKind
    /// The differing fields, in the order of ``fields(of:)``; `["kind"]` when the records are of
    /// different kinds.
    public var fields: [String]

    /// Compares two versions of a record.
    public init(_ lhs: MailboxRecord, _ rhs: MailboxRecord) {
        kind = lhs.kind
        switch (lhs, rhs) {
        case (.contact(let a), .contact(let b)): fields = Self.differing(Self.contactFields, a, b)
        case (.appointment(let a), .appointment(let b)): fields = Self.differing(Self.appointmentFields, a, b)
        case (.task(let a), .task(let b)): fields = Self.differing(Self.taskFields, a, b)
        default: fields = ["kind"]
        }
    }

    /// True when no mapped field differs.
    public var isEmpty: Bool { fields.isEmpty }

    /// Whether `field` differs.
    public func contains(_ field: String) -> Bool { fields.contains(field) }

    /// The names of the fields compared for `kind`, in report order.
    public static func fields(of kind: ItemKind) -> [String] {
        switch kind {
        case .contacts: contactFields.map(\.name)
        case .appointments: appointmentFields.map(\.name)
        case .tasks: taskFields.map(\.name)
        }
    }

    public var description: String {
        isEmpty
            ? "\(kind.rawValue): no mapped field differs" : "\(kind.rawValue): \(fields.joined(separator: ", ")) differ"
    }

    static func differing<R>(_ table: [Field<R>], _ lhs: R, _ rhs: R) -> [String] {
        table.compactMap { $0.same(lhs, rhs) ? nil : $0.name }
    }
}

extension MailboxRecord {
    /// The mapped fields in which `other` differs from this record (see ``RecordDifference``).
    public func difference(from other: MailboxRecord) -> RecordDifference { RecordDifference(self, other) }
}

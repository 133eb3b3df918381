import Foundation
import SyncCore
import XML

/// A property path as EWS names it in shapes, restrictions and updates.
public enum EWSFieldURI: Sendable, Hashable {
    /// `<t:FieldURI FieldURI="item:Subject"/>`.
    case field(String)
    /// `<t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/>`.
    case indexed(String, index: String)
    /// `<t:ExtendedFieldURI PropertySetId=… PropertyName=… PropertyType=…/>`.
    case extended(ExtendedPropertyName)

    /// Writes the path element.
    public func write(into writer: inout XMLWriter) {
        switch self {
        case .field(let uri):
            writer.startElement("t:FieldURI", attributes: ["FieldURI": uri])
        case .indexed(let uri, let index):
            writer.startElement("t:IndexedFieldURI", attributes: ["FieldURI": uri, "FieldIndex": index])
        case .extended(let name):
            writer.startElement(
                "t:ExtendedFieldURI",
                attributes: [
                    "PropertySetId": name.propertySetId, "PropertyName": name.propertyName,
                    "PropertyType": name.propertyType,
                ])
        }
        writer.endElement()
    }

    /// The property as messages name it: `Start (calendar:Start)`, `EmailAddress1 (contacts:EmailAddress)`.
    var name: String {
        switch self {
        case .field(let uri): "\(uri.split(separator: ":").last.map(String.init) ?? uri) (\(uri))"
        case .indexed(let uri, let index): "\(index) (\(uri))"
        case .extended(let property): property.propertyName
        }
    }
}

/// A wrapper element between an item element and a field (e.g. `t:PhysicalAddresses`, then
/// `t:Entry Key="Business"`).
struct EWSContainer: Sendable, Hashable {
    var element: String
    var key: String?
}

/// One row of a mapping table: a CRM column, the EWS property it maps to, and how to move the value
/// between the CRM record, the EWS model and the request XML.
///
/// The tables (``EWSMapping``) are the single place where the mapping of a kind is declared; request
/// building (CreateItem, SetItemField/DeleteItemField per changed field), shapes (AdditionalProperties),
/// decoding (model → CRM) and the changed-field test of updates are all derived from them. Comparing
/// records for `verify` and conflicts is SyncCore's ``RecordDifference``, which covers the same fields (a
/// test checks that both name the same columns).
public final class EWSFieldRule<Record, Model>: @unchecked Sendable {
    // @unchecked: immutable after construction; the closures are pure functions of their arguments. A class: the
    // decoder and the request builders walk a table of rules per item, and copying a rule retained each closure.

    /// The CRM column (as in the `crm` schema; attendee/exception rules name their table and kind).
    public let column: String
    /// The EWS property.
    public let fieldURI: EWSFieldURI
    /// False for properties Exchange computes (they are read, never written).
    public let isWritable: Bool
    let containers: [EWSContainer]
    let hasValue: (Model) -> Bool
    let writeValue: (Model, inout XMLWriter) -> Void
    let toModel: (Record, inout Model) throws -> Void
    let toRecord: (Model, inout Record) -> Void
    let sameInRecords: (Record, Record) -> Bool
    /// Why an item read from Exchange cannot give this column its value (a required value missing, a value outside
    /// the property's set); nil when it can. Names the property, never the value.
    let problem: ((Model) -> String?)?

    init(
        column: String, fieldURI: EWSFieldURI, isWritable: Bool = true, containers: [EWSContainer] = [],
        hasValue: @escaping (Model) -> Bool, writeValue: @escaping (Model, inout XMLWriter) -> Void,
        toModel: @escaping (Record, inout Model) throws -> Void, toRecord: @escaping (Model, inout Record) -> Void,
        sameInRecords: @escaping (Record, Record) -> Bool, problem: ((Model) -> String?)? = nil
    ) {
        self.problem = problem
        self.column = column
        self.fieldURI = fieldURI
        self.isWritable = isWritable
        self.containers = containers
        self.hasValue = hasValue
        self.writeValue = writeValue
        self.toModel = toModel
        self.toRecord = toRecord
        self.sameInRecords = sameInRecords
    }

    /// A rule between a CRM property of type `C` and an optional EWS model property of type `E`. A `required` property
    /// (one every item of the kind has in Exchange) missing, or a value `accepts` refuses, makes an item read from
    /// Exchange unmappable (``EWSMapping/problem(in:)``) instead of reading as `toCRM`'s fallback.
    static func map<C: Equatable, E>(
        _ column: String, _ fieldURI: EWSFieldURI, in containers: [EWSContainer] = [],
        crm: WritableKeyPath<Record, C>, ews: WritableKeyPath<Model, E?>,
        toEWS: @escaping (C) -> E?, toCRM: @escaping (E?) -> C, required: Bool = false, accepts: ((E) -> Bool)? = nil,
        write: @escaping (E, inout XMLWriter) -> Void
    ) -> Self {
        var problem: ((Model) -> String?)?
        if required || accepts != nil {
            problem = { model in
                guard let value = model[keyPath: ews] else {
                    return required ? "required field \(fieldURI.name) is missing" : nil
                }
                return accepts?(value) == false ? "field \(fieldURI.name) has a value Exchange does not define" : nil
            }
        }
        return Self(
            column: column, fieldURI: fieldURI, containers: containers,
            hasValue: { $0[keyPath: ews] != nil },
            writeValue: { model, writer in if let value = model[keyPath: ews] { write(value, &writer) } },
            toModel: { record, model in model[keyPath: ews] = toEWS(record[keyPath: crm]) },
            toRecord: { model, record in record[keyPath: crm] = toCRM(model[keyPath: ews]) },
            sameInRecords: { $0[keyPath: crm] == $1[keyPath: crm] }, problem: problem)
    }

    /// An optional text column ↔ an optional text element.
    static func text(
        _ column: String, _ fieldURI: EWSFieldURI, in containers: [EWSContainer] = [], element: String,
        key: String? = nil, crm: WritableKeyPath<Record, String?>, ews: WritableKeyPath<Model, String?>
    ) -> Self {
        map(
            column, fieldURI, in: containers, crm: crm, ews: ews, toEWS: { $0?.nonEmpty }, toCRM: { $0?.nonEmpty },
            write: EWSWrite.text(element, key: key))
    }

    /// A required text column ↔ an optional text element (absent reads as "").
    static func requiredText(
        _ column: String, _ fieldURI: EWSFieldURI, element: String,
        crm: WritableKeyPath<Record, String>, ews: WritableKeyPath<Model, String?>
    ) -> Self {
        map(
            column, fieldURI, crm: crm, ews: ews, toEWS: { $0.nonEmpty }, toCRM: { $0 ?? "" },
            write: EWSWrite.text(element))
    }

    /// An optional body column ↔ `t:Body BodyType="Text"`. Line ends compare equal as CRLF, CR or LF:
    /// XML parsers (ours, Exchange's) normalize them, so a body never reads back byte for byte.
    static func body(
        _ column: String, crm: WritableKeyPath<Record, String?>, ews: WritableKeyPath<Model, String?>
    ) -> Self {
        let rule = map(
            column, .field("item:Body"), crm: crm, ews: ews, toEWS: { $0?.nonEmpty }, toCRM: { $0?.nonEmpty }
        ) { value, writer in
            writer.element("t:Body", attributes: ["BodyType": "Text"], text: value)
        }
        return Self(
            column: rule.column, fieldURI: rule.fieldURI, hasValue: rule.hasValue, writeValue: rule.writeValue,
            toModel: rule.toModel, toRecord: rule.toRecord,
            sameInRecords: { $0[keyPath: crm]?.normalizedLineEnds == $1[keyPath: crm]?.normalizedLineEnds })
    }

    /// `text[]` ↔ `t:Categories`.
    static func categories(crm: WritableKeyPath<Record, [String]>, ews: WritableKeyPath<Model, [String]>) -> Self {
        Self(
            column: "categories", fieldURI: .field("item:Categories"),
            hasValue: { !$0[keyPath: ews].isEmpty },
            writeValue: { model, writer in
                writer.element("t:Categories") { w in for c in model[keyPath: ews] { w.element("t:String", text: c) } }
            },
            toModel: { record, model in model[keyPath: ews] = record[keyPath: crm] },
            toRecord: { model, record in record[keyPath: crm] = model[keyPath: ews] },
            sameInRecords: { $0[keyPath: crm] == $1[keyPath: crm] })
    }

    /// The CRM id ↔ the snapsync extended property (makes creates findable, see `findItems(byCRMIDs:)`). An item
    /// without it (created in Outlook) reads with the nil UUID: its CRM id is the match's to decide, and drawing a
    /// random one per item was 6% of an inbound snapshot's CPU time in snapsync.
    static func crmID(crm: WritableKeyPath<Record, UUID>, ews: WritableKeyPath<Model, UUID?>) -> Self {
        map("id", .extended(.snapsyncCRMId), crm: crm, ews: ews, toEWS: { $0 }, toCRM: { $0 ?? EWSMappings.nilUUID }) {
            value, writer in
            writer.element("t:ExtendedProperty") { w in
                EWSFieldURI.extended(.snapsyncCRMId).write(into: &w)
                w.element("t:Value", text: value.lowercasedString)
            }
        }
    }

    /// A timestamp column (not null) ↔ a dateTime element every item of the kind has: an item without it is not mapped.
    static func instant(
        _ column: String, _ fieldURI: EWSFieldURI, element: String,
        crm: WritableKeyPath<Record, Date>, ews: WritableKeyPath<Model, Date?>
    ) -> Self {
        map(
            column, fieldURI, crm: crm, ews: ews, toEWS: { $0 }, toCRM: { $0 ?? Date(timeIntervalSince1970: 0) },
            required: true
        ) { value, writer in
            writer.element(element, text: ISO8601.format(value))
        }
    }

    /// An optional timestamp column ↔ a dateTime element.
    static func optionalInstant(
        _ column: String, _ fieldURI: EWSFieldURI, element: String,
        crm: WritableKeyPath<Record, Date?>, ews: WritableKeyPath<Model, Date?>
    ) -> Self {
        map(column, fieldURI, crm: crm, ews: ews, toEWS: { $0 }, toCRM: { $0 }) { value, writer in
            writer.element(element, text: ISO8601.format(value))
        }
    }

    /// A `date` column ↔ a dateTime element (see ``EWSDateOnly``).
    static func day(
        _ column: String, _ fieldURI: EWSFieldURI, element: String,
        crm: WritableKeyPath<Record, LocalDate?>, ews: WritableKeyPath<Model, Date?>
    ) -> Self {
        map(
            column, fieldURI, crm: crm, ews: ews, toEWS: { $0.map(EWSDateOnly.instant(for:)) },
            toCRM: { $0.map(EWSDateOnly.date(of:)) }
        ) {
            value, writer in writer.element(element, text: ISO8601.format(value))
        }
    }
}

/// How date-only CRM values travel in EWS dateTime properties (Birthday, task StartDate/DueDate).
///
/// snapsync writes noon UTC, which shows as the same calendar day in every zone from UTC-11 to UTC+11.
/// Reading accepts both that and what Outlook writes (local midnight converted to UTC): a time between
/// 10:00 and 14:00 UTC is read as its UTC date, anything else is rounded to the nearest midnight.
public enum EWSDateOnly {
    /// Noon UTC of `date`.
    public static func instant(for date: LocalDate) -> Date {
        date.startOfDayUTC.addingTimeInterval(12 * 3600)
    }

    /// The calendar day an EWS dateTime stands for.
    public static func date(of instant: Date) -> LocalDate {
        let seconds = instant.timeIntervalSince1970
        let secondOfDay = seconds - (seconds / 86_400).rounded(.down) * 86_400
        if (10 * 3600...14 * 3600).contains(secondOfDay) { return LocalDate(utcDateOf: instant) }
        return LocalDate(utcDateOf: instant.addingTimeInterval(12 * 3600))
    }
}

/// Element writers shared by the tables.
enum EWSWrite {
    static func text(_ element: String, key: String? = nil) -> (String, inout XMLWriter) -> Void {
        if let key {
            return { value, writer in writer.element(element, attributes: ["Key": key], text: value) }
        }
        return { value, writer in writer.element(element, text: value) }
    }

    static func attendees(_ element: String, _ attendees: [EWSAttendee], into writer: inout XMLWriter) {
        writer.element(element) { w in
            for attendee in attendees {
                w.element("t:Attendee") { w in
                    w.element("t:Mailbox") { w in
                        if let name = attendee.name { w.element("t:Name", text: name) }
                        w.element("t:EmailAddress", text: attendee.emailAddress)
                        w.element("t:RoutingType", text: "SMTP")
                    }
                }
            }
        }
    }

    static func recurrence(_ recurrence: EWSRecurrence, into writer: inout XMLWriter) {
        writer.element("t:Recurrence") { w in
            switch recurrence.pattern {
            case .daily(let interval):
                w.element("t:DailyRecurrence") { $0.element("t:Interval", text: String(interval)) }
            case .weekly(let interval, let days, let first):
                w.element("t:WeeklyRecurrence") { w in
                    w.element("t:Interval", text: String(interval))
                    w.element("t:DaysOfWeek", text: days.joined(separator: " "))
                    if let first { w.element("t:FirstDayOfWeek", text: first) }
                }
            case .absoluteMonthly(let interval, let day):
                w.element("t:AbsoluteMonthlyRecurrence") { w in
                    w.element("t:Interval", text: String(interval))
                    w.element("t:DayOfMonth", text: String(day))
                }
            case .relativeMonthly(let interval, let day, let index):
                w.element("t:RelativeMonthlyRecurrence") { w in
                    w.element("t:Interval", text: String(interval))
                    w.element("t:DaysOfWeek", text: day)
                    w.element("t:DayOfWeekIndex", text: index)
                }
            case .absoluteYearly(let day, let month):
                w.element("t:AbsoluteYearlyRecurrence") { w in
                    w.element("t:DayOfMonth", text: String(day))
                    w.element("t:Month", text: month)
                }
            case .relativeYearly(let day, let index, let month):
                w.element("t:RelativeYearlyRecurrence") { w in
                    w.element("t:DaysOfWeek", text: day)
                    w.element("t:DayOfWeekIndex", text: index)
                    w.element("t:Month", text: month)
                }
            }
            switch recurrence.range {
            case .noEnd(let start):
                w.element("t:NoEndRecurrence") { $0.element("t:StartDate", text: start.description) }
            case .endDate(let start, let end):
                w.element("t:EndDateRecurrence") { w in
                    w.element("t:StartDate", text: start.description)
                    w.element("t:EndDate", text: end.description)
                }
            case .numbered(let start, let count):
                w.element("t:NumberedRecurrence") { w in
                    w.element("t:StartDate", text: start.description)
                    w.element("t:NumberOfOccurrences", text: String(count))
                }
            }
        }
    }
}

extension String {
    /// nil for the empty string.
    var nonEmpty: String? { isEmpty ? nil : self }

    /// CRLF and CR turned into LF.
    var normalizedLineEnds: String {
        guard contains("\r") else { return self }
        return replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }
}

import Foundation
import SyncCore
import XML

/// The mapping tables: one per kind, the only place where CRM columns meet EWS properties.
public enum EWSMappings {
    typealias ContactRule = EWSFieldRule<CRMContact, EWSContact>
    typealias AppointmentRule = EWSFieldRule<CRMAppointment, EWSCalendarItem>
    typealias TaskRule = EWSFieldRule<CRMTask, EWSTask>

    static let nilUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    static let emails = [EWSContainer(element: "t:EmailAddresses")]
    static let phones = [EWSContainer(element: "t:PhoneNumbers")]
    static let business = [
        EWSContainer(element: "t:PhysicalAddresses"), EWSContainer(element: "t:Entry", key: "Business"),
    ]

    /// `crm.contacts` ↔ `t:Contact` (contacts folder).
    public static let contact = EWSMapping<CRMContact, EWSContact>(
        rules: [
            .body("notes", crm: \.notes, ews: \.body),
            .categories(crm: \.categories, ews: \.categories),
            .crmID(crm: \.id, ews: \.crmID),
            .requiredText(
                "display_name", .field("contacts:DisplayName"), element: "t:DisplayName", crm: \.displayName,
                ews: \.displayName),
            .text(
                "given_name", .field("contacts:GivenName"), element: "t:GivenName", crm: \.givenName, ews: \.givenName),
            .text(
                "company", .field("contacts:CompanyName"), element: "t:CompanyName", crm: \.company, ews: \.companyName),
            .text(
                "email1", .indexed("contacts:EmailAddress", index: "EmailAddress1"), in: emails, element: "t:Entry",
                key: "EmailAddress1", crm: \.email1, ews: \.emailAddresses["EmailAddress1"]),
            .text(
                "email2", .indexed("contacts:EmailAddress", index: "EmailAddress2"), in: emails, element: "t:Entry",
                key: "EmailAddress2", crm: \.email2, ews: \.emailAddresses["EmailAddress2"]),
            .text(
                "email3", .indexed("contacts:EmailAddress", index: "EmailAddress3"), in: emails, element: "t:Entry",
                key: "EmailAddress3", crm: \.email3, ews: \.emailAddresses["EmailAddress3"]),
            .text(
                "street", .indexed("contacts:PhysicalAddress:Street", index: "Business"), in: business,
                element: "t:Street",
                crm: \.street, ews: \.businessAddress.street),
            .text(
                "city", .indexed("contacts:PhysicalAddress:City", index: "Business"), in: business, element: "t:City",
                crm: \.city, ews: \.businessAddress.city),
            .text(
                "state", .indexed("contacts:PhysicalAddress:State", index: "Business"), in: business,
                element: "t:State",
                crm: \.state, ews: \.businessAddress.state),
            .text(
                "country", .indexed("contacts:PhysicalAddress:CountryOrRegion", index: "Business"), in: business,
                element: "t:CountryOrRegion", crm: \.country,
                ews: \.businessAddress.countryOrRegion),
            .text(
                "postal_code", .indexed("contacts:PhysicalAddress:PostalCode", index: "Business"), in: business,
                element: "t:PostalCode", crm: \.postalCode,
                ews: \.businessAddress.postalCode),
            .text(
                "business_phone", .indexed("contacts:PhoneNumber", index: "BusinessPhone"), in: phones,
                element: "t:Entry",
                key: "BusinessPhone", crm: \.businessPhone, ews: \.phoneNumbers["BusinessPhone"]),
            .text(
                "home_phone", .indexed("contacts:PhoneNumber", index: "HomePhone"), in: phones, element: "t:Entry",
                key: "HomePhone", crm: \.homePhone, ews: \.phoneNumbers["HomePhone"]),
            .text(
                "mobile_phone", .indexed("contacts:PhoneNumber", index: "MobilePhone"), in: phones, element: "t:Entry",
                key: "MobilePhone", crm: \.mobilePhone, ews: \.phoneNumbers["MobilePhone"]),
            .day("birthday", .field("contacts:Birthday"), element: "t:Birthday", crm: \.birthday, ews: \.birthday),
            .text("job_title", .field("contacts:JobTitle"), element: "t:JobTitle", crm: \.jobTitle, ews: \.jobTitle),
            .text("surname", .field("contacts:Surname"), element: "t:Surname", crm: \.surname, ews: \.surname),
        ],
        folder: .contacts,
        makeRecord: {
            CRMContact(id: $0.crmID ?? nilUUID, displayName: "", updatedAt: $0.lastModified ?? Date(), version: 0)
        },
        recordID: { $0.id })

    /// `crm.appointments` (+ attendees and exceptions) ↔ `t:CalendarItem` (calendar folder).
    /// Exceptions are read from ModifiedOccurrences/DeletedOccurrences; writing them needs per-occurrence
    /// requests and is not part of this table (see ``EWSExceptionPlan`` and
    /// ``EWSClient/createAppointments(_:mailbox:)``).
    public static let appointment = EWSMapping<CRMAppointment, EWSCalendarItem>(
        rules: [
            .requiredText("subject", .field("item:Subject"), element: "t:Subject", crm: \.subject, ews: \.subject),
            .map(
                "is_private", .field("item:Sensitivity"), crm: \.isPrivate, ews: \.sensitivity,
                toEWS: { $0 ? "Private" : "Normal" }, toCRM: { $0 == "Private" }, write: EWSWrite.text("t:Sensitivity")),
            .body("body", crm: \.body, ews: \.body),
            .categories(crm: \.categories, ews: \.categories),
            .crmID(crm: \.id, ews: \.crmID),
            .text("ical_uid", .field("calendar:UID"), element: "t:UID", crm: \.icalUID, ews: \.uid),
            .instant("starts_at", .field("calendar:Start"), element: "t:Start", crm: \.startsAt, ews: \.start),
            .instant("ends_at", .field("calendar:End"), element: "t:End", crm: \.endsAt, ews: \.end),
            .map(
                "is_all_day", .field("calendar:IsAllDayEvent"), crm: \.isAllDay, ews: \.isAllDayEvent,
                toEWS: { $0 }, toCRM: { $0 ?? false },
                write: { v, w in w.element("t:IsAllDayEvent", text: v ? "true" : "false") }),
            .text("location", .field("calendar:Location"), element: "t:Location", crm: \.location, ews: \.location),
            attendees(.required, "calendar:RequiredAttendees", "t:RequiredAttendees", \.requiredAttendees),
            attendees(.optional, "calendar:OptionalAttendees", "t:OptionalAttendees", \.optionalAttendees),
            attendees(.resource, "calendar:Resources", "t:Resources", \.resources),
            AppointmentRule(
                column: "recurrence", fieldURI: .field("calendar:Recurrence"),
                hasValue: { $0.recurrence != nil },
                writeValue: { model, writer in if let r = model.recurrence { EWSWrite.recurrence(r, into: &writer) } },
                toModel: { record, model in
                    guard let text = record.recurrence?.nonEmpty else { model.recurrence = nil; return }
                    model.recurrence = try EWSRecurrence(
                        rule: RecurrenceRule(rrule: text), start: LocalDate(utcDateOf: record.startsAt))
                },
                toRecord: { model, record in record.recurrence = model.recurrence?.rule.rrule },
                sameInRecords: { $0.recurrence == $1.recurrence }),
            AppointmentRule(
                column: "appointment_exceptions", fieldURI: .field("calendar:ModifiedOccurrences"), isWritable: false,
                hasValue: { !$0.modifiedOccurrences.isEmpty }, writeValue: { _, _ in }, toModel: { _, _ in },
                toRecord: { model, record in
                    // An occurrence shows the series' Subject and Location unless it has its own: the CRM keeps only its own.
                    record.exceptions.removeAll { !$0.isCancelled }
                    record.exceptions += model.modifiedOccurrences.compactMap { occurrence in
                        (occurrence.originalStart ?? occurrence.start).map {
                            CRMAppointmentException(
                                originalStart: $0, isCancelled: false,
                                subject: occurrence.subject == model.subject ? nil : occurrence.subject?.nonEmpty,
                                location: occurrence.location == model.location ? nil : occurrence.location?.nonEmpty,
                                startsAt: occurrence.start, endsAt: occurrence.end)
                        }
                    }
                },
                sameInRecords: { Set($0.exceptions) == Set($1.exceptions) }),
            AppointmentRule(
                column: "appointment_exceptions", fieldURI: .field("calendar:DeletedOccurrences"), isWritable: false,
                hasValue: { !$0.deletedOccurrences.isEmpty }, writeValue: { _, _ in }, toModel: { _, _ in },
                toRecord: { model, record in
                    record.exceptions.removeAll { $0.isCancelled }
                    record.exceptions += model.deletedOccurrences.map {
                        CRMAppointmentException(originalStart: $0, isCancelled: true)
                    }
                },
                sameInRecords: { Set($0.exceptions) == Set($1.exceptions) }),
            .map(
                "time_zone", .field("calendar:StartTimeZone"), crm: \.timeZone, ews: \.startTimeZoneId,
                toEWS: { $0?.nonEmpty }, toCRM: { $0?.nonEmpty }
            ) { id, writer in
                writer.startElement("t:StartTimeZone", attributes: ["Id": id])
                writer.endElement()
            },
        ],
        folder: .calendar,
        makeRecord: {
            CRMAppointment(
                id: $0.crmID ?? nilUUID, ownerID: nilUUID, subject: "", startsAt: Date(timeIntervalSince1970: 0),
                endsAt: Date(timeIntervalSince1970: 0), updatedAt: $0.lastModified ?? Date(), version: 0)
        },
        recordID: { $0.id })

    /// What is read of a modified occurrence besides the times its master lists (``EWSClient/getAppointments(_:mailbox:)``).
    static let occurrenceFieldURIs: [EWSFieldURI] = [.field("item:Subject"), .field("calendar:Location")]

    static func attendees(
        _ kind: AttendeeKind, _ uri: String, _ element: String,
        _ ews: WritableKeyPath<EWSCalendarItem, [EWSAttendee]>
    ) -> AppointmentRule {
        AppointmentRule(
            column: "appointment_attendees(\(kind.rawValue))", fieldURI: .field(uri),
            hasValue: { !$0[keyPath: ews].isEmpty },
            writeValue: { model, writer in EWSWrite.attendees(element, model[keyPath: ews], into: &writer) },
            toModel: { record, model in
                model[keyPath: ews] = record.attendees.filter { $0.kind == kind }.map {
                    EWSAttendee(name: $0.name, emailAddress: $0.email)
                }
            },
            toRecord: { model, record in
                record.attendees.removeAll { $0.kind == kind }
                record.attendees += model[keyPath: ews].map {
                    CRMAttendee(email: $0.emailAddress, name: $0.name, kind: kind)
                }
            },
            sameInRecords: { lhs, rhs in
                func key(_ a: CRMAttendee) -> String { a.email.lowercased() + "\u{0}" + (a.name ?? "") }
                return Set(lhs.attendees.filter { $0.kind == kind }.map(key))
                    == Set(rhs.attendees.filter { $0.kind == kind }.map(key))
            })
    }

    static let statuses: [(TaskStatus, String)] = [
        (.notStarted, "NotStarted"), (.inProgress, "InProgress"), (.completed, "Completed"),
        (.waiting, "WaitingOnOthers"), (.deferred, "Deferred"),
    ]
    static let importances: [(TaskImportance, String)] = [(.low, "Low"), (.normal, "Normal"), (.high, "High")]

    /// `crm.tasks` ↔ `t:Task` (tasks folder).
    public static let task = EWSMapping<CRMTask, EWSTask>(
        rules: [
            .requiredText("subject", .field("item:Subject"), element: "t:Subject", crm: \.subject, ews: \.subject),
            .body("body", crm: \.body, ews: \.body),
            .categories(crm: \.categories, ews: \.categories),
            .map(
                "importance", .field("item:Importance"), crm: \.importance, ews: \.importance,
                toEWS: { value in importances.first { $0.0 == value }?.1 },
                toCRM: { value in importances.first { $0.1 == value }?.0 ?? .normal },
                accepts: { value in importances.contains { $0.1 == value } }, write: EWSWrite.text("t:Importance")),
            .crmID(crm: \.id, ews: \.crmID),
            .optionalInstant(
                "completed_at", .field("task:CompleteDate"), element: "t:CompleteDate", crm: \.completedAt,
                ews: \.completeDate),
            .day("due_on", .field("task:DueDate"), element: "t:DueDate", crm: \.dueOn, ews: \.dueDate),
            .map(
                "percent_complete", .field("task:PercentComplete"), crm: \.percentComplete, ews: \.percentComplete,
                toEWS: { Double($0) }, toCRM: { Int(($0 ?? 0).rounded()) },
                write: { v, w in w.element("t:PercentComplete", text: String(Int(v))) }),
            .day("starts_on", .field("task:StartDate"), element: "t:StartDate", crm: \.startsOn, ews: \.startDate),
            .map(
                "status", .field("task:Status"), crm: \.status, ews: \.status,
                toEWS: { value in statuses.first { $0.0 == value }?.1 },
                toCRM: { value in statuses.first { $0.1 == value }?.0 ?? .notStarted }, required: true,
                accepts: { value in statuses.contains { $0.1 == value } }, write: EWSWrite.text("t:Status")),
        ],
        folder: .tasks,
        makeRecord: {
            CRMTask(
                id: $0.crmID ?? nilUUID, ownerID: nilUUID, subject: "", updatedAt: $0.lastModified ?? Date(), version: 0
            )
        },
        recordID: { $0.id })
}

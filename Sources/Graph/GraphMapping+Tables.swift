import Foundation
import SyncCore

/// The mapping tables: one per kind, the only place where CRM columns meet Graph properties.
enum GraphMappings {
    static let nilUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// The CRM id stamp on contacts and events: the same named property EWS writes (PublicStrings set
    /// `5C1B9E4A-…`, name `SnapsyncCrmId`), so a mailbox can move between the protocols and keep its stamps.
    static let crmIDProperty = "String {5c1b9e4a-3f0d-4c55-9b6e-5d7a2e8c1f30} Name SnapsyncCrmId"
    /// The CRM's iCalendar UID of an event snapsync created (Graph cannot set an event's own `iCalUId`), read back in
    /// its place.
    static let icalUIDProperty = "String {5c1b9e4a-3f0d-4c55-9b6e-5d7a2e8c1f30} Name SnapsyncICalUid"
    /// The `applicationName` of the linkedResource that stamps a To Do task.
    static let applicationName = "snapsync"

    /// The stamp's value on a contact or event, if any.
    static func stampedID(_ item: GraphJSON) -> UUID? {
        extendedProperty(crmIDProperty, of: item).flatMap(UUID.init(uuidString:))
    }

    static func extendedProperty(_ name: String, of item: GraphJSON) -> String? {
        for property in item["singleValueExtendedProperties"]?.array ?? [] {
            guard let id = property["id"]?.string, id.equalsIgnoringCase(name) else { continue }
            return property["value"]?.string
        }
        return nil
    }

    /// The extended properties of a created or updated event: the stamp (on create) and the CRM's UID.
    static func eventProperties(_ record: CRMAppointment, stamp: Bool) -> GraphJSON? {
        var properties: [GraphJSON] = []
        if stamp { properties.append(["id": .string(crmIDProperty), "value": .string(record.id.uuidString)]) }
        if let uid = record.icalUID, !uid.isEmpty {
            properties.append(["id": .string(icalUIDProperty), "value": .string(uid)])
        }
        return properties.isEmpty ? nil : .array(properties)
    }

    /// The stamp's value on a To Do task (its snapsync linkedResource), if any.
    static func linkedID(_ item: GraphJSON) -> UUID? {
        for resource in item["linkedResources"]?.array ?? []
        where resource["applicationName"]?.string == applicationName {
            if let id = resource["externalId"]?.string.flatMap(UUID.init(uuidString:)) { return id }
        }
        return nil
    }

    /// The open extension that carries a To Do task's percentage (To Do's `todoTask` has none), and its id as
    /// Graph returns it.
    static let taskExtensionName = "com.snapsync.task"
    static let taskExtensionID = "microsoft.graph.openTypeExtension." + taskExtensionName

    /// The task extension's body: created inline with the task, or PATCHed on its own.
    static func taskExtension(_ record: CRMTask) -> GraphJSON {
        [
            "@odata.type": "microsoft.graph.openTypeExtension", "extensionName": .string(taskExtensionName),
            "percentComplete": .number(Double(record.percentComplete)),
        ]
    }

    /// The percentage a task's extension holds, if the task has the extension (nil: the task predates it, or was
    /// created in To Do).
    static func extensionPercentage(_ item: GraphJSON) throws(GraphMappingProblem) -> Int? {
        for ext in item["extensions"]?.array ?? [] {
            let id = ext["id"]?.string ?? "", name = ext["extensionName"]?.string ?? ""
            guard
                name.equalsIgnoringCase(taskExtensionName)
                    || id.lowercased().hasSuffix("." + taskExtensionName)
            else { continue }
            guard let value = ext["percentComplete"], !value.isNull else { return nil }
            guard let percent = value.int, (0...100).contains(percent) else {
                throw GraphMappingProblem(what: "percentComplete of the \(taskExtensionName) extension unreadable")
            }
            return percent
        }
        return nil
    }

    // MARK: contacts

    /// `crm.contacts` ↔ Graph `contact` (the default contacts folder).
    static let contact = GraphMapping<CRMContact>(
        rules: [
            .requiredText("display_name", "displayName", \.displayName),
            .text("given_name", "givenName", \.givenName),
            .text("surname", "surname", \.surname),
            .text("company", "companyName", \.company),
            .text("job_title", "jobTitle", \.jobTitle),
            .text("mobile_phone", "mobilePhone", \.mobilePhone),
            .text("notes", "personalNotes", \.notes),
            .categories(\.categories),
            GraphFieldRule(
                column: "email1", properties: ["emailAddresses"],
                read: { item, record throws(GraphMappingProblem) in
                    let list = item["emailAddresses"]?.array ?? []
                    let addresses = list.map { $0["address"]?.string.flatMap { $0.isEmpty ? nil : $0 } }
                    record.email1 = addresses.count > 0 ? addresses[0] : nil
                    record.email2 = addresses.count > 1 ? addresses[1] : nil
                    record.email3 = addresses.count > 2 ? addresses[2] : nil
                },
                write: { record in
                    [
                        (
                            "emailAddresses",
                            .array(
                                [record.email1, record.email2, record.email3].compactMap {
                                    $0?.isEmpty == false ? $0 : nil
                                }
                                .map { ["address": .string($0), "name": .string($0)] })
                        )
                    ]
                }),
            GraphFieldRule(
                column: "business_phone", properties: ["businessPhones"],
                read: { item, record throws(GraphMappingProblem) in
                    record.businessPhone = item["businessPhones"]?.array?.first?.string.flatMap {
                        $0.isEmpty ? nil : $0
                    }
                },
                write: { record in [("businessPhones", .array(record.businessPhone.map { [.string($0)] } ?? []))] }),
            GraphFieldRule(
                column: "home_phone", properties: ["homePhones"],
                read: { item, record throws(GraphMappingProblem) in
                    record.homePhone = item["homePhones"]?.array?.first?.string.flatMap { $0.isEmpty ? nil : $0 }
                },
                write: { record in [("homePhones", .array(record.homePhone.map { [.string($0)] } ?? []))] }),
            GraphFieldRule(
                column: "street", properties: ["businessAddress"],
                read: { item, record throws(GraphMappingProblem) in
                    let address = item["businessAddress"]
                    func part(_ name: String) -> String? { address?[name]?.string.flatMap { $0.isEmpty ? nil : $0 } }
                    record.street = part("street")
                    record.city = part("city")
                    record.state = part("state")
                    record.postalCode = part("postalCode")
                    record.country = part("countryOrRegion")
                },
                write: { record in
                    [
                        (
                            "businessAddress",
                            [
                                "street": .text(record.street), "city": .text(record.city),
                                "state": .text(record.state),
                                "postalCode": .text(record.postalCode), "countryOrRegion": .text(record.country),
                            ]
                        )
                    ]
                }),
            GraphFieldRule(
                column: "birthday", properties: ["birthday"],
                read: { item, record throws(GraphMappingProblem) in
                    guard let value = item["birthday"], !value.isNull else { record.birthday = nil; return }
                    guard let instant = GraphDates.offsetDateTime(value) else {
                        throw GraphMappingProblem(what: "birthday is not a date-time")
                    }
                    record.birthday = GraphDates.day(of: instant)
                },
                write: { record in
                    [
                        (
                            "birthday",
                            record.birthday.map {
                                .string(ISO8601.format($0.startOfDayUTC.addingTimeInterval(12 * 3600)))
                            } ?? .null
                        )
                    ]
                }),
        ],
        makeRecord: { id, modified in
            CRMContact(id: id ?? nilUUID, displayName: "", updatedAt: modified ?? Date(), version: 0)
        })

    // MARK: tasks

    static let statuses: [(graph: String, crm: TaskStatus)] = [
        ("notStarted", .notStarted), ("inProgress", .inProgress), ("completed", .completed),
        ("waitingOnOthers", .waiting),
        ("deferred", .deferred),
    ]

    /// `crm.tasks` ↔ Microsoft To Do `todoTask` (the default list). To Do keeps no percentage: it travels in the
    /// ``taskExtensionName`` open extension, written by ``GraphMailboxSource`` beside the task; a task without it
    /// reads as 100 when completed and 0 otherwise.
    static let task = GraphMapping<CRMTask>(
        rules: [
            .requiredText("subject", "title", \.subject),
            .body("body", \.body),
            .categories(\.categories),
            GraphFieldRule(
                column: "status", properties: ["status"],
                read: { item, record throws(GraphMappingProblem) in
                    guard let text = item["status"]?.string,
                        let status = statuses.first(where: { $0.graph == text })?.crm
                    else {
                        throw GraphMappingProblem(what: "status missing or unknown")
                    }
                    record.status = status
                },
                write: { record in [("status", .string(statuses.first { $0.crm == record.status }!.graph))] }),
            GraphFieldRule(
                column: "percent_complete", properties: [],
                read: { item, record throws(GraphMappingProblem) in
                    // The status wins over the extension, which To Do's own apps never update: a task completed
                    // there is 100 %, one reopened there is no longer 100 %.
                    let stored = try extensionPercentage(item)
                    record.percentComplete = record.status == .completed ? 100 : stored.map { $0 < 100 ? $0 : 0 } ?? 0
                },
                // Not a todoTask property: the extension is written on its own (GraphMailboxSource).
                write: { _ in [] }),
            GraphFieldRule(
                column: "importance", properties: ["importance"],
                read: { item, record throws(GraphMappingProblem) in
                    guard let value = item["importance"], !value.isNull else { record.importance = .normal; return }
                    guard let importance = value.string.flatMap(TaskImportance.init(rawValue:)) else {
                        throw GraphMappingProblem(what: "importance unknown")
                    }
                    record.importance = importance
                },
                write: { record in [("importance", .string(record.importance.rawValue))] }),
            GraphFieldRule(
                column: "starts_on", properties: ["startDateTime"],
                read: { item, record throws(GraphMappingProblem) in record.startsOn = try day(item, "startDateTime") },
                write: { record in [("startDateTime", record.startsOn.map(GraphDates.dateOnly) ?? .null)] }),
            GraphFieldRule(
                column: "due_on", properties: ["dueDateTime"],
                read: { item, record throws(GraphMappingProblem) in record.dueOn = try day(item, "dueDateTime") },
                write: { record in [("dueDateTime", record.dueOn.map(GraphDates.dateOnly) ?? .null)] }),
            GraphFieldRule(
                column: "completed_at", properties: ["completedDateTime"],
                read: { item, record throws(GraphMappingProblem) in
                    guard let value = item["completedDateTime"], !value.isNull else { record.completedAt = nil; return }
                    guard let instant = GraphDates.instant(value) else {
                        throw GraphMappingProblem(what: "completedDateTime unreadable")
                    }
                    record.completedAt = instant
                },
                write: { record in
                    [
                        (
                            "completedDateTime",
                            record.completedAt.map { GraphDates.dateTimeTimeZone($0, zone: "UTC") } ?? .null
                        )
                    ]
                }),
        ],
        makeRecord: { id, modified in
            CRMTask(
                id: id ?? nilUUID, ownerID: nilUUID, subject: "", status: .notStarted, percentComplete: 0,
                importance: .normal,
                updatedAt: modified ?? Date(), version: 0)
        })

    static func day(_ item: GraphJSON, _ property: String) throws(GraphMappingProblem) -> LocalDate? {
        guard let value = item[property], !value.isNull else { return nil }
        guard let day = GraphDates.day(value) else { throw GraphMappingProblem(what: "\(property) unreadable") }
        return day
    }

    // MARK: events

    static func attendee(_ attendee: CRMAttendee) -> GraphJSON {
        var address: GraphJSON.Members = ["address": .string(attendee.email)]
        if let name = attendee.name, !name.isEmpty { address["name"] = .string(name) }
        let type: String = attendeeTypes.first { $0.crm == attendee.kind }?.graph ?? "required"
        return .object(["emailAddress": .object(address), "type": .string(type)])
    }

    /// The RRULE of an event's `recurrence`, nil for a single event.
    static func rrule(of item: GraphJSON) throws(GraphMappingProblem) -> String? {
        do {
            return try GraphRecurrence.rule(item["recurrence"])?.rrule
        } catch {
            throw GraphMappingProblem(what: "recurrence unsupported (\(error.reason))")
        }
    }

    /// The `patternedRecurrence` of a series, null for a single appointment.
    static func recurrence(of record: CRMAppointment) throws(GraphMappingProblem) -> GraphJSON {
        guard let text = record.recurrence, !text.isEmpty else { return .null }
        let rule: RecurrenceRule
        do { rule = try RecurrenceRule(rrule: text) } catch { throw GraphMappingProblem(what: "recurrence unreadable") }
        do {
            return try GraphRecurrence.json(rule, start: LocalDate(utcDateOf: record.startsAt), zone: record.timeZone)
        } catch {
            throw GraphMappingProblem(what: "recurrence unsupported (\(error.reason))")
        }
    }

    static let attendeeTypes: [(graph: String, crm: AttendeeKind)] = [
        ("required", .required), ("optional", .optional), ("resource", .resource),
    ]

    /// The zone an event's start and end are written in: its own, which Exchange keeps as `originalStartTimeZone`. An
    /// all-day event's start and end must fall on midnight of that zone; one whose days begin at another hour there
    /// is written in UTC.
    static func writtenZone(_ record: CRMAppointment) -> String? {
        guard record.isAllDay else { return record.timeZone }
        guard let name = record.timeZone, let zone = GraphTimeZones.timeZone(name) else { return "UTC" }
        func isMidnight(_ instant: Date) -> Bool {
            (Int(instant.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: instant)) % 86_400 == 0
        }
        return isMidnight(record.startsAt) && isMidnight(record.endsAt) ? name : "UTC"
    }

    /// `crm.appointments` (+ attendees) ↔ Graph `event` (the default calendar). The series' exceptions and
    /// cancellations are read from `exceptionOccurrences` and `cancelledOccurrences` (``GraphEvents``) and written
    /// occurrence by occurrence. Graph cannot set `iCalUId`: the CRM's UID travels in ``icalUIDProperty``.
    static let appointment = GraphMapping<CRMAppointment>(
        rules: [
            .requiredText("subject", "subject", \.subject),
            .body("body", \.body),
            .categories(\.categories),
            GraphFieldRule(
                column: "location", properties: ["location"],
                read: { item, record throws(GraphMappingProblem) in
                    record.location = item["location"]?["displayName"]?.string.flatMap { $0.isEmpty ? nil : $0 }
                },
                write: { record in [("location", ["displayName": .string(record.location ?? "")])] }),
            GraphFieldRule(
                column: "starts_at", properties: ["start", "end", "originalStartTimeZone", "isAllDay"],
                read: { item, record throws(GraphMappingProblem) in
                    guard let start = GraphDates.instant(item["start"]), let end = GraphDates.instant(item["end"])
                    else {
                        throw GraphMappingProblem(what: "start or end missing or unreadable")
                    }
                    record.startsAt = start
                    record.endsAt = end
                    record.isAllDay = item["isAllDay"]?.bool ?? false
                    record.timeZone = item["originalStartTimeZone"]?.string.flatMap { $0.isEmpty ? nil : $0 }
                },
                write: { record in
                    [
                        (
                            "start",
                            GraphDates.dateTimeTimeZone(record.startsAt, zone: writtenZone(record))
                        ),
                        ("end", GraphDates.dateTimeTimeZone(record.endsAt, zone: writtenZone(record))),
                        ("isAllDay", .bool(record.isAllDay)),
                    ]
                }),
            GraphFieldRule(
                column: "is_private", properties: ["sensitivity"],
                read: { item, record throws(GraphMappingProblem) in
                    record.isPrivate = item["sensitivity"]?.string == "private"
                },
                write: { record in [("sensitivity", record.isPrivate ? "private" : "normal")] }),
            GraphFieldRule(
                column: "ical_uid", properties: ["iCalUId"],
                read: { item, record throws(GraphMappingProblem) in
                    record.icalUID = (extendedProperty(icalUIDProperty, of: item) ?? item["iCalUId"]?.string).flatMap {
                        $0.isEmpty ? nil : $0
                    }
                },
                write: { _ in [] }),
            GraphFieldRule(
                column: "appointment_attendees", properties: ["attendees"],
                read: { item, record throws(GraphMappingProblem) in
                    record.attendees = (item["attendees"]?.array ?? []).compactMap { attendee in
                        guard let address = attendee["emailAddress"]?["address"]?.string, !address.isEmpty else {
                            return nil
                        }
                        let kind = attendeeTypes.first { $0.graph == attendee["type"]?.string }?.crm ?? .required
                        // Exchange fills in the address as the name of an attendee written without one: no name.
                        let name = attendee["emailAddress"]?["name"]?.string.flatMap {
                            $0.isEmpty || $0.equalsIgnoringCase(address) ? nil : $0
                        }
                        return CRMAttendee(email: address, name: name, kind: kind)
                    }
                },
                write: { record in [("attendees", .array(record.attendees.map(attendee)))] }),
            GraphFieldRule(
                column: "recurrence", properties: ["recurrence"],
                read: { item, record throws(GraphMappingProblem) in record.recurrence = try rrule(of: item) },
                write: { record throws(GraphMappingProblem) in [("recurrence", try recurrence(of: record))] }),
        ],
        makeRecord: { id, modified in
            CRMAppointment(
                id: id ?? nilUUID, ownerID: nilUUID, subject: "", startsAt: Date(timeIntervalSince1970: 0),
                endsAt: Date(timeIntervalSince1970: 0), updatedAt: modified ?? Date(), version: 0)
        })
}

import Foundation
import Testing
import SyncCore

@Suite struct RecordDifferenceTests {
    static func date(_ text: String) -> Date { ISO8601.parseDateTime(text)! }

    static let contact = CRMContact(
        id: UUID(), givenName: "Zoë", surname: "O'Brien", displayName: "Zoë O'Brien", company: "Acme",
        email1: "zoe@example.com", businessPhone: "+49 30 1234", street: "Hauptstraße 1\r\nHinterhaus", city: "Berlin",
        notes: "Met at fair.\r\nLikes tea", birthday: LocalDate(year: 1980, month: 5, day: 4),
        categories: ["VIP", "Berlin"],
        updatedAt: date("2024-01-01T00:00:00Z"), version: 3)

    // Monday 4 March 2024, 09:00 UTC.
    static let appointment = CRMAppointment(
        id: UUID(), ownerID: UUID(), subject: "Weekly sync", location: "Room 4", body: "Agenda\r\n- numbers",
        startsAt: date("2024-03-04T09:00:00.250Z"), endsAt: date("2024-03-04T09:30:00Z"),
        timeZone: "W. Europe Standard Time",
        categories: ["Team", "Internal"], icalUID: "uid-1@example.com",
        recurrence: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240630",
        updatedAt: date("2024-01-01T00:00:00Z"), version: 1,
        exceptions: [
            CRMAppointmentException(originalStart: date("2024-03-11T09:00:00Z"), isCancelled: true),
            CRMAppointmentException(
                originalStart: date("2024-03-13T09:00:00Z"), isCancelled: false, subject: "Moved",
                startsAt: date("2024-03-14T10:00:00Z"), endsAt: date("2024-03-14T10:30:00Z")),
        ],
        attendees: [
            CRMAttendee(email: "Anna@Example.com", name: "Anna", kind: .required),
            CRMAttendee(email: "ben@example.com", name: nil, kind: .optional),
            CRMAttendee(email: "room4@example.com", name: "Room 4", kind: .resource),
        ])

    static let task = CRMTask(
        id: UUID(), ownerID: UUID(), subject: "Send offer", body: "Draft first",
        startsOn: LocalDate(year: 2024, month: 3, day: 1),
        dueOn: LocalDate(year: 2024, month: 3, day: 8), status: .inProgress, percentComplete: 50, importance: .high,
        completedAt: nil, categories: ["Sales"], updatedAt: date("2024-01-01T00:00:00Z"), version: 2)

    func fields(_ lhs: MailboxRecord, _ rhs: MailboxRecord) -> [String] { lhs.difference(from: rhs).fields }

    @Test func identicalRecordsDoNotDiffer() {
        for record in [MailboxRecord.contact(Self.contact), .appointment(Self.appointment), .task(Self.task)] {
            #expect(record.difference(from: record).isEmpty)
            #expect(record.difference(from: record).description == "\(record.kind.rawValue): no mapped field differs")
        }
    }

    @Test func whatAnExchangeRoundTripChangesIsNoDifference() {
        // As the contact reads back from Exchange: LF line ends, "" for nil, categories in another order,
        // and a new version/updatedAt.
        var back = Self.contact
        back.street = "Hauptstraße 1\nHinterhaus"
        back.notes = "Met at fair.\nLikes tea"
        back.jobTitle = ""
        back.categories = ["Berlin", "VIP", "VIP"]
        back.updatedAt = Date()
        back.version = 9
        back.id = UUID()
        #expect(fields(.contact(Self.contact), .contact(back)) == [])

        var appointment = Self.appointment
        appointment.body = "Agenda\n- numbers"
        appointment.startsAt = Self.date("2024-03-04T09:00:00Z")  // the milliseconds are gone
        appointment.categories = ["Internal", "Team"]
        appointment.location = "Room 4"
        appointment.ownerID = UUID()
        appointment.recurrence = "FREQ=WEEKLY;UNTIL=20240630;BYDAY=WE,MO"
        appointment.exceptions = [
            // Exchange reads a moved occurrence as start and end only; a cancelled one has no times.
            CRMAppointmentException(
                originalStart: Self.date("2024-03-13T09:00:00Z"), isCancelled: false,
                startsAt: Self.date("2024-03-14T10:00:00Z"), endsAt: Self.date("2024-03-14T10:30:00Z")),
            CRMAppointmentException(
                originalStart: Self.date("2024-03-11T09:00:00Z"), isCancelled: true,
                startsAt: Self.date("2024-03-11T09:00:00Z")),
        ]
        appointment.attendees = [
            CRMAttendee(email: "room4@example.com", name: "Room 4", kind: .resource),
            CRMAttendee(email: "anna@example.com", name: "Anna", kind: .required, contactID: UUID()),
            // Exchange's name for none
            CRMAttendee(email: "ben@example.com", name: "ben@example.com", kind: .optional),
        ]
        #expect(fields(.appointment(Self.appointment), .appointment(appointment)) == [])

        var task = Self.task
        task.body = "Draft first"
        task.updatedAt = Date()
        task.version = 3
        #expect(fields(.task(Self.task), .task(task)) == [])
    }

    @Test func everyChangedContactFieldIsNamedWithoutItsValue() {
        var changed = Self.contact
        changed.displayName = "Zoe OBrien"
        changed.email1 = "ZOE@example.com"  // contact addresses are kept as written: a change
        changed.email2 = "secret-address@example.org"
        changed.city = nil
        changed.birthday = LocalDate(year: 1980, month: 5, day: 5)
        changed.categories = ["VIP"]
        let difference = RecordDifference(.contact(Self.contact), .contact(changed))
        #expect(difference.fields == ["display_name", "email1", "email2", "city", "birthday", "categories"])
        #expect(difference.description == "contacts: display_name, email1, email2, city, birthday, categories differ")
        #expect(!difference.description.contains("secret") && !difference.description.contains("Zoe"))
        #expect(difference.contains("city") && !difference.contains("surname"))
    }

    @Test func noTimeZoneAndUTCAreAlike() {
        var utc = Self.appointment
        utc.timeZone = "UTC"
        var none = Self.appointment
        none.timeZone = nil
        #expect(fields(.appointment(utc), .appointment(none)) == [])
        #expect(fields(.appointment(Self.appointment), .appointment(none)) == ["time_zone"])
        #expect(fields(.appointment(Self.appointment), .appointment(utc)) == ["time_zone"])
    }

    @Test func appointmentTimesCompareToTheSecond() {
        var later = Self.appointment
        later.startsAt = Self.date("2024-03-04T09:00:00.999Z")
        #expect(fields(.appointment(Self.appointment), .appointment(later)) == [])
        later.startsAt = Self.date("2024-03-04T09:00:01Z")
        later.endsAt = Self.date("2024-03-04T10:00:00Z")
        later.isAllDay = true
        later.isPrivate = true
        later.timeZone = nil
        #expect(
            fields(.appointment(Self.appointment), .appointment(later)) == [
                "starts_at", "ends_at", "is_all_day", "time_zone", "is_private",
            ])
    }

    @Test func attendeesAreASetKeyedByLowercasedEmail() {
        let base = MailboxRecord.appointment(Self.appointment)
        func with(_ change: (inout [CRMAttendee]) -> Void) -> MailboxRecord {
            var a = Self.appointment
            change(&a.attendees)
            return .appointment(a)
        }
        #expect(fields(base, with { $0.reverse() }) == [])
        // a repeat
        #expect(fields(base, with { $0.append(CRMAttendee(email: "ANNA@example.COM", kind: .required)) }) == [])
        #expect(fields(base, with { $0[0].name = nil }) == [])  // one side has no name: not compared
        #expect(fields(base, with { $0[0].name = "Anna Schmidt" }) == ["appointment_attendees"])
        #expect(fields(base, with { $0[1].kind = .required }) == ["appointment_attendees"])
        #expect(fields(base, with { $0.removeLast() }) == ["appointment_attendees"])
        #expect(fields(base, with { $0[1].email = "bert@example.com" }) == ["appointment_attendees"])
    }

    @Test func exceptionsAreKeyedByOriginalStart() {
        let base = MailboxRecord.appointment(Self.appointment)
        func with(_ change: (inout [CRMAppointmentException]) -> Void) -> MailboxRecord {
            var a = Self.appointment
            change(&a.exceptions)
            return .appointment(a)
        }
        #expect(fields(base, with { $0.reverse() }) == [])
        #expect(fields(base, with { $0[1].location = "Elsewhere" }) == [])  // not mapped to Exchange
        #expect(fields(base, with { $0[1].startsAt = Self.date("2024-03-14T11:00:00Z") }) == ["appointment_exceptions"])
        // Without its own end an exception lasts as long as the series (30 minutes), as Exchange reads it back.
        #expect(fields(base, with { $0[1].endsAt = nil }) == [])
        #expect(
            fields(
                base,
                with {
                    $0[1].endsAt = nil; $0[1].startsAt = nil
                }) == ["appointment_exceptions"])
        // A subject-only exception reads back with the original times.
        #expect(
            fields(
                with {
                    $0[1].startsAt = nil; $0[1].endsAt = nil
                },
                with {
                    $0[1].startsAt = Self.date("2024-03-13T09:00:00Z"); $0[1].endsAt = Self.date("2024-03-13T09:30:00Z")
                }) == [])
        #expect(fields(base, with { $0[0].isCancelled = false }) == ["appointment_exceptions"])
        #expect(
            fields(base, with { $0[0].originalStart = Self.date("2024-03-18T09:00:00Z") }) == ["appointment_exceptions"]
        )
        #expect(fields(base, with { $0.removeAll() }) == ["appointment_exceptions"])
    }

    @Test func recurrenceComparesAsExchangeStoresIt() {
        func same(_ lhs: String?, _ rhs: String?, start: String = "2024-03-04T09:00:00Z") -> Bool {
            var a = Self.appointment, b = Self.appointment
            a.startsAt = Self.date(start)
            b.startsAt = Self.date(start)
            a.recurrence = lhs
            b.recurrence = rhs
            return RecordDifference(.appointment(a), .appointment(b)).isEmpty
        }
        #expect(same("FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO"))  // 4 March 2024 is a Monday
        #expect(!same("FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=TU"))
        #expect(same("FREQ=MONTHLY;COUNT=6", "RRULE:FREQ=MONTHLY;BYMONTHDAY=4;COUNT=6"))
        #expect(same("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=-1FR"))
        #expect(same("FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=4"))
        #expect(same("FREQ=DAILY;INTERVAL=1;WKST=MO", "FREQ=DAILY"))
        #expect(same("FREQ=DAILY;UNTIL=20240630T235959Z", "FREQ=DAILY;UNTIL=20240630"))
        #expect(same(nil, ""))
        #expect(!same("FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=6"))
        #expect(!same("FREQ=DAILY", nil))
        #expect(same("not a rule", "not a rule") && !same("not a rule", "FREQ=DAILY"))
    }

    @Test func taskFieldsAndKinds() {
        var changed = Self.task
        changed.status = .completed
        changed.percentComplete = 100
        changed.completedAt = Self.date("2024-03-07T16:00:00Z")
        changed.dueOn = nil
        #expect(fields(.task(Self.task), .task(changed)) == ["due_on", "status", "percent_complete", "completed_at"])
        #expect(fields(.task(Self.task), .contact(Self.contact)) == ["kind"])
    }

    @Test func fieldListsNameEachFieldOnce() {
        for kind in ItemKind.allCases {
            let names = RecordDifference.fields(of: kind)
            #expect(Set(names).count == names.count && !names.isEmpty)
        }
    }
}

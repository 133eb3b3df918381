import Foundation
import Testing
import SyncCore
import XML
@testable import EWS

@Suite struct EWSMappingTests {
    /// Writes items as CreateItem would and reads them back as a GetItem response would carry them.
    func roundTrip<Record, Model>(_ mapping: EWSMapping<Record, Model>, _ record: Record) throws -> (Model, EWSItem) {
        let model = try mapping.model(of: record)
        var writer = XMLWriter()
        writer.startElement(
            "s:Envelope",
            attributes: ["xmlns:s": EWSNamespace.soap, "xmlns:m": EWSNamespace.messages, "xmlns:t": EWSNamespace.types])
        writer.element("s:Body") { w in
            w.element("m:GetItemResponse") { w in
                w.element("m:ResponseMessages") { w in
                    w.startElement("m:GetItemResponseMessage", attributes: ["ResponseClass": "Success"])
                    w.element("m:ResponseCode", text: "NoError")
                    w.element("m:Items") { mapping.writeItem(model, into: &$0) }
                    w.endElement()
                }
            }
        }
        writer.endElement()
        let response = try EWSResponseDecoder.decode(writer.bytes)
        return (model, try #require(response.messages.first?.items.first))
    }

    @Test func contactRoundTrip() throws {
        let (model, item) = try roundTrip(EWSMappings.contact, Fixtures.contact)
        guard case .contact(let decoded) = item else { Issue.record("expected a contact"); return }
        #expect(decoded == model)
        var back = EWSMappings.contact.record(of: decoded)
        back.updatedAt = Fixtures.contact.updatedAt
        back.version = Fixtures.contact.version
        #expect(back == Fixtures.contact)
        #expect(MailboxRecord.contact(back).difference(from: .contact(Fixtures.contact)).isEmpty)
    }

    @Test func appointmentRoundTrip() throws {
        let (model, item) = try roundTrip(EWSMappings.appointment, Fixtures.appointment)
        guard case .calendarItem(let decoded) = item else { Issue.record("expected a calendar item"); return }
        #expect(decoded == model)
        #expect(
            decoded.recurrence
                == EWSRecurrence(
                    pattern: .weekly(interval: 1, daysOfWeek: ["Monday", "Wednesday"], firstDayOfWeek: nil),
                    range: .endDate(
                        start: LocalDate(year: 2024, month: 3, day: 4)!, end: LocalDate(year: 2024, month: 6, day: 30)!)
                ))
        var back = EWSMappings.appointment.record(of: decoded)
        back.ownerID = Fixtures.owner
        back.updatedAt = Fixtures.appointment.updatedAt
        back.version = Fixtures.appointment.version
        #expect(back == Fixtures.appointment)
    }

    @Test func taskRoundTrip() throws {
        let (model, item) = try roundTrip(EWSMappings.task, Fixtures.task)
        guard case .task(let decoded) = item else { Issue.record("expected a task"); return }
        #expect(decoded == model)
        #expect(decoded.status == "InProgress" && decoded.importance == "High" && decoded.percentComplete == 50)
        var back = EWSMappings.task.record(of: decoded)
        back.ownerID = Fixtures.owner
        back.updatedAt = Fixtures.task.updatedAt
        back.version = Fixtures.task.version
        #expect(back == Fixtures.task)
    }

    @Test func exceptionsAreReadFromOccurrences() {
        var item = EWSCalendarItem()
        item.subject = "Series"
        item.start = Fixtures.date("2024-03-04T09:00:00Z")
        item.end = Fixtures.date("2024-03-04T10:00:00Z")
        item.modifiedOccurrences = [
            EWSOccurrence(
                start: Fixtures.date("2024-03-12T11:00:00Z"), end: Fixtures.date("2024-03-12T12:00:00Z"),
                originalStart: Fixtures.date("2024-03-11T09:00:00Z"))
        ]
        item.deletedOccurrences = [Fixtures.date("2024-03-18T09:00:00Z")]
        let record = EWSMappings.appointment.record(of: item)
        #expect(
            Set(record.exceptions) == [
                CRMAppointmentException(
                    originalStart: Fixtures.date("2024-03-11T09:00:00Z"), isCancelled: false,
                    startsAt: Fixtures.date("2024-03-12T11:00:00Z"), endsAt: Fixtures.date("2024-03-12T12:00:00Z")),
                CRMAppointmentException(originalStart: Fixtures.date("2024-03-18T09:00:00Z"), isCancelled: true),
            ])
    }

    @Test func dateOnlyValuesSurviveZones() {
        let day = LocalDate(year: 2024, month: 3, day: 6)!
        #expect(EWSDateOnly.date(of: EWSDateOnly.instant(for: day)) == day)
        #expect(EWSDateOnly.date(of: Fixtures.date("2024-03-05T23:00:00Z")) == day)  // Berlin midnight
        #expect(EWSDateOnly.date(of: Fixtures.date("2024-03-06T05:00:00Z")) == day)  // New York midnight
        #expect(EWSDateOnly.date(of: Fixtures.date("2024-03-06T11:59:00Z")) == day)  // Exchange birthday
    }

    @Test func unrepresentableRecurrenceIsAClearError() {
        var appointment = Fixtures.appointment
        appointment.recurrence = "FREQ=MONTHLY;BYMONTHDAY=1,15"
        #expect { try EWSMappings.appointment.model(of: appointment) } throws: { error in
            guard let error = error as? EWSError, case .invalidRequest(let what) = error.code else { return false }
            return what.contains("recurrence") && !error.description.contains("Weekly sync")
        }
    }
}

@Suite struct EWSRecurrenceTests {
    let start = LocalDate(year: 2024, month: 3, day: 4)!  // a Monday

    func ews(_ rrule: String) throws -> EWSRecurrence {
        try EWSRecurrence(rule: RecurrenceRule(rrule: rrule), start: start)
    }

    @Test func patterns() throws {
        #expect(
            try ews("FREQ=DAILY;INTERVAL=2;COUNT=10")
                == EWSRecurrence(pattern: .daily(interval: 2), range: .numbered(start: start, occurrences: 10)))
        #expect(try ews("FREQ=WEEKLY").pattern == .weekly(interval: 1, daysOfWeek: ["Monday"], firstDayOfWeek: nil))
        #expect(
            try ews("FREQ=WEEKLY;BYDAY=TU,TH;WKST=SU").pattern
                == .weekly(interval: 1, daysOfWeek: ["Tuesday", "Thursday"], firstDayOfWeek: "Sunday"))
        #expect(try ews("FREQ=MONTHLY").pattern == .absoluteMonthly(interval: 1, dayOfMonth: 4))
        #expect(
            try ews("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15").pattern == .absoluteMonthly(interval: 3, dayOfMonth: 15))
        #expect(
            try ews("FREQ=MONTHLY;BYDAY=2TU").pattern
                == .relativeMonthly(interval: 1, daysOfWeek: "Tuesday", index: "Second"))
        #expect(
            try ews("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1").pattern
                == .relativeMonthly(interval: 1, daysOfWeek: "Weekday", index: "Last"))
        #expect(try ews("FREQ=YEARLY").pattern == .absoluteYearly(dayOfMonth: 4, month: "March"))
        #expect(
            try ews("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH").pattern
                == .relativeYearly(daysOfWeek: "Thursday", index: "Fourth", month: "November"))
        #expect(
            try ews("FREQ=DAILY;UNTIL=20241231T000000Z").range
                == .endDate(start: start, end: LocalDate(year: 2024, month: 12, day: 31)!))
        #expect(try ews("FREQ=DAILY").range == .noEnd(start: start))
    }

    @Test func roundTripsThroughRRULE() throws {
        for rrule in [
            "FREQ=DAILY;INTERVAL=2;COUNT=10", "FREQ=WEEKLY;BYDAY=TU,TH;WKST=SU",
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15",
            "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20241231", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=4",
        ] {
            #expect(try ews(rrule).rule.rrule == rrule)
        }
    }

    @Test func rejectsWhatEWSCannotExpress() {
        for rrule in [
            "FREQ=MONTHLY;BYMONTHDAY=1,15", "FREQ=YEARLY;INTERVAL=2", "FREQ=DAILY;BYDAY=MO",
            "FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=1",
        ] {
            #expect(throws: RecurrenceConversionError.self, "\(rrule)") { try ews(rrule) }
        }
    }
}

@Suite struct EWSDecoderValueTests {
    func uuid(_ text: String) -> UUID? { Array(text.utf8).withUnsafeBufferPointer { EWSResponseDecoder.uuid($0) } }

    @Test func crmIdsParseInEitherCaseAndNothingElse() {
        let id = UUID(uuidString: "C0FFEE00-1234-4567-89AB-CDEF01234567")!
        #expect(uuid("c0ffee00-1234-4567-89ab-cdef01234567") == id)
        #expect(uuid("C0FFEE00-1234-4567-89AB-CDEF01234567") == id)
        for bad in [
            "", "c0ffee00-1234-4567-89ab-cdef0123456", "c0ffee00-1234-4567-89ab-cdef012345678",
            "c0ffee00x1234-4567-89ab-cdef01234567",
            "g0ffee00-1234-4567-89ab-cdef01234567", "{c0ffee00-1234-4567-89ab-cdef01234567}",
        ] {
            #expect(uuid(bad) == nil, "\(bad)")
        }
    }
}

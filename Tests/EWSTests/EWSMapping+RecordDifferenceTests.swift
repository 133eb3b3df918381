import Foundation
import Testing
import SyncCore
@testable import EWS

/// SyncCore's ``RecordDifference`` compares the fields these tables map, with the normalizations a trip
/// through them implies.
extension EWSMappingTests {
    /// The CRM fields a table maps (attendee and exception rules by their table, the CRM id left out:
    /// it identifies the record, it is not compared).
    func mappedFields<Record, Model>(_ mapping: EWSMapping<Record, Model>) -> Set<String> {
        Set(
            mapping.rules.map { rule in
                rule.column.hasPrefix("appointment_attendees") ? "appointment_attendees" : rule.column
            }
        ).subtracting(["id"])
    }

    @Test func recordDifferenceComparesExactlyTheMappedFields() {
        #expect(Set(RecordDifference.fields(of: .contacts)) == mappedFields(EWSMappings.contact))
        #expect(Set(RecordDifference.fields(of: .appointments)) == mappedFields(EWSMappings.appointment))
        #expect(Set(RecordDifference.fields(of: .tasks)) == mappedFields(EWSMappings.task))
    }

    @Test(arguments: [
        "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240630", "FREQ=WEEKLY;COUNT=10", "FREQ=MONTHLY;COUNT=6",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
        "FREQ=YEARLY", "FREQ=DAILY;INTERVAL=2;WKST=SU",
    ])
    func aTripThroughExchangeIsNoRecordDifference(recurrence: String) throws {
        var appointment = Fixtures.appointment
        appointment.recurrence = recurrence
        appointment.startsAt = Fixtures.date("2024-03-04T09:00:00.400Z")
        appointment.body = "Agenda:\r\n1. numbers\r2. plans"
        appointment.attendees[0].email = "Anna@Example.com"
        appointment.attendees[0].contactID = UUID()
        guard case .calendarItem(let calendar) = try roundTrip(EWSMappings.appointment, appointment).1 else {
            Issue.record("expected a calendar item"); return
        }
        let back = EWSMappings.appointment.record(of: calendar)
        let difference = MailboxRecord.appointment(appointment).difference(from: .appointment(back))
        #expect(difference.isEmpty, "\(difference)")

        guard case .contact(let contact) = try roundTrip(EWSMappings.contact, Fixtures.contact).1,
            case .task(let task) = try roundTrip(EWSMappings.task, Fixtures.task).1
        else {
            Issue.record("expected a contact and a task"); return
        }
        #expect(
            MailboxRecord.contact(Fixtures.contact).difference(from: .contact(EWSMappings.contact.record(of: contact)))
                .isEmpty)
        #expect(MailboxRecord.task(Fixtures.task).difference(from: .task(EWSMappings.task.record(of: task))).isEmpty)
    }
}

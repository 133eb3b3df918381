import Foundation
import Testing
import SyncCore
@testable import EWS

/// Exceptions of a series as occurrence requests (pure: no IO).
@Suite struct EWSExceptionPlanTests {
    /// Fixtures.appointment (Mondays and Wednesdays from Monday 4 March 2024, 09:00–09:30 UTC) with the
    /// 11 March occurrence (the 3rd) cancelled and the 13 March one (the 4th) moved to the 14th.
    static var series: CRMAppointment {
        var a = Fixtures.appointment
        a.exceptions = [
            CRMAppointmentException(
                originalStart: Fixtures.date("2024-03-13T09:00:00Z"), isCancelled: false, subject: "Moved",
                location: "Room 7", startsAt: Fixtures.date("2024-03-14T10:00:00Z"),
                endsAt: Fixtures.date("2024-03-14T10:45:00Z")),
            CRMAppointmentException(originalStart: Fixtures.date("2024-03-11T09:00:00Z"), isCancelled: true),
        ]
        return a
    }

    @Test func deletionsThenModificationsByInstanceIndex() throws {
        let operations = try EWSExceptionPlan.operations(for: Self.series)
        #expect(operations.map(\.instanceIndex) == [3, 4])
        guard operations.count == 2, case .delete = operations[0], case .modify(_, let updates) = operations[1] else {
            Issue.record("expected a deletion and a modification, got \(operations)"); return
        }
        let text = String(decoding: updates, as: UTF8.self)
        for part in [
            "<t:FieldURI FieldURI=\"calendar:Start\"/><t:CalendarItem><t:Start>2024-03-14T10:00:00Z</t:Start>",
            "<t:End>2024-03-14T10:45:00Z</t:End>", "<t:Subject>Moved</t:Subject>", "<t:Location>Room 7</t:Location>",
        ] {
            #expect(text.contains(part), "\(part) missing from \(text)")
        }
    }

    @Test func anExceptionWithoutTimesKeepsTheOccurrencesTimes() throws {
        var a = Fixtures.appointment
        a.exceptions = [
            CRMAppointmentException(
                originalStart: Fixtures.date("2024-03-06T09:00:00Z"), isCancelled: false, subject: "Retro")
        ]
        let operations = try EWSExceptionPlan.operations(for: a)
        guard case .modify(2, let updates)? = operations.first else {
            Issue.record("expected occurrence 2 modified"); return
        }
        let text = String(decoding: updates, as: UTF8.self)
        #expect(
            text.contains("<t:Start>2024-03-06T09:00:00Z</t:Start>")
                && text.contains("<t:End>2024-03-06T09:30:00Z</t:End>"))
        #expect(!text.contains("Location"))
    }

    @Test func exceptionsThatDoNotFitTheSeriesFailTheRecord() {
        func reason(_ change: (inout CRMAppointment) -> Void) -> String? {
            var a = Self.series
            change(&a)
            do { _ = try EWSExceptionPlan.operations(for: a); return nil } catch {
                guard case .exceptionsNotApplied(let reason, nil) = error.code else { return "unexpected \(error)" }
                #expect(error.itemID == a.id.uuidString.lowercased())
                #expect(!error.description.contains("Moved"), "the description must not carry record data")
                return reason
            }
        }
        #expect(
            reason { $0.exceptions[0].originalStart = Fixtures.date("2024-03-12T09:00:00Z") }
                == "exception 2 of 2 is not on an occurrence of the series")
        #expect(
            reason { $0.exceptions[0].originalStart = Fixtures.date("2024-07-01T09:00:00Z") }
                == "exception 2 of 2 is not on an occurrence of the series")
        #expect(
            reason { $0.exceptions[0].originalStart = Fixtures.date("2024-03-11T10:00:00Z") }
                == "exception 2 of 2 names occurrence 3 again")
        #expect(
            reason { $0.exceptions[0].endsAt = Fixtures.date("2024-03-14T09:00:00Z") }
                == "exception 2 of 2 ends before it starts")
        #expect(reason { $0.recurrence = nil } == "exceptions on an appointment without recurrence")
        #expect(
            reason {
                $0.exceptions = []; $0.recurrence = nil
            } == nil)
    }

    @Test func updatesRewriteTheSeriesWhenItsShapeOrExceptionsChange() {
        let series = Self.series
        func rewrites(_ change: (inout CRMAppointment) -> Void) -> Bool {
            var changed = series
            change(&changed)
            return EWSExceptionPlan.rewritesSeries(from: series, to: changed)
        }
        #expect(EWSExceptionPlan.rewritesSeries(from: nil, to: series))
        #expect(!rewrites { $0.subject = "Renamed" })
        #expect(!rewrites { $0.exceptions.reverse() })
        #expect(rewrites { $0.exceptions.removeLast() })
        #expect(rewrites { $0.exceptions[0].subject = "Moved again" })
        #expect(rewrites { $0.recurrence = "FREQ=WEEKLY;BYDAY=MO;UNTIL=20240630" })
        #expect(
            rewrites {
                $0.startsAt += 3600; $0.endsAt += 3600
            })
        #expect(!rewrites { $0.recurrence = nil })  // a single appointment has no occurrences to write
    }

    @Test func failuresOfASeriesKeepTheCausesKind() {
        func neutral(_ cause: EWSError.Code?) -> MailboxSourceError {
            EWSMailboxSource.neutral(
                EWSError(
                    code: .exceptionsNotApplied(reason: "occurrence 3 not modified", cause: cause),
                    operation: "UpdateItem", mailbox: "anna@example.com", itemID: "AAMk", message: ""))
        }
        #expect(neutral(nil).code == "ExceptionsNotApplied" && neutral(nil).kind == .permanent)
        #expect(neutral(.serverBusy(backOff: .milliseconds(300))).kind == .transient)
        #expect(neutral(.serverBusy(backOff: .milliseconds(300))).retryAfter == .milliseconds(300))
        #expect(neutral(.responseCode("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange")).kind == .permanent)
        #expect(neutral(.responseCode("ErrorIrresolvableConflict")).kind == .permanent)
        #expect(neutral(.responseCode("ErrorItemNotFound")).itemID == "AAMk")
        #expect(
            neutral(.responseCode("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange")).message
                .contains(
                    "exceptions of the series not applied: occurrence 3 not modified (ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange)"
                ))
    }
}

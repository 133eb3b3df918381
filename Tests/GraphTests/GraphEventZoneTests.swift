import Foundation
import SyncCore
import Testing
@testable import Graph

/// An event's start and end are written in its own zone, so Exchange keeps it (`originalStartTimeZone`) and reads it
/// back; an all-day event keeps its zone when its days begin at midnight there, as Exchange stores them.
@Suite struct GraphEventZoneTests {
    static func event(start: String, end: String, allDay: Bool) throws -> CRMAppointment {
        CRMAppointment(
            id: UUID(), ownerID: UUID(), subject: "Offsite", startsAt: try #require(ISO8601.parseDateTime(start)),
            endsAt: try #require(ISO8601.parseDateTime(end)), isAllDay: allDay, timeZone: "W. Europe Standard Time",
            updatedAt: Date(), version: 1)
    }

    func written(_ record: CRMAppointment) throws -> (start: GraphJSON?, end: GraphJSON?) {
        let body = try GraphMappings.appointment.body(record, previous: nil)
        return (body["start"], body["end"])
    }

    /// A local time is written as Graph writes it, `YYYY-MM-DDTHH:MM:SS.0000000`, for any instant and offset:
    /// the same text as Foundation's Gregorian calendar gives (from 1583: before, it counts Julian days).
    @Test func aLocalTimeIsWrittenAsTheCalendarHasIt() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var seconds = -12_212_553_600.0  // 1583-01-01T00:00:00Z
        while seconds < 253_402_300_799 {  // 9999-12-31T23:59:59Z
            for offset in [0, -36_000, 50_400] {
                let local = Date(timeIntervalSince1970: seconds + Double(offset))
                guard (1583...9999).contains(calendar.component(.year, from: local)) else { continue }
                let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: local)
                let expected = String(
                    format: "%04d-%02d-%02dT%02d:%02d:%02d.0000000", c.year!, c.month!, c.day!, c.hour!, c.minute!,
                    c.second!)
                #expect(GraphDates.local(Date(timeIntervalSince1970: seconds), offset: offset) == expected)
            }
            seconds += 39_131_137.7
        }
    }

    @Test func anAllDayEventFromMidnightToMidnightInItsZoneIsWrittenInItsZone() throws {
        // 2026-03-10 and 11 in Berlin (UTC+1 in March).
        let event = try Self.event(start: "2026-03-09T23:00:00Z", end: "2026-03-10T23:00:00Z", allDay: true)
        let (start, end) = try written(event)
        #expect(start == ["dateTime": "2026-03-10T00:00:00.0000000", "timeZone": "W. Europe Standard Time"])
        #expect(end?["timeZone"] == "W. Europe Standard Time")
    }

    @Test func anAllDayEventWhoseDaysBeginAtAnotherHourInItsZoneIsWrittenInUTC() throws {
        let event = try Self.event(start: "2026-03-10T00:00:00Z", end: "2026-03-11T00:00:00Z", allDay: true)
        let (start, _) = try written(event)
        #expect(start?["timeZone"] == "UTC")
        #expect(start?["dateTime"]?.string?.hasPrefix("2026-03-10T00:00:00") == true)
    }

    @Test func aTimedEventIsWrittenInItsZone() throws {
        let event = try Self.event(start: "2026-03-10T08:30:00Z", end: "2026-03-10T09:30:00Z", allDay: false)
        let (start, _) = try written(event)
        #expect(start?["timeZone"] == "W. Europe Standard Time")
        #expect(start?["dateTime"]?.string?.hasPrefix("2026-03-10T09:30:00") == true)
    }
}

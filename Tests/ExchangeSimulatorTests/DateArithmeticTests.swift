import Foundation
import Testing
@testable import ExchangeSimulator

/// The simulator writes and reads every date-time of an item (starts, ends, occurrences, created and modified
/// times): its calendar arithmetic agrees with the C library's UTC functions on every day from 1600 to 2400,
/// and with xs:dateTime's forms.
@Suite struct DateArithmeticTests {
    @Test func daysAndDatesAgreeWithTheCLibraryFrom1600To2400() {
        var mismatches: [String] = []
        var day = FieldValue.days(year: 1600, month: 1, day: 1)
        let last = FieldValue.days(year: 2400, month: 12, day: 31)
        while day <= last {
            var t = day * 86_400 + 43_200
            var parts = tm()
            gmtime_r(&t, &parts)
            let expected = (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
            let civil = FieldValue.civil(days: day)
            if civil != expected || FieldValue.days(year: civil.year, month: civil.month, day: civil.day) != day {
                mismatches.append("\(day)")
            }
            day += 1
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func formatsAndParsesDateTimes() {
        #expect(FieldValue.formatDate(0) == "1970-01-01T00:00:00Z")
        #expect(FieldValue.formatDate(951_825_599.5) == "2000-02-29T11:59:59Z")
        #expect(FieldValue.formatDate(-1) == "1969-12-31T23:59:59Z")
        #expect(FieldValue.formatDate(1_709_251_200, suffix: ".0000000") == "2024-03-01T00:00:00.0000000")
        #expect(FieldValue.parseDate("2024-03-01T00:00:00Z") == 1_709_251_200)
        #expect(FieldValue.parseDate("2024-03-01T02:00:00.250+02:00") == 1_709_251_200.25)
        #expect(FieldValue.parseDate("2024-03-01") == 1_709_251_200)
        #expect(FieldValue.parseDate("1969-12-31T23:59:59Z") == -1)
        // Out-of-range fields carry over, as timegm lets them.
        #expect(FieldValue.parseDate("2023-14-01T00:00:00Z") == FieldValue.parseDate("2024-02-01T00:00:00Z"))
        #expect(FieldValue.parseDate("2024-02-30T00:00:00Z") == FieldValue.parseDate("2024-03-01T00:00:00Z"))
        for bad in ["2024-03-01T00:00", "2024/03/01", "2024-03-01T00:00:00Q", ""] {
            #expect(FieldValue.parseDate(bad) == nil, "\(bad)")
        }
        #expect(
            RecurrencePattern.dayNumber(year: 2024, month: 13, day: 1)
                == RecurrencePattern.dayNumber(year: 2025, month: 1, day: 1))
    }
}

import Foundation
import Testing
import SyncCore

@Suite struct ISO8601Tests {
    @Test func parsesZuluOffsetsAndFractions() {
        #expect(ISO8601.parseDateTime("2014-01-19T18:59:07Z") == Date(timeIntervalSince1970: 1_390_157_947))
        #expect(ISO8601.parseDateTime("2014-01-19T18:59:07") == Date(timeIntervalSince1970: 1_390_157_947))
        #expect(ISO8601.parseDateTime("2014-01-19T20:59:07+02:00") == Date(timeIntervalSince1970: 1_390_157_947))
        #expect(ISO8601.parseDateTime("2014-01-19T10:59:07-0800") == Date(timeIntervalSince1970: 1_390_157_947))
        let fractional = ISO8601.parseDateTime("2014-01-19T18:59:07.1234567Z")!.timeIntervalSince1970
        #expect(abs(fractional - 1_390_157_947.1234567) < 1e-6)
        #expect(ISO8601.parseDateTime("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
        #expect(ISO8601.parseDateTime("2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
    }

    @Test func rejectsMalformedValues() {
        for bad in [
            "", "2014-01-19", "2014-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2014-01-19T25:00:00Z",
            "2014-01-19T18:59:07Q", "2014-01-19T18:59:07.Z", "2014/01/19T18:59:07Z", "2014-01-19T18:59:07+2",
        ] {
            #expect(ISO8601.parseDateTime(bad) == nil, "\(bad)")
        }
    }

    @Test func dateOnlyValues() {
        #expect(LocalDate("2014-01-19") == LocalDate(year: 2014, month: 1, day: 19))
        #expect(LocalDate("2014-01-19Z") == LocalDate(year: 2014, month: 1, day: 19))
        #expect(LocalDate("2014-01-19-08:00") == LocalDate(year: 2014, month: 1, day: 19))
        #expect(LocalDate("2014-02-30") == nil)
        #expect(LocalDate(year: 2024, month: 3, day: 4)!.isoWeekday == 1)
        #expect(
            LocalDate(daysSinceEpoch: LocalDate(year: 1600, month: 2, day: 29)!.daysSinceEpoch).description
                == "1600-02-29")
    }

    @Test func formatRoundTrips() {
        let date = Date(timeIntervalSince1970: 1_390_157_947.25)
        #expect(ISO8601.format(date) == "2014-01-19T18:59:07.250Z")
        #expect(ISO8601.parseDateTime(ISO8601.format(date)) == date)
        #expect(ISO8601.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
    }
}

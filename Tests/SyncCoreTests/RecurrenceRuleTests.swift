import Testing
import SyncCore

@Suite struct RecurrenceRuleTests {
    @Test func parsesAndFormatsCanonically() throws {
        let rule = try RecurrenceRule(rrule: "RRULE:FREQ=weekly;BYDAY=MO,WE;INTERVAL=2;UNTIL=20240131T235959Z;WKST=SU")
        #expect(rule.frequency == .weekly)
        #expect(rule.interval == 2)
        #expect(rule.byDay == [.init(.monday), .init(.wednesday)])
        #expect(rule.end == .until(LocalDate(year: 2024, month: 1, day: 31)!))
        #expect(rule.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=SU;UNTIL=20240131")
        #expect(try RecurrenceRule(rrule: rule.rrule) == rule)
    }

    @Test func ordinalWeekdaysAndYearly() throws {
        let lastFriday = try RecurrenceRule(rrule: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12")
        #expect(lastFriday.byDay == [.init(.friday, ordinal: -1)])
        #expect(lastFriday.end == .count(12))
        let yearly = try RecurrenceRule(rrule: "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15")
        #expect(yearly.byMonth == [3] && yearly.byMonthDay == [15])
        #expect(yearly.rrule == "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15")
    }

    @Test func rejectsWhatExchangeCannotRepresent() {
        for bad in [
            "FREQ=HOURLY", "BYDAY=MO", "FREQ=DAILY;BYHOUR=3", "FREQ=DAILY;INTERVAL=0", "FREQ=MONTHLY;BYDAY=5MO",
            "FREQ=DAILY;UNTIL=2024",
        ] {
            #expect(throws: RecurrenceRule.ParseError.self, "\(bad)") { try RecurrenceRule(rrule: bad) }
        }
    }
}

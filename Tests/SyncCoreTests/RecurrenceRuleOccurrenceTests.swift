import Testing
import SyncCore

@Suite struct RecurrenceRuleOccurrenceTests {
    func day(_ text: String) -> LocalDate { LocalDate(text)! }

    func days(_ rrule: String, from start: String, _ count: Int) throws -> [String] {
        try RecurrenceRule(rrule: rrule).occurrenceDays(seriesStart: day(start)).prefix(count).map(\.description)
    }

    func index(_ rrule: String, from start: String, of target: String) throws -> Int? {
        try RecurrenceRule(rrule: rrule).occurrenceIndex(of: day(target), seriesStart: day(start))
    }

    @Test func dailyWithIntervalAndCount() throws {
        #expect(
            try days("FREQ=DAILY;INTERVAL=2;COUNT=3", from: "2024-02-27", 9) == [
                "2024-02-27", "2024-02-29", "2024-03-02",
            ])
        #expect(try index("FREQ=DAILY;INTERVAL=2;COUNT=3", from: "2024-02-27", of: "2024-03-02") == 3)
        // off the pattern
        #expect(try index("FREQ=DAILY;INTERVAL=2;COUNT=3", from: "2024-02-27", of: "2024-02-28") == nil)
        // after the last
        #expect(try index("FREQ=DAILY;INTERVAL=2;COUNT=3", from: "2024-02-27", of: "2024-03-04") == nil)
        // before the first
        #expect(try index("FREQ=DAILY;INTERVAL=2;COUNT=3", from: "2024-02-27", of: "2024-02-25") == nil)
        #expect(try index("FREQ=DAILY", from: "2024-01-01", of: "2024-12-31") == 366)
    }

    @Test func weeklyByDayFromTheStartOn() throws {
        // Monday start, Mondays and Wednesdays until the 13th (inclusive).
        #expect(
            try days("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240313", from: "2024-03-04", 9)
                == ["2024-03-04", "2024-03-06", "2024-03-11", "2024-03-13"])
        // A Wednesday start: the Monday before it is not an occurrence.
        #expect(try index("FREQ=WEEKLY;BYDAY=MO,WE", from: "2024-03-06", of: "2024-03-11") == 2)
        // No BYDAY: the start's weekday.
        #expect(try days("FREQ=WEEKLY", from: "2024-03-07", 2) == ["2024-03-07", "2024-03-14"])
    }

    @Test func weeklyIntervalCountsWeeksFromWKST() throws {
        #expect(
            try days("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", from: "2024-03-07", 4)
                == ["2024-03-07", "2024-03-19", "2024-03-21", "2024-04-02"])
        #expect(try index("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", from: "2024-03-07", of: "2024-03-12") == nil)
        // The week a Sunday belongs to depends on WKST.
        #expect(
            try days("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU", from: "2024-03-04", 4)
                == ["2024-03-04", "2024-03-10", "2024-03-18", "2024-03-24"])
        #expect(
            try days("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", from: "2024-03-04", 4)
                == ["2024-03-04", "2024-03-17", "2024-03-18", "2024-03-31"])
    }

    @Test func monthlyByDayOfMonthFallsOnTheLastDayOfShortMonths() throws {
        #expect(
            try days("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4", from: "2024-01-31", 9)
                == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"])
        #expect(try days("FREQ=MONTHLY", from: "2024-01-15", 2) == ["2024-01-15", "2024-02-15"])
        // INTERVAL across a year end.
        #expect(try index("FREQ=MONTHLY;INTERVAL=3", from: "2024-11-15", of: "2025-05-15") == 3)
        #expect(try index("FREQ=MONTHLY;INTERVAL=3", from: "2024-11-15", of: "2024-12-15") == nil)
    }

    @Test func monthlyRelative() throws {
        // Last Friday.
        #expect(
            try days("FREQ=MONTHLY;BYDAY=-1FR", from: "2024-01-26", 3) == ["2024-01-26", "2024-02-23", "2024-03-29"])
        // Second Tuesday, every other month.
        #expect(try days("FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU", from: "2024-01-01", 2) == ["2024-01-09", "2024-03-12"])
        // Second weekday (Outlook's BYSETPOS form).
        #expect(
            try days("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2", from: "2024-01-01", 3)
                == ["2024-01-02", "2024-02-02", "2024-03-04"])
        // The last day of the month.
        #expect(
            try days("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=-1", from: "2024-01-01", 2) == [
                "2024-01-31", "2024-02-29",
            ])
    }

    @Test func yearly() throws {
        #expect(try index("FREQ=YEARLY", from: "2024-07-15", of: "2026-07-15") == 3)
        #expect(
            try days("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", from: "2024-02-29", 5)
                == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"])
        // Fourth Thursday of November.
        #expect(
            try days("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;UNTIL=20251231", from: "2024-01-01", 5) == [
                "2024-11-28", "2025-11-27",
            ])
    }

    @Test func aRuleMatchingNothingEnds() throws {
        // The 31st day from the end exists in months of 31 days only.
        #expect(
            try days("FREQ=MONTHLY;BYMONTHDAY=-31", from: "2024-01-01", 3) == [
                "2024-01-01", "2024-03-01", "2024-05-01",
            ])
        let never = try RecurrenceRule(rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-30")
        #expect(Array(never.occurrenceDays(seriesStart: day("2024-01-01"))).isEmpty)
        #expect(never.occurrenceIndex(of: day("2024-02-01"), seriesStart: day("2024-01-01")) == nil)
    }
}

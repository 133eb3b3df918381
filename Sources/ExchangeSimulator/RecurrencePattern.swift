import Foundation

/// A stored `t:Recurrence` (pattern and range) expanded the way Exchange expands it, on UTC days:
/// occurrences are the pattern's days from the range's StartDate on; weekly patterns count weeks from
/// FirstDayOfWeek (Monday when absent); an absolute DayOfMonth past a month's end falls on its last day;
/// relative patterns pick the First…Fourth or Last matching day of the month. Kept independent of the
/// client's RRULE code on purpose: the simulator is a separate model of Exchange.
struct RecurrencePattern: Sendable {
    enum Rule: Sendable {
        case daily
        /// ISO weekdays (1 = Monday … 7 = Sunday).
        case weekly(days: [Int])
        case absoluteMonthly(day: Int)
        /// `index` 1…4, or -1 for Last.
        case relativeMonthly(days: [Int], index: Int)
        case absoluteYearly(day: Int, month: Int)
        case relativeYearly(days: [Int], index: Int, month: Int)
    }

    var rule: Rule
    var interval: Int
    var firstDayOfWeek: Int
    /// Days since 1970-01-01 of the range's first day, and of its last day (EndDateRecurrence).
    var startDay: Int
    var endDay: Int?
    /// NumberOfOccurrences (NumberedRecurrence).
    var count: Int?

    static let patternNames: Set<String> = [
        "DailyRecurrence", "WeeklyRecurrence", "AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence",
        "AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence",
    ]
    static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let dayGroups: [String: [Int]] = ["Day": Array(1...7), "Weekday": Array(1...5), "WeekendDay": [6, 7]]
    static let indexNames = ["First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1]
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ]

    /// Reads a stored `Recurrence` element; throws ErrorCalendarInvalidRecurrence when it is not one.
    init(_ recurrence: XElement) throws(EWSFailure) {
        let invalid = EWSFailure(code: "ErrorCalendarInvalidRecurrence", message: "The recurrence pattern is invalid.")
        guard let pattern = recurrence.children.first(where: { Self.patternNames.contains($0.name) }),
            let range = recurrence.children.first(where: {
                ["NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence"].contains($0.name)
            }),
            let start = range.child("StartDate").flatMap({ Self.day($0.value) })
        else { throw invalid }
        func days(_ name: String) -> [Int]? {
            guard let text = pattern.child(name)?.value, !text.isEmpty else { return nil }
            var result: [Int] = []
            for word in text.split(separator: " ") {
                if let i = Self.dayNames.firstIndex(of: String(word)) {
                    result.append(i + 1)
                } else if let group = Self.dayGroups[String(word)] {
                    result += group
                } else {
                    return nil
                }
            }
            return Array(Set(result)).sorted()
        }
        func int(_ name: String) -> Int? { pattern.child(name).flatMap { Int($0.value) } }
        func month() -> Int? {
            pattern.child("Month").flatMap { Self.monthNames.firstIndex(of: $0.value) }.map { $0 + 1 }
        }
        func index() -> Int? { pattern.child("DayOfWeekIndex").flatMap { Self.indexNames[$0.value] } }
        interval = int("Interval") ?? 1
        firstDayOfWeek =
            pattern.child("FirstDayOfWeek").flatMap { Self.dayNames.firstIndex(of: $0.value) }.map { $0 + 1 } ?? 1
        switch pattern.name {
        case "DailyRecurrence": rule = .daily
        case "WeeklyRecurrence":
            guard let d = days("DaysOfWeek") else { throw invalid }
            rule = .weekly(days: d)
        case "AbsoluteMonthlyRecurrence":
            guard let d = int("DayOfMonth"), (1...31).contains(d) else { throw invalid }
            rule = .absoluteMonthly(day: d)
        case "RelativeMonthlyRecurrence":
            guard let d = days("DaysOfWeek"), let i = index() else { throw invalid }
            rule = .relativeMonthly(days: d, index: i)
        case "AbsoluteYearlyRecurrence":
            guard let d = int("DayOfMonth"), (1...31).contains(d), let m = month() else { throw invalid }
            rule = .absoluteYearly(day: d, month: m)
            interval = 1
        case "RelativeYearlyRecurrence":
            guard let d = days("DaysOfWeek"), let i = index(), let m = month() else { throw invalid }
            rule = .relativeYearly(days: d, index: i, month: m)
            interval = 1
        default: throw invalid
        }
        guard interval >= 1 else { throw invalid }
        startDay = start
        switch range.name {
        case "EndDateRecurrence":
            guard let end = range.child("EndDate").flatMap({ Self.day($0.value) }) else { throw invalid }
            endDay = end
        case "NumberedRecurrence":
            guard let n = range.child("NumberOfOccurrences").flatMap({ Int($0.value) }), n >= 1 else { throw invalid }
            count = n
        default: break
        }
    }

    /// The day (since 1970) of the occurrence at 1-based `index`, nil outside the series.
    func day(at index: Int) -> Int? {
        guard index >= 1 else { return nil }
        var found: Int?
        walk { i, day in
            if i == index { found = day; return false }
            return true
        }
        return found
    }

    /// The 1-based index of the occurrence on `day`, nil when there is none.
    func index(ofDay day: Int) -> Int? {
        var found: Int?
        walk { i, d in
            if d == day { found = i }
            return d < day
        }
        return found
    }

    /// Visits the occurrences in order until `visit` returns false or the series ends (a pattern that
    /// matches nothing for a thousand periods in a row ends too).
    func walk(_ visit: (_ index: Int, _ day: Int) -> Bool) {
        var index = 0, period = 0, emptyPeriods = 0
        while emptyPeriods < 1000 {
            let days = self.days(inPeriod: period).filter { $0 >= startDay }.sorted()
            period += 1
            emptyPeriods = days.isEmpty ? emptyPeriods + 1 : 0
            for day in days {
                if let endDay, day > endDay { return }
                if let count, index >= count { return }
                index += 1
                if !visit(index, day) { return }
            }
        }
    }

    private func days(inPeriod period: Int) -> [Int] {
        let (year, month, _) = Self.civil(startDay)
        switch rule {
        case .daily:
            return [startDay + period * interval]
        case .weekly(let weekdays):
            let week = startDay - (Self.weekday(startDay) - firstDayOfWeek + 7) % 7 + 7 * interval * period
            return weekdays.map { week + ($0 - firstDayOfWeek + 7) % 7 }
        case .absoluteMonthly(let day):
            let m = (year * 12 + month - 1) + interval * period
            return [Self.clamped(year: m / 12, month: m % 12 + 1, day: day)]
        case .relativeMonthly(let weekdays, let index):
            let m = (year * 12 + month - 1) + interval * period
            return Self.relative(year: m / 12, month: m % 12 + 1, weekdays: weekdays, index: index)
        case .absoluteYearly(let day, let m):
            return [Self.clamped(year: year + period, month: m, day: day)]
        case .relativeYearly(let weekdays, let index, let m):
            return Self.relative(year: year + period, month: m, weekdays: weekdays, index: index)
        }
    }

    private static func clamped(year: Int, month: Int, day: Int) -> Int {
        let first = dayNumber(year: year, month: month, day: 1)
        let next =
            month == 12 ? dayNumber(year: year + 1, month: 1, day: 1) : dayNumber(year: year, month: month + 1, day: 1)
        return first + min(day, next - first) - 1
    }

    private static func relative(year: Int, month: Int, weekdays: [Int], index: Int) -> [Int] {
        let first = dayNumber(year: year, month: month, day: 1)
        let last = clamped(year: year, month: month, day: 31)
        let matching = (first...last).filter { weekdays.contains(weekday($0)) }
        if index == -1 { return matching.last.map { [$0] } ?? [] }
        return matching.count >= index ? [matching[index - 1]] : []
    }

    // MARK: calendar arithmetic (UTC)

    /// ISO weekday of a day number (1970-01-01 was a Thursday).
    static func weekday(_ day: Int) -> Int { ((day % 7 + 7) % 7 + 3) % 7 + 1 }

    /// The day number of a date; a day beyond its month carries over into the next.
    static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        FieldValue.days(year: year, month: month, day: day)
    }

    static func civil(_ day: Int) -> (year: Int, month: Int, day: Int) { FieldValue.civil(days: day) }

    /// The day number of an xs:date (`2024-03-04`, with or without a zone suffix).
    static func day(_ text: String) -> Int? {
        guard text.count >= 10, let seconds = FieldValue.parseDate(String(text.prefix(10))) else { return nil }
        return Int((seconds / 86_400).rounded(.down))
    }
}

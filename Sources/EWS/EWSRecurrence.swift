import Foundation
import SyncCore

/// A calendar item's recurrence as EWS models it: one pattern and one range (on the series master).
public struct EWSRecurrence: Sendable, Hashable {
    /// EWS day names (`DayOfWeekType`), including the groups `Day`, `Weekday` and `WeekendDay`.
    public typealias DayName = String

    /// The recurrence pattern.
    public enum Pattern: Sendable, Hashable {
        case daily(interval: Int)
        case weekly(interval: Int, daysOfWeek: [DayName], firstDayOfWeek: DayName?)
        case absoluteMonthly(interval: Int, dayOfMonth: Int)
        /// `index`: First, Second, Third, Fourth, Last.
        case relativeMonthly(interval: Int, daysOfWeek: DayName, index: String)
        /// `month`: January…December.
        case absoluteYearly(dayOfMonth: Int, month: String)
        case relativeYearly(daysOfWeek: DayName, index: String, month: String)
    }

    /// The recurrence range.
    public enum Range: Sendable, Hashable {
        case noEnd(start: LocalDate)
        case endDate(start: LocalDate, end: LocalDate)
        case numbered(start: LocalDate, occurrences: Int)

        /// The first day of the series.
        public var start: LocalDate {
            switch self {
            case .noEnd(let start), .endDate(let start, _), .numbered(let start, _): start
            }
        }
    }

    public var pattern: Pattern
    public var range: Range

    public init(pattern: Pattern, range: Range) {
        self.pattern = pattern
        self.range = range
    }

    static let dayNames: [RecurrenceRule.Weekday: DayName] = [
        .monday: "Monday", .tuesday: "Tuesday", .wednesday: "Wednesday", .thursday: "Thursday",
        .friday: "Friday", .saturday: "Saturday", .sunday: "Sunday",
    ]
    static let weekdays: [DayName: RecurrenceRule.Weekday] = Dictionary(uniqueKeysWithValues: dayNames.map { ($1, $0) })
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ]
    static let indexNames = [1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"]
    static let groups: [DayName: [RecurrenceRule.Weekday]] = [
        "Day": [.monday, .tuesday, .wednesday, .thursday, .friday, .saturday, .sunday],
        "Weekday": [.monday, .tuesday, .wednesday, .thursday, .friday],
        "WeekendDay": [.saturday, .sunday],
    ]

    /// Converts an RFC 5545 rule of a series starting on `start` (the series' first day).
    /// Throws a description of what EWS cannot express (e.g. several BYMONTHDAY values).
    public init(rule: RecurrenceRule, start: LocalDate) throws(RecurrenceConversionError) {
        let unsupported = RecurrenceConversionError.self
        switch rule.end {
        case .never: range = .noEnd(start: start)
        case .count(let n): range = .numbered(start: start, occurrences: n)
        case .until(let end): range = .endDate(start: start, end: end)
        }
        func relativeDay() throws(RecurrenceConversionError) -> (DayName, String)? {
            if rule.byDay.isEmpty { return nil }
            if rule.byDay.count == 1, let ordinal = rule.byDay[0].ordinal, rule.bySetPosition == nil {
                return (EWSRecurrence.dayNames[rule.byDay[0].weekday]!, EWSRecurrence.indexNames[ordinal]!)
            }
            guard let position = rule.bySetPosition, rule.byDay.allSatisfy({ $0.ordinal == nil }),
                let index = EWSRecurrence.indexNames[position]
            else { throw unsupported.init(reason: "BYDAY combination") }
            let days = Set(rule.byDay.map(\.weekday))
            if days.count == 1 { return (EWSRecurrence.dayNames[days.first!]!, index) }
            guard let group = EWSRecurrence.groups.first(where: { Set($0.value) == days })?.key else {
                throw unsupported.init(reason: "BYDAY set")
            }
            return (group, index)
        }
        func single(_ values: [Int], default value: Int, _ what: String) throws(RecurrenceConversionError) -> Int {
            guard values.count <= 1 else { throw unsupported.init(reason: "several \(what) values") }
            guard let first = values.first else { return value }
            guard first > 0 else { throw unsupported.init(reason: "negative \(what)") }
            return first
        }
        switch rule.frequency {
        case .daily:
            guard rule.byDay.isEmpty, rule.byMonthDay.isEmpty, rule.byMonth.isEmpty else {
                throw unsupported.init(reason: "BY parts on DAILY")
            }
            pattern = .daily(interval: rule.interval)
        case .weekly:
            guard rule.byDay.allSatisfy({ $0.ordinal == nil }), rule.byMonthDay.isEmpty, rule.byMonth.isEmpty else {
                throw unsupported.init(reason: "BY parts on WEEKLY")
            }
            let days =
                rule.byDay.isEmpty ? [RecurrenceRule.Weekday.allCases[start.isoWeekday - 1]] : rule.byDay.map(\.weekday)
            pattern = .weekly(
                interval: rule.interval, daysOfWeek: days.map { EWSRecurrence.dayNames[$0]! },
                firstDayOfWeek: rule.weekStart.map { EWSRecurrence.dayNames[$0]! })
        case .monthly:
            guard rule.byMonth.isEmpty else { throw unsupported.init(reason: "BYMONTH on MONTHLY") }
            if let (day, index) = try relativeDay() {
                guard rule.byMonthDay.isEmpty else { throw unsupported.init(reason: "BYDAY with BYMONTHDAY") }
                pattern = .relativeMonthly(interval: rule.interval, daysOfWeek: day, index: index)
            } else {
                pattern = .absoluteMonthly(
                    interval: rule.interval, dayOfMonth: try single(rule.byMonthDay, default: start.day, "BYMONTHDAY"))
            }
        case .yearly:
            guard rule.interval == 1 else { throw unsupported.init(reason: "INTERVAL on YEARLY") }
            let month = EWSRecurrence.monthNames[try single(rule.byMonth, default: start.month, "BYMONTH") - 1]
            if let (day, index) = try relativeDay() {
                guard rule.byMonthDay.isEmpty else { throw unsupported.init(reason: "BYDAY with BYMONTHDAY") }
                pattern = .relativeYearly(daysOfWeek: day, index: index, month: month)
            } else {
                pattern = .absoluteYearly(
                    dayOfMonth: try single(rule.byMonthDay, default: start.day, "BYMONTHDAY"), month: month)
            }
        }
    }

    /// The RFC 5545 rule for this recurrence (canonical form; the series start is the item's Start).
    public var rule: RecurrenceRule {
        var rule = RecurrenceRule(frequency: .daily)
        func byDay(_ day: DayName, _ index: String) {
            let ordinal = EWSRecurrence.indexNames.first { $0.value == index }?.key ?? 1
            if let single = EWSRecurrence.weekdays[day] {
                rule.byDay = [.init(single, ordinal: ordinal)]
            } else {
                rule.byDay = (EWSRecurrence.groups[day] ?? []).map { .init($0) }
                rule.bySetPosition = ordinal
            }
        }
        func month(_ name: String) -> Int { (EWSRecurrence.monthNames.firstIndex(of: name) ?? 0) + 1 }
        switch pattern {
        case .daily(let interval):
            rule.interval = interval
        case .weekly(let interval, let days, let first):
            rule.frequency = .weekly
            rule.interval = interval
            rule.byDay = days.flatMap { EWSRecurrence.weekdays[$0].map { [$0] } ?? EWSRecurrence.groups[$0] ?? [] }.map
            { .init($0) }
            rule.weekStart = first.flatMap { EWSRecurrence.weekdays[$0] }
        case .absoluteMonthly(let interval, let day):
            rule.frequency = .monthly
            rule.interval = interval
            rule.byMonthDay = [day]
        case .relativeMonthly(let interval, let day, let index):
            rule.frequency = .monthly
            rule.interval = interval
            byDay(day, index)
        case .absoluteYearly(let day, let name):
            rule.frequency = .yearly
            rule.byMonth = [month(name)]
            rule.byMonthDay = [day]
        case .relativeYearly(let day, let index, let name):
            rule.frequency = .yearly
            rule.byMonth = [month(name)]
            byDay(day, index)
        }
        switch range {
        case .noEnd: rule.end = .never
        case .endDate(_, let end): rule.end = .until(end)
        case .numbered(_, let n): rule.end = .count(n)
        }
        return rule
    }
}

/// An RRULE that EWS cannot represent; the reason names the rule part, never record data.
public struct RecurrenceConversionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "recurrence not representable in EWS: \(reason)" }
}

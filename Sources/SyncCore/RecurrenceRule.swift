import Foundation

/// The subset of RFC 5545 recurrence rules that Exchange can represent, as a value.
///
/// Parse with ``init(rrule:)`` and format with ``rrule``; formatting is canonical (fixed part order), so
/// equal rules give equal text. `UNTIL` is kept as a date (Exchange stores a series end as a date).
public struct RecurrenceRule: Sendable, Hashable, Codable {
    /// `FREQ`.
    public enum Frequency: String, Sendable, Hashable, Codable {
        case daily = "DAILY", weekly = "WEEKLY", monthly = "MONTHLY", yearly = "YEARLY"
    }

    /// A day of the week (`MO`…`SU`).
    public enum Weekday: String, Sendable, Hashable, Codable, CaseIterable {
        case monday = "MO", tuesday = "TU", wednesday = "WE", thursday = "TH", friday = "FR", saturday = "SA", sunday =
            "SU"
    }

    /// A `BYDAY` entry: a weekday, optionally with an ordinal (`2TU` = second Tuesday, `-1FR` = last Friday).
    public struct WeekdayNumber: Sendable, Hashable, Codable {
        public var weekday: Weekday
        /// 1...4 or -1 (last); nil for every such weekday.
        public var ordinal: Int?
        public init(_ weekday: Weekday, ordinal: Int? = nil) { self.weekday = weekday; self.ordinal = ordinal }
    }

    /// How the series ends.
    public enum End: Sendable, Hashable, Codable {
        case never
        case count(Int)
        /// The last day on which an occurrence may start.
        case until(LocalDate)
    }

    public var frequency: Frequency
    public var interval: Int
    public var byDay: [WeekdayNumber]
    public var byMonthDay: [Int]
    public var byMonth: [Int]
    /// `BYSETPOS` (Outlook writes `BYDAY=MO,TU;BYSETPOS=2` for "second Monday or Tuesday").
    public var bySetPosition: Int?
    public var weekStart: Weekday?
    public var end: End

    public init(
        frequency: Frequency, interval: Int = 1, byDay: [WeekdayNumber] = [], byMonthDay: [Int] = [],
        byMonth: [Int] = [], bySetPosition: Int? = nil, weekStart: Weekday? = nil, end: End = .never
    ) {
        self.frequency = frequency
        self.interval = interval
        self.byDay = byDay
        self.byMonthDay = byMonthDay
        self.byMonth = byMonth
        self.bySetPosition = bySetPosition
        self.weekStart = weekStart
        self.end = end
    }

    /// A parse failure, naming the offending part (the rule is CRM data: the description shows only the part name).
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var part: String
        public var description: String { "unsupported or malformed RRULE part \(part)" }
    }

    /// Parses an RRULE value (`FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`, an optional `RRULE:` prefix is accepted).
    public init(rrule text: String) throws(ParseError) {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if body.uppercased().hasPrefix("RRULE:") { body = body.dropFirst(6) }
        var frequency: Frequency?
        var rule = RecurrenceRule(frequency: .daily)
        for part in body.split(separator: ";") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2 else { throw ParseError(part: String(part.prefix(20))) }
            let key = pieces[0].uppercased(), value = String(pieces[1]).uppercased()
            let bad = ParseError(part: key)
            switch key {
            case "FREQ":
                guard let f = Frequency(rawValue: value) else { throw bad }
                frequency = f
            case "INTERVAL":
                guard let n = Int(value), n >= 1 else { throw bad }
                rule.interval = n
            case "COUNT":
                guard let n = Int(value), n >= 1 else { throw bad }
                rule.end = .count(n)
            case "UNTIL":
                guard let date = RecurrenceRule.parseUntil(value) else { throw bad }
                rule.end = .until(date)
            case "BYDAY":
                rule.byDay = try value.split(separator: ",").map { (item) throws(ParseError) in
                    guard let entry = RecurrenceRule.parseWeekdayNumber(item) else { throw bad }
                    return entry
                }
            case "BYMONTHDAY":
                rule.byMonthDay = try RecurrenceRule.parseInts(value, range: -31...31, error: bad)
            case "BYMONTH":
                rule.byMonth = try RecurrenceRule.parseInts(value, range: 1...12, error: bad)
            case "BYSETPOS":
                guard let n = Int(value), (-1...4).contains(n), n != 0 else { throw bad }
                rule.bySetPosition = n
            case "WKST":
                guard let day = Weekday(rawValue: value) else { throw bad }
                rule.weekStart = day
            default:
                throw bad
            }
        }
        guard let frequency else { throw ParseError(part: "FREQ") }
        rule.frequency = frequency
        self = rule
    }

    /// The canonical RRULE value (no `RRULE:` prefix).
    public var rrule: String {
        var parts = ["FREQ=\(frequency.rawValue)"]
        if interval != 1 { parts.append("INTERVAL=\(interval)") }
        if !byMonth.isEmpty { parts.append("BYMONTH=" + byMonth.map(String.init).joined(separator: ",")) }
        if !byMonthDay.isEmpty { parts.append("BYMONTHDAY=" + byMonthDay.map(String.init).joined(separator: ",")) }
        if !byDay.isEmpty {
            parts.append(
                "BYDAY="
                    + byDay.map { ($0.ordinal.map(String.init) ?? "") + $0.weekday.rawValue }.joined(separator: ","))
        }
        if let bySetPosition { parts.append("BYSETPOS=\(bySetPosition)") }
        if let weekStart { parts.append("WKST=\(weekStart.rawValue)") }
        switch end {
        case .never: break
        case .count(let n): parts.append("COUNT=\(n)")
        case .until(let date): parts.append("UNTIL=" + date.description.replacingOccurrences(of: "-", with: ""))
        }
        return parts.joined(separator: ";")
    }

    static func parseUntil(_ value: String) -> LocalDate? {
        // 20240131 or 20240131T235959Z (the date part is what Exchange keeps).
        let digits = Array(value.utf8)
        guard digits.count >= 8, digits.prefix(8).allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let number = Int(String(decoding: digits.prefix(8), as: UTF8.self))!
        if digits.count > 8 {
            guard digits[8] == UInt8(ascii: "T"), digits.count >= 15 else { return nil }
        }
        return LocalDate(year: number / 10_000, month: number / 100 % 100, day: number % 100)
    }

    static func parseWeekdayNumber(_ item: Substring) -> WeekdayNumber? {
        guard item.count >= 2, let day = Weekday(rawValue: String(item.suffix(2))) else { return nil }
        let prefix = item.dropLast(2)
        if prefix.isEmpty { return WeekdayNumber(day) }
        guard let ordinal = Int(prefix.hasPrefix("+") ? prefix.dropFirst() : prefix), (-1...4).contains(ordinal),
            ordinal != 0
        else {
            return nil
        }
        return WeekdayNumber(day, ordinal: ordinal)
    }

    static func parseInts(_ value: String, range: ClosedRange<Int>, error: ParseError) throws(ParseError) -> [Int] {
        try value.split(separator: ",").map { (item) throws(ParseError) in
            guard let n = Int(item), range.contains(n), n != 0 else { throw error }
            return n
        }
    }
}

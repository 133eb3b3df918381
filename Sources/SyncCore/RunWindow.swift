import Foundation

/// The time a run may use: it stops cleanly at a batch boundary once ``deadline`` has passed.
public struct RunWindow: Sendable, Hashable {
    /// When to stop taking new batches; nil: no limit.
    public var deadline: Date?

    public init(deadline: Date?) { self.deadline = deadline }

    /// No limit.
    public static let unlimited = RunWindow(deadline: nil)

    /// A malformed `--until` or `--max-duration` value.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var value: String
        public var expected: String
        public var description: String { "invalid window '\(value)': expected \(expected)" }
    }

    /// The window from `--until HH:MM` (the next such wall-clock time in `timeZone`, today or tomorrow)
    /// and/or `--max-duration` (`2h`, `90m`, `1h30m`, `45s`); the earlier deadline wins.
    public static func parse(
        until: String?, maxDuration: String?, now: Date, timeZone: TimeZone = .current
    ) throws(ParseError) -> RunWindow {
        var deadlines: [Date] = []
        if let until {
            deadlines.append(try nextWallClock(until, after: now, timeZone: timeZone))
        }
        if let maxDuration {
            deadlines.append(now.addingTimeInterval(try seconds(of: maxDuration)))
        }
        return RunWindow(deadline: deadlines.min())
    }

    /// True once the deadline has passed.
    public func hasEnded(at now: Date) -> Bool {
        guard let deadline else { return false }
        return now >= deadline
    }

    static func nextWallClock(_ text: String, after now: Date, timeZone: TimeZone) throws(ParseError) -> Date {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else {
            throw ParseError(value: text, expected: "HH:MM (24-hour clock)")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var components = calendar.dateComponents([.year, .month, .day], from: now)
        components.hour = hour
        components.minute = minute
        components.second = 0
        guard var candidate = calendar.date(from: components) else {
            throw ParseError(value: text, expected: "HH:MM (24-hour clock)")
        }
        if candidate <= now, let tomorrow = calendar.date(byAdding: .day, value: 1, to: candidate) {
            candidate = tomorrow
        }
        return candidate
    }

    /// Seconds of a duration such as `2h`, `90m`, `1h30m`, `45s`, or a bare number of seconds.
    public static func seconds(of text: String) throws(ParseError) -> TimeInterval {
        let expected = "a duration such as 2h, 90m, 1h30m or 45s"
        if let plain = Double(text), plain > 0 { return plain }
        var total: TimeInterval = 0
        var number = ""
        var sawUnit = false
        for character in text.lowercased() {
            if character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { throw ParseError(value: text, expected: expected) }
            switch character {
            case "d": total += value * 86_400
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: throw ParseError(value: text, expected: expected)
            }
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty, total > 0 else { throw ParseError(value: text, expected: expected) }
        return total
    }
}

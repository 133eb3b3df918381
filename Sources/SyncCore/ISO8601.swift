import Foundation

/// A hand-written ISO 8601 / XML Schema date parser and formatter: no Foundation formatter, no
/// allocation, timegm-class speed (see docs/performance-notes.md: `ISO8601DateFormatter` would cap a
/// pipeline near 21k items/s).
///
/// Accepted date-times: `YYYY-MM-DDTHH:MM:SS` with optional fraction (any number of digits) and an
/// optional zone `Z` or `±HH:MM` (`±HHMM`, `±HH` too); no zone means UTC (Exchange's convention).
/// Accepted dates: `YYYY-MM-DD` with an optional zone, which is ignored.
public enum ISO8601 {
    /// Parses a date-time; nil when malformed or out of range.
    @inlinable
    public static func parseDateTime(_ text: UnsafeBufferPointer<UInt8>) -> Date? {
        let n = text.count
        guard n >= 19, let date = parseDateFields(text), text[10] == UInt8(ascii: "T") || text[10] == UInt8(ascii: " "),
            text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"),
            let hour = twoDigits(text, 11), let minute = twoDigits(text, 14), let second = twoDigits(text, 17),
            hour <= 24, minute <= 59, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < n, text[index] == UInt8(ascii: ".") || text[index] == UInt8(ascii: ",") {
            index += 1
            var scale = 0.1
            let start = index
            while index < n, let digit = digitValue(text[index]) {
                fraction += Double(digit) * scale
                scale *= 0.1
                index += 1
            }
            guard index > start else { return nil }
        }
        guard let offset = parseZone(text, from: index) else { return nil }
        let days = daysFromCivil(year: date.year, month: date.month, day: date.day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Parses a date-time from a String.
    public static func parseDateTime(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parseDateTime($0) }
    }

    /// Parses a date (`YYYY-MM-DD` with an optional, ignored zone).
    @inlinable
    public static func parseDate(_ text: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        guard text.count >= 10, let fields = parseDateFields(text), parseZone(text, from: 10) != nil else { return nil }
        return fields
    }

    /// Formats an instant as `YYYY-MM-DDTHH:MM:SSZ` (with `.fff` when it has milliseconds).
    public static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let whole = Int(interval.rounded(.down))
        let millis = Int(((interval - Double(whole)) * 1000).rounded())
        let (wholeSeconds, ms) = millis == 1000 ? (whole + 1, 0) : (whole, millis)
        let days = Int((Double(wholeSeconds) / 86_400).rounded(.down))
        let secondOfDay = wholeSeconds - days * 86_400
        let day = LocalDate(daysSinceEpoch: days)
        var out = day.description + "T"
        out += pad2(secondOfDay / 3_600) + ":" + pad2(secondOfDay / 60 % 60) + ":" + pad2(secondOfDay % 60)
        if ms != 0 {
            let digits = String(ms)
            out += "." + String(repeating: "0", count: 3 - digits.count) + digits
        }
        return out + "Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    @inlinable
    static func parseDateFields(_ text: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        guard text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
            let y1 = twoDigits(text, 0), let y2 = twoDigits(text, 2),
            let month = twoDigits(text, 5), let day = twoDigits(text, 8)
        else { return nil }
        return LocalDate(year: y1 * 100 + y2, month: month, day: day)
    }

    /// The zone offset in seconds east of UTC starting at `index` (0 for `Z` or nothing), nil if malformed.
    @inlinable
    static func parseZone(_ text: UnsafeBufferPointer<UInt8>, from index: Int) -> Int? {
        let n = text.count
        if index == n { return 0 }
        let sign = text[index]
        if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") { return index + 1 == n ? 0 : nil }
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), index + 3 <= n,
            let hours = twoDigits(text, index + 1), hours <= 14
        else { return nil }
        var minutes = 0
        switch n - (index + 3) {
        case 0: break
        case 2: guard let m = twoDigits(text, index + 3) else { return nil }; minutes = m
        case 3:
            guard text[index + 3] == UInt8(ascii: ":"), let m = twoDigits(text, index + 4) else { return nil };
            minutes = m
        default: return nil
        }
        guard minutes <= 59 else { return nil }
        let offset = hours * 3_600 + minutes * 60
        return sign == UInt8(ascii: "-") ? -offset : offset
    }

    @inlinable
    static func twoDigits(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int? {
        guard let a = digitValue(text[index]), let b = digitValue(text[index + 1]) else { return nil }
        return a * 10 + b
    }

    @inlinable
    static func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte &- UInt8(ascii: "0")) : nil
    }
}

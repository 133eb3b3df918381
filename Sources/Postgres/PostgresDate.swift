import Foundation

/// A calendar date without a time or time zone: a PostgreSQL `date`.
public struct PostgresDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// A date from its parts (not validated beyond what the server checks on use).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        var buffer: [UInt8] = []
        encodePostgresText(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

extension PostgresDate: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 1082 }
    public static var postgresArrayType: PostgresTypeOID { 1182 }
    public func encodePostgresText(into buffer: inout [UInt8]) {
        PostgresCalendar.appendDate(year: year, month: month, day: day, to: &buffer)
    }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> PostgresDate {
        guard let text else { throw nullError(PostgresDate.self) }
        guard text.count == 10, let year = PostgresCalendar.digits(text, 0, 4),
            let month = PostgresCalendar.digits(text, 5, 2), let day = PostgresCalendar.digits(text, 8, 2)
        else {
            throw invalidText(PostgresDate.self, text)
        }
        return PostgresDate(year: year, month: month, day: day)
    }
}

/// `timestamptz` in the session time zone UTC (set on connect), text form `YYYY-MM-DD HH:MM:SS[.ffffff]+00`.
/// Hand-written both ways: Foundation's ISO 8601 formatters would cap bulk loads (see performance notes).
extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 1184 }
    public static var postgresArrayType: PostgresTypeOID { 1185 }

    public func encodePostgresText(into buffer: inout [UInt8]) {
        let totalMicros = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        var days = totalMicros / 86_400_000_000
        var micros = totalMicros % 86_400_000_000
        if micros < 0 { micros += 86_400_000_000; days -= 1 }
        let (year, month, day) = PostgresCalendar.civil(fromDays: days)
        PostgresCalendar.appendDate(year: year, month: month, day: day, to: &buffer)
        let seconds = micros / 1_000_000
        buffer.append(UInt8(ascii: " "))
        PostgresCalendar.appendTwo(Int(seconds / 3600), to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        PostgresCalendar.appendTwo(Int(seconds / 60 % 60), to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        PostgresCalendar.appendTwo(Int(seconds % 60), to: &buffer)
        let fraction = micros % 1_000_000
        if fraction != 0 {
            buffer.append(UInt8(ascii: "."))
            var divisor: Int64 = 100_000
            while divisor > 0 {
                buffer.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
                divisor /= 10
            }
        }
        buffer.append(contentsOf: "+00".utf8)
    }

    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Date {
        guard let text else { throw nullError(Date.self) }
        guard let date = PostgresCalendar.parseTimestamp(text) else { throw invalidText(Date.self, text) }
        return date
    }
}

enum PostgresCalendar {
    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    /// (year, month, day) → days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func appendTwo(_ value: Int, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    static func appendDate(year: Int, month: Int, day: Int, to buffer: inout [UInt8]) {
        let y = max(0, min(year, 9999))
        appendTwo(y / 100, to: &buffer)
        appendTwo(y % 100, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        appendTwo(month, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        appendTwo(day, to: &buffer)
    }

    static func digits(_ text: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= text.count else { return nil }
        var value = 0
        for index in start..<(start + count) {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.f{1,6}][+-HH[:MM[:SS]]]`; `infinity` forms map to distant dates.
    static func parseTimestamp(_ text: UnsafeRawBufferPointer) -> Date? {
        if text.count >= 8, text[0] == UInt8(ascii: "i") { return .distantFuture }
        if text.count >= 9, text[0] == UInt8(ascii: "-"), text[1] == UInt8(ascii: "i") { return .distantPast }
        guard text.count >= 19, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
            text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"),
            let year = digits(text, 0, 4), let month = digits(text, 5, 2), let day = digits(text, 8, 2),
            let hour = digits(text, 11, 2), let minute = digits(text, 14, 2), let second = digits(text, 17, 2)
        else {
            return nil
        }
        var index = 19
        var micros: Int64 = 0
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000
            while index < text.count, let digit = digits(text, index, 1) {
                micros += Int64(digit) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < text.count {
            let sign = text[index] == UInt8(ascii: "-") ? -1 : 1
            guard text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-"),
                let hours = digits(text, index + 1, 2)
            else { return nil }
            offsetSeconds = hours * 3600
            index += 3
            if index < text.count, text[index] == UInt8(ascii: ":"), let minutes = digits(text, index + 1, 2) {
                offsetSeconds += minutes * 60
                index += 3
                if index < text.count, text[index] == UInt8(ascii: ":"), let secs = digits(text, index + 1, 2) {
                    offsetSeconds += secs
                    index += 3
                }
            }
            offsetSeconds *= sign
        }
        // " BC" suffixes are not produced for dates snapsync stores.
        let dayCount = days(year: year, month: month, day: day)
        let seconds = dayCount * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}

import Foundation

/// Typed comparison of property values, as Exchange compares them in restrictions and sort orders:
/// date-times by instant, numbers numerically, booleans, and strings case-insensitively.
enum FieldValue {
    static let dateTimeFields: Set<String> = [
        "Start", "End", "Birthday", "WeddingAnniversary", "DueDate", "StartDate", "CompleteDate",
        "DateTimeCreated", "DateTimeReceived", "DateTimeSent", "LastModifiedTime", "ReminderDueBy",
        "ReminderNextTime", "RecurrenceId", "OriginalStart", "DateTimeStamp", "AppointmentReplyTime", "AssignedTime",
    ]

    /// Parses xs:dateTime / xs:date (`2024-05-01T10:00:00.123+02:00`, `...Z`, no zone = UTC) to epoch seconds.
    static func parseDate(_ s: String) -> Double? {
        var s = s
        return s.withUTF8 { parseDate($0) }
    }

    static func parseDate(_ u: UnsafeBufferPointer<UInt8>) -> Double? {
        func num(_ a: Int, _ n: Int) -> Int? {
            guard a + n <= u.count else { return nil }
            var v = 0
            for i in a..<(a + n) {
                let c = u[i]; guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), u.count >= 10, u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2) else {
            return nil
        }
        var h = 0, mi = 0, se = 0.0, i = 10
        if u.count > 10 && u[10] == UInt8(ascii: "T") {
            guard let hh = num(11, 2), let mm = num(14, 2), let ss = num(17, 2) else { return nil }
            h = hh; mi = mm; se = Double(ss); i = 19
            if i < u.count && u[i] == UInt8(ascii: ".") {
                var frac = 0.0, scale = 0.1
                i += 1
                while i < u.count, u[i] >= 48, u[i] <= 57 { frac += Double(u[i] - 48) * scale; scale /= 10; i += 1 }
                se += frac
            }
        }
        var offset = 0
        if i < u.count {
            if u[i] == UInt8(ascii: "Z") {
                i += 1
            } else if u[i] == 43 || u[i] == 45, let oh = num(i + 1, 2), let om = num(i + 4, 2) {
                offset = (oh * 3600 + om * 60) * (u[i] == 45 ? -1 : 1); i += 6
            } else {
                return nil
            }
        }
        guard i == u.count else { return nil }
        return Double(days(year: y, month: mo, day: d) * 86_400 + h * 3600 + mi * 60 - offset) + se
    }

    /// `2024-05-01T10:00:00` followed by `suffix` (`Z` unless told), in UTC.
    static func formatDate(_ seconds: Double, suffix: String = "Z") -> String {
        let t = Int(seconds.rounded(.down))
        let (year, month, day) = civil(days: t.floorDivided(by: 86_400))
        let time = t.floorModulo(86_400)
        guard (0...9999).contains(year) else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, time / 3600, time / 60 % 60, time % 60)
                + suffix
        }
        // Written digit by digit: the simulator formats several dates per item it stores.
        var suffix = suffix
        return suffix.withUTF8 { tail in
            String(unsafeUninitializedCapacity: 19 + tail.count) { out in
                var i = 0
                func put(_ value: Int, _ width: Int) {
                    var v = value
                    for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
                    i += width
                }
                func sep(_ c: UInt8) { out[i] = c; i += 1 }
                put(year, 4); sep(0x2D); put(month, 2); sep(0x2D); put(day, 2); sep(0x54)
                put(time / 3600, 2); sep(0x3A); put(time / 60 % 60, 2); sep(0x3A); put(time % 60, 2)
                for byte in tail { sep(byte) }
                return i
            }
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date. Fields out of range carry over, as the C library's
    /// timegm lets them: month 13 is the next January, 31 April is 1 May.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let months = year * 12 + month - 1
        let (year, month) = (months.floorDivided(by: 12), months.floorModulo(12) + 1)
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDivided(by: 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, dayOfYear - (153 * shifted + 2) / 5 + 1)
    }

    /// Normalises a stored date-time to UTC `Z` form; other values unchanged.
    /// A stored PercentComplete as a whole percentage from 0 to 100 (writes are checked; a value that is not a
    /// number reads as 0).
    static func percent(_ text: String) -> Int {
        // An integer as written (the common case) without going through Double.
        if let whole = Int(text) { return min(max(whole, 0), 100) }
        guard let value = Double(text), !value.isNaN else { return 0 }
        return Int(min(max(value, 0), 100))
    }

    static func normalize(field: String, _ value: String) -> String {
        guard dateTimeFields.contains(field), let d = parseDate(value.trimmedOfWhitespace) else { return value }
        return formatDate(d)
    }

    /// Three-way comparison of two values of a field.
    static func compare(_ a: String, _ b: String) -> Int {
        if let x = parseDate(a), let y = parseDate(b) { return x < y ? -1 : (x > y ? 1 : 0) }
        if let x = Double(a), let y = Double(b) { return x < y ? -1 : (x > y ? 1 : 0) }
        let la = a.lowercased(), lb = b.lowercased()
        if la == "true" || la == "false", lb == "true" || lb == "false" {
            return la == lb ? 0 : (la == "false" ? -1 : 1)
        }
        return la < lb ? -1 : (la > lb ? 1 : 0)
    }
}

extension Int {
    /// The quotient rounded toward negative infinity.
    fileprivate func floorDivided(by d: Int) -> Int { self >= 0 ? self / d : -((-self - 1) / d) - 1 }
    /// The remainder of ``floorDivided(by:)``, in 0..<d.
    fileprivate func floorModulo(_ d: Int) -> Int { self - floorDivided(by: d) * d }
}

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
        let u = Array(s.utf8)
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
        var t = tm()
        t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
        t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = 0
        return Double(timegm(&t)) + se - Double(offset)
    }

    /// Formats epoch seconds as Exchange does: `2024-05-01T08:00:00Z`.
    static func formatDate(_ seconds: Double) -> String {
        var t = Int(seconds.rounded(.down))
        var tmv = tm()
        gmtime_r(&t, &tmv)
        guard (0...9999).contains(tmv.tm_year + 1900) else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
                tmv.tm_hour, tmv.tm_min, tmv.tm_sec)
        }
        // Written digit by digit: the simulator formats several dates per item it stores.
        return String(unsafeUninitializedCapacity: 20) { out in
            var i = 0
            func put(_ value: Int32, _ width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
                i += width
            }
            func sep(_ c: Character) { out[i] = c.asciiValue!; i += 1 }
            put(tmv.tm_year + 1900, 4); sep("-"); put(tmv.tm_mon + 1, 2); sep("-"); put(tmv.tm_mday, 2); sep("T")
            put(tmv.tm_hour, 2); sep(":"); put(tmv.tm_min, 2); sep(":"); put(tmv.tm_sec, 2); sep("Z")
            return i
        }
    }

    /// Normalises a stored date-time to UTC `Z` form; other values unchanged.
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

import Foundation
import SyncCore

/// Graph's `dateTimeTimeZone` values and date-only values.
enum GraphDates {
    /// `{"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": zone}` for an instant, the local time in `zone`
    /// (a Windows or IANA name; UTC when unknown, with the zone named UTC).
    static func dateTimeTimeZone(_ instant: Date, zone: String?) -> GraphJSON {
        let name = zone?.isEmpty == false ? zone! : "UTC"
        guard let timeZone = GraphTimeZones.timeZone(name) else {
            return ["dateTime": .string(local(instant, offset: 0)), "timeZone": "UTC"]
        }
        return [
            "dateTime": .string(local(instant, offset: timeZone.secondsFromGMT(for: instant))),
            "timeZone": .string(name),
        ]
    }

    static func local(_ instant: Date, offset: Int) -> String {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down)) + offset
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let (y, m, d) = ISO8601.civilFromDays(days)
        let s = seconds - days * 86_400
        if (0...9999).contains(y) {
            // The common case written in place: `YYYY-MM-DDTHH:MM:SS.0000000`.
            return String(unsafeUninitializedCapacity: 27) { text in
                func put(_ n: Int, digits: Int, at offset: Int) {
                    var n = n
                    for i in stride(from: offset + digits - 1, through: offset, by: -1) {
                        text[i] = UInt8(ascii: "0") + UInt8(n % 10)
                        n /= 10
                    }
                }
                put(y, digits: 4, at: 0)
                put(m, digits: 2, at: 5)
                put(d, digits: 2, at: 8)
                put(s / 3600, digits: 2, at: 11)
                put(s / 60 % 60, digits: 2, at: 14)
                put(s % 60, digits: 2, at: 17)
                (text[4], text[7], text[10]) = (UInt8(ascii: "-"), UInt8(ascii: "-"), UInt8(ascii: "T"))
                (text[13], text[16], text[19]) = (UInt8(ascii: ":"), UInt8(ascii: ":"), UInt8(ascii: "."))
                for i in 20..<27 { text[i] = UInt8(ascii: "0") }
                return 27
            }
        }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(y)
        return
            "\(String(repeating: "0", count: max(0, 4 - year.count)) + year)-\(two(m))-\(two(d))T\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60)).0000000"
    }

    /// The instant of a `dateTimeTimeZone` value; nil when absent or unreadable.
    static func instant(_ value: GraphJSON?) -> Date? {
        guard var text = value?["dateTime"]?.string else { return nil }
        // The wall time to the second (Graph writes seven digits of fraction, never a zone), read as UTC.
        guard let wall = text.withUTF8({ $0.count >= 19 ? ISO8601.parseDateTime(.init(rebasing: $0[..<19])) : nil })
        else { return nil }
        let zone = value?["timeZone"]?.string ?? "UTC"
        if zone == "UTC" { return wall }  // what snapsync asks Graph for (`outlook.timezone`)
        guard let timeZone = GraphTimeZones.timeZone(zone) else { return nil }
        // Local wall time to UTC: the offset at the wall time taken as UTC is right except within a transition hour.
        let offset = timeZone.secondsFromGMT(for: wall.addingTimeInterval(-Double(timeZone.secondsFromGMT(for: wall))))
        return wall.addingTimeInterval(-Double(offset))
    }

    /// Noon UTC of a day: the same calendar day in every zone from UTC-11 to UTC+11.
    static func dateOnly(_ date: LocalDate) -> GraphJSON {
        ["dateTime": .string(local(date.startOfDayUTC.addingTimeInterval(12 * 3600), offset: 0)), "timeZone": "UTC"]
    }

    /// The day a date-only value stands for: a time between 10:00 and 14:00 UTC is its UTC date, anything else
    /// (local midnight, as To Do and Outlook write) is rounded to the nearest midnight.
    static func day(_ value: GraphJSON?) -> LocalDate? {
        guard let instant = instant(value) else { return nil }
        return day(of: instant)
    }

    static func day(of instant: Date) -> LocalDate {
        let seconds = instant.timeIntervalSince1970
        let secondOfDay = seconds - (seconds / 86_400).rounded(.down) * 86_400
        if (10 * 3600...14 * 3600).contains(secondOfDay) { return LocalDate(utcDateOf: instant) }
        return LocalDate(utcDateOf: instant.addingTimeInterval(12 * 3600))
    }

    /// An `Edm.DateTimeOffset` (`2024-03-04T09:00:00Z`, with or without fractions or an offset).
    static func offsetDateTime(_ value: GraphJSON?) -> Date? {
        value?.string.flatMap(ISO8601.parseDateTime)
    }
}

/// Windows time zone names (as Exchange and the CRM keep them) and IANA ids.
enum GraphTimeZones {
    static let windows: [String: String] = [
        "UTC": "UTC", "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
        "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
        "Romance Standard Time": "Europe/Paris", "Central European Standard Time": "Europe/Warsaw",
        "E. Europe Standard Time": "Europe/Chisinau", "FLE Standard Time": "Europe/Kiev",
        "GTB Standard Time": "Europe/Bucharest",
        "Russian Standard Time": "Europe/Moscow", "Turkey Standard Time": "Europe/Istanbul",
        "Israel Standard Time": "Asia/Jerusalem",
        "South Africa Standard Time": "Africa/Johannesburg", "Arabian Standard Time": "Asia/Dubai",
        "India Standard Time": "Asia/Kolkata",
        "China Standard Time": "Asia/Shanghai", "Singapore Standard Time": "Asia/Singapore",
        "Tokyo Standard Time": "Asia/Tokyo",
        "Korea Standard Time": "Asia/Seoul", "AUS Eastern Standard Time": "Australia/Sydney",
        "New Zealand Standard Time": "Pacific/Auckland",
        "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
        "Mountain Standard Time": "America/Denver",
        "US Mountain Standard Time": "America/Phoenix", "Pacific Standard Time": "America/Los_Angeles",
        "Alaskan Standard Time": "America/Anchorage",
        "Hawaiian Standard Time": "Pacific/Honolulu", "Atlantic Standard Time": "America/Halifax",
        "E. South America Standard Time": "America/Sao_Paulo",
        "SA Pacific Standard Time": "America/Bogota", "Central America Standard Time": "America/Guatemala",
    ]

    /// The zone a Windows or IANA name stands for; nil when neither.
    static func timeZone(_ name: String) -> TimeZone? {
        if name == "UTC" || name == "tzone://Microsoft/Utc" || name == "Coordinated Universal Time" {
            return TimeZone(secondsFromGMT: 0)
        }
        if let iana = windows[name] { return TimeZone(identifier: iana) }
        return TimeZone(identifier: name)
    }
}

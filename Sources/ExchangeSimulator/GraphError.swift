import Foundation

/// A Microsoft Graph error as Exchange Online reports it: the HTTP status, the `error.code` and message,
/// and response headers it comes with (`Retry-After`). Rendered as
/// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
struct GraphError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    var headers: [(String, String)] = []

    init(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) {
        self.status = status; self.code = code; self.message = message; self.headers = headers
    }

    /// The error envelope with its `innerError` (the request's ids and the date, as the service sends them).
    func body(requestId: String, clientRequestId: String?, date: Double) -> [UInt8] {
        var inner: [(String, JSON)] = [
            ("date", .string(GraphDates.isoSeconds(date))), ("request-id", .string(requestId)),
        ]
        inner.append(("client-request-id", .string(clientRequestId ?? requestId)))
        return JSON.object([
            (
                "error",
                .object([("code", .string(code)), ("message", .string(message)), ("innerError", .object(inner))])
            )
        ]).bytes
    }

    // MARK: the errors Graph returns

    static func badRequest(_ message: String) -> GraphError { GraphError(400, "BadRequest", message) }
    static func invalidRequest(_ message: String) -> GraphError { GraphError(400, "ErrorInvalidRequest", message) }
    static func requestBodyRead(_ message: String) -> GraphError { GraphError(400, "RequestBodyRead", message) }
    static func invalidProperty(_ name: String, type: String) -> GraphError {
        GraphError(
            400, "RequestBodyRead",
            "The property '\(name)' does not exist on type '\(type)'. Make sure to only use property names that are defined by the type or mark the type as open type."
        )
    }
    static func wrongType(_ name: String, expected: String) -> GraphError {
        GraphError(
            400, "RequestBodyRead",
            "Cannot convert the literal for property '\(name)' to the expected type '\(expected)'.")
    }
    static func invalidId() -> GraphError { GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.") }
    static func itemNotFound() -> GraphError {
        GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    }
    static func folderNotFound() -> GraphError {
        GraphError(404, "ErrorFolderNotFound", "The specified folder could not be found in the store.")
    }
    static func resourceNotFound(_ path: String) -> GraphError {
        GraphError(400, "BadRequest", "Resource not found for the segment '\(path)'.")
    }
    static func userNotFound(_ user: String) -> GraphError {
        GraphError(404, "ErrorInvalidUser", "The requested user '\(user)' is invalid.")
    }
    static func notSupported(_ what: String) -> GraphError {
        GraphError(400, "BadRequest", "\(what) is not supported.")
    }
    static func invalidAuthenticationToken(_ message: String) -> GraphError {
        GraphError(401, "InvalidAuthenticationToken", message)
    }
    static func accessDenied() -> GraphError { GraphError(403, "ErrorAccessDenied", "Access to OData is disabled.") }
    static func restDisabled() -> GraphError {
        GraphError(
            404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        )
    }
    static func syncStateNotFound() -> GraphError {
        GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")
    }
    static func methodNotAllowed() -> GraphError {
        GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    }
    static func throttled(_ message: String, retryAfter: Int) -> GraphError {
        GraphError(429, "ApplicationThrottled", message, headers: [("Retry-After", String(retryAfter))])
    }
    static func payloadTooLarge(_ limit: Int) -> GraphError {
        GraphError(413, "RequestEntityTooLarge", "The request body exceeds the maximum size of \(limit) bytes.")
    }
    static func conflict() -> GraphError {
        GraphError(
            412, "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
        )
    }
}

/// Date-time text as Graph writes it.
enum GraphDates {
    /// `2024-05-01T08:00:00Z` (created and modified times, `innerError.date` without the zone).
    static func isoSeconds(_ t: Double) -> String { FieldValue.formatDate(t, suffix: "") }

    /// `2024-05-01T08:00:00.0000000` in `timeZone` (the dateTime of a `dateTimeTimeZone`).
    static func local(_ t: Double, in zone: GraphTimeZone) -> String {
        FieldValue.formatDate(t + Double(zone.offset(at: t)), suffix: ".0000000")
    }

    /// An `Edm.DateTimeOffset` (a date that exists, a zone), or nil.
    static func instant(_ text: String) -> Double? {
        guard let t = FieldValue.parseDate(text), validDate(text) else { return nil }
        let tail = text.dropFirst(19)
        return text.hasSuffix("Z") || tail.contains("+") || tail.contains("-") ? t : nil
    }

    /// Whether the `yyyy-mm-dd` the text starts with is a day of the calendar (`2020-02-30` is not): read from the
    /// digits, proleptic Gregorian as the store's dates are.
    static func validDate(_ text: String) -> Bool {
        let u = text.utf8
        guard u.count >= 10 else { return false }
        var digits = (0, 0, 0)
        for (i, b) in u.prefix(10).enumerated() {
            if i == 4 || i == 7 {
                guard b == UInt8(ascii: "-") else { return false }
                continue
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return false }
            let d = Int(b - UInt8(ascii: "0"))
            switch i {
            case 0..<4: digits.0 = digits.0 * 10 + d
            case 5, 6: digits.1 = digits.1 * 10 + d
            default: digits.2 = digits.2 * 10 + d
            }
        }
        // A day of the calendar is one that does not carry over into another month or year.
        return FieldValue.civil(days: FieldValue.days(year: digits.0, month: digits.1, day: digits.2)) == digits
    }

    /// Parses a `dateTimeTimeZone`'s dateTime (no zone: local to `zone`) or an ISO 8601 instant.
    static func parse(_ text: String, in zone: GraphTimeZone) -> Double? {
        let t = text.utf8.count == 16 ? text + ":00" : text
        guard let v = FieldValue.parseDate(t), validDate(t) else { return nil }
        // An offset or `Z` after the seconds makes it an instant.
        if t.utf8.dropFirst(19).contains(where: {
            $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
        }) {
            return v
        }
        return v - Double(zone.offset(at: v - Double(zone.offset(at: v))))
    }
}

/// A time zone a client names in `dateTimeTimeZone.timeZone` or `Prefer: outlook.timezone`: a Windows
/// name (as Outlook writes them) or an IANA name, resolved through the system's zone database.
struct GraphTimeZone: Sendable {
    let name: String
    let zone: TimeZone

    static let utc = GraphTimeZone(name: "UTC", zone: TimeZone(identifier: "UTC")!)

    /// Windows zone names Outlook uses, to their IANA zones (CLDR windowsZones, territory 001).
    static let windowsNames: [String: String] = [
        "UTC": "UTC", "Coordinated Universal Time": "UTC", "GMT Standard Time": "Europe/London",
        "Greenwich Standard Time": "Atlantic/Reykjavik", "W. Europe Standard Time": "Europe/Berlin",
        "Central Europe Standard Time": "Europe/Budapest", "Romance Standard Time": "Europe/Paris",
        "Central European Standard Time": "Europe/Warsaw", "E. Europe Standard Time": "Europe/Chisinau",
        "FLE Standard Time": "Europe/Kiev", "GTB Standard Time": "Europe/Bucharest",
        "Russian Standard Time": "Europe/Moscow",
        "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
        "Mountain Standard Time": "America/Denver", "US Mountain Standard Time": "America/Phoenix",
        "Pacific Standard Time": "America/Los_Angeles", "Alaskan Standard Time": "America/Anchorage",
        "Hawaiian Standard Time": "Pacific/Honolulu", "Atlantic Standard Time": "America/Halifax",
        "E. South America Standard Time": "America/Sao_Paulo", "India Standard Time": "Asia/Kolkata",
        "China Standard Time": "Asia/Shanghai", "Tokyo Standard Time": "Asia/Tokyo",
        "Korea Standard Time": "Asia/Seoul",
        "Singapore Standard Time": "Asia/Singapore", "AUS Eastern Standard Time": "Australia/Sydney",
        "New Zealand Standard Time": "Pacific/Auckland", "Arabian Standard Time": "Asia/Dubai",
        "South Africa Standard Time": "Africa/Johannesburg", "Israel Standard Time": "Asia/Jerusalem",
        "Turkey Standard Time": "Europe/Istanbul",
    ]

    init(name: String, zone: TimeZone) { self.name = name; self.zone = zone }

    /// The zone `name` names, nil for a name neither Windows nor IANA knows (Graph: 400
    /// `TimeZoneNotSupportedException`). Looked up once per distinct name: a `TimeZone` made per value cost more than
    /// the rest of reading an event.
    static func named(_ name: String) -> GraphTimeZone? {
        name == "UTC" ? .utc : memo(name).zone
    }

    /// An optional zone, as the memo keeps it.
    struct Found: Sendable { var zone: GraphTimeZone? }

    static let memo = TextMemo { name in Found(zone: GraphTimeZone(name)) }

    /// nil for a name neither Windows nor IANA knows (Graph: 400 `TimeZoneNotSupportedException`).
    init?(_ name: String) {
        if let iana = Self.windowsNames[name], let z = TimeZone(identifier: iana) {
            self.init(name: name, zone: z); return
        }
        guard name.contains("/") || name == "GMT", let z = TimeZone(identifier: name) else { return nil }
        self.init(name: name, zone: z)
    }

    func offset(at t: Double) -> Int { name == "UTC" ? 0 : zone.secondsFromGMT(for: Date(timeIntervalSince1970: t)) }

    static func unsupported(_ name: String) -> GraphError {
        GraphError(
            400, "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. The following TimeZone value is not supported: '\(name)'.")
    }
}

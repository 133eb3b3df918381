import CLibPQ
import Foundation

/// A connection string (libpq URL or key=value conninfo) as configured, checked before libpq connects: a
/// malformed one is an `invalidConnectionString` failure that says what is wrong without quoting the string, and
/// every libpq message about it is cleaned of its password.
struct PostgresConnectionString {
    let text: String
    /// The password as spelled in the string (raw and percent-decoded), longest first: removed from messages.
    let secrets: [String]

    static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    init(_ text: String) {
        self.text = text
        self.secrets = Self.passwords(in: text)
    }

    var isURL: Bool { text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") }

    /// Throws `.connectionFailed` with ``PostgresError/ConnectionFailure/invalidConnectionString`` when the string
    /// is malformed, names an unknown option, or has a `sslmode` or `port` libpq would refuse.
    func validate() throws(PostgresError) {
        if isURL, let authority = authority, authority.filter({ $0 == "@" }).count > 1 {
            throw invalid(
                "the URL has more than one '@' before its host: a user name or password containing '@' must be written %40"
            )
        }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &message) else {
            let reason = message.map { String(cString: $0) } ?? "cannot be parsed"
            if let message { PQfreemem(message) }
            throw invalid(clean(reason.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        if let mode = values["sslmode"], !Self.sslModes.contains(mode) {
            throw invalid("sslmode must be one of \(Self.sslModes.joined(separator: ", ")), not \"\(clean(mode))\"")
        }
        if let ports = values["port"] {
            for port in ports.split(separator: ",", omittingEmptySubsequences: false) where !port.isEmpty {
                guard let number = Int(port), (1...65535).contains(number) else {
                    throw invalid("port must be a number from 1 to 65535, not \"\(clean(String(port)))\"")
                }
            }
        }
    }

    /// `message` without the string's password (raw or decoded).
    func clean(_ message: String) -> String {
        secrets.reduce(message) { $0.replacingOccurrences(of: $1, with: "[REDACTED]") }
    }

    /// Classifies libpq's message of a failed connection attempt.
    static func failure(of message: String, needsPassword: Bool) -> PostgresError.ConnectionFailure {
        let lowered = message.lowercased()
        let rejected = [
            "password authentication failed", "no password supplied", "authentication failed",
            "does not exist", "pg_hba.conf", "permission denied for database", "password is required",
        ]
        if needsPassword || rejected.contains(where: { lowered.contains($0) }) { return .rejected }
        // libpq's own checks of option values ("invalid sslmode value", "invalid integer value ... for connection option").
        if lowered.hasPrefix("invalid ") { return .invalidConnectionString }
        return .unreachable
    }

    private func invalid(_ reason: String) -> PostgresError {
        PostgresError(
            code: .connectionFailed, message: "invalid connection string: \(reason)",
            connectionFailure: .invalidConnectionString)
    }

    /// A URL's authority (between `://` and the first `/`, `?` or `#`).
    private var authority: Substring? {
        guard let scheme = text.range(of: "://") else { return nil }
        let rest = text[scheme.upperBound...]
        return rest[..<(rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex)]
    }

    /// The passwords the string spells: a URL's userinfo after its first ':' (up to the authority's last '@'), a
    /// `password` query parameter, or a conninfo `password=` value (quoted or not).
    private static func passwords(in text: String) -> [String] {
        var found: [String] = []
        let string = PostgresConnectionString(unchecked: text)
        if string.isURL, let authority = string.authority, let at = authority.lastIndex(of: "@"),
            let colon = authority[..<at].firstIndex(of: ":")
        {
            found.append(String(authority[authority.index(after: colon)..<at]))
        }
        var rest = Substring(text)
        while let key = rest.range(of: "password", options: .caseInsensitive) {
            rest = rest[key.upperBound...].drop { $0 == " " }
            guard rest.first == "=" else { continue }
            rest = rest.dropFirst().drop { $0 == " " }
            if let quote = rest.first, quote == "'" {
                let value = rest.dropFirst().prefix { $0 != quote }
                found.append(String(value))
                rest = rest.dropFirst(value.count + 2)
            } else {
                let value = rest.prefix { !$0.isWhitespace && $0 != "&" }
                found.append(String(value))
                rest = rest.dropFirst(value.count)
            }
        }
        found += found.compactMap { $0.removingPercentEncoding }
        // A fragment of a password after an unencoded '@' is what libpq would take for a host name.
        found += found.flatMap { $0.split(separator: "@").map(String.init) }.filter { $0.count >= 3 }
        return Array(Set(found.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    private init(unchecked text: String) {
        self.text = text
        self.secrets = []
    }
}

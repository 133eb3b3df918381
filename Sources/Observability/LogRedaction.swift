import Foundation
import Logging

/// Keeps secrets out of log lines. Applied by ``StructuredLogHandler`` to every event before it is written:
/// - the value of any metadata key (at any nesting depth) whose name contains `password`, `passwd`, `secret`,
///   `token`, `authorization`, `cookie` or `credential` (case-insensitive) becomes ``marker``;
/// - in every other string (messages and values), the password of a URL's userinfo (`scheme://user:PW@host`)
///   and the value of a `password=` conninfo pair become ``marker``.
public enum LogRedaction {
    /// What a redacted value is replaced with.
    public static let marker = "[REDACTED]"

    static let sensitiveKeyParts = ["password", "passwd", "secret", "token", "authorization", "cookie", "credential"]

    /// Whether values under `key` are secrets.
    public static func isSensitive(key: String) -> Bool {
        let lowered = key.lowercased()
        return sensitiveKeyParts.contains { lowered.contains($0) }
    }

    /// `metadata` with sensitive values replaced and embedded credentials scrubbed.
    public static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = Logger.Metadata()
        for (key, value) in metadata {
            result[key] = isSensitive(key: key) ? .string(marker) : redact(value)
        }
        return result
    }

    static func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(scrub(text))
        case .stringConvertible(let convertible):
            // Numbers and booleans keep their type (JSON writes them unquoted); anything else is scrubbed text.
            convertible is any BinaryInteger || convertible is any BinaryFloatingPoint || convertible is Bool
                ? value : .string(scrub(convertible.description))
        case .array(let values): .array(values.map(redact))
        case .dictionary(let nested): .dictionary(redact(nested))
        }
    }

    /// `text` with URL userinfo passwords and conninfo `password=` values replaced by ``marker``.
    public static func scrub(_ text: String) -> String {
        guard text.contains("://") || text.lowercased().contains("password") else { return text }
        return scrubConninfoPasswords(scrubURLPasswords(text))
    }

    /// `scheme://user:secret@host` → `scheme://user:[REDACTED]@host`, for every URL in `text`.
    private static func scrubURLPasswords(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            // The authority ends at the first '/', '?', '#' or whitespace; userinfo is what precedes its last '@'.
            let authorityEnd = rest.firstIndex { "/?#".contains($0) || $0.isWhitespace } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += String(authority[...colon]) + marker + String(authority[at...])
            } else {
                result += authority
            }
            rest = rest[authorityEnd...]
        }
        return result + rest
    }

    /// `host=db password=secret user=x` → `host=db password=[REDACTED] user=x` (quoted values too).
    private static func scrubConninfoPasswords(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let keyRange = rest.range(of: "password", options: .caseInsensitive) {
            result += rest[..<keyRange.upperBound]
            rest = rest[keyRange.upperBound...]
            var cursor = rest.startIndex
            while cursor < rest.endIndex, rest[cursor] == " " { cursor = rest.index(after: cursor) }
            guard cursor < rest.endIndex, rest[cursor] == "=" || rest[cursor] == ":" else { continue }
            cursor = rest.index(after: cursor)
            while cursor < rest.endIndex, rest[cursor] == " " { cursor = rest.index(after: cursor) }
            result += rest[..<cursor]
            rest = rest[cursor...]
            let valueEnd: Substring.Index
            if let quote = rest.first, quote == "'" || quote == "\"" {
                let afterQuote = rest.index(after: rest.startIndex)
                let close = rest[afterQuote...].firstIndex(of: quote) ?? rest.endIndex
                valueEnd = close == rest.endIndex ? close : rest.index(after: close)
            } else {
                valueEnd = rest.firstIndex { $0.isWhitespace || $0 == "," || $0 == ";" || $0 == "&" } ?? rest.endIndex
            }
            if valueEnd > rest.startIndex { result += marker }
            rest = rest[valueEnd...]
        }
        return result + rest
    }
}

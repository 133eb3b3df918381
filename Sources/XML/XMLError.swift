/// The one error type of the XML module: what went wrong, where, and (for handler errors) why.
///
/// `description` names the position and the kind of problem only; it never includes document content
/// beyond libxml2's short diagnostic, so it is safe to log.
public struct XMLError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Sendable, Hashable {
        /// The bytes are not well-formed XML.
        case malformed
        /// The bytes are not valid UTF-8 (or not in the declared encoding).
        case invalidEncoding
        /// The document ended before its root element was closed.
        case truncated
        /// The document has a DOCTYPE; DTDs and entity declarations are refused (XXE safety).
        case doctypeRefused
        /// The event handler threw; see ``XMLError/underlying``.
        case handler
    }

    /// What kind of failure this is.
    public var code: Code
    /// A short diagnostic (libxml2's message, or the handler error's description).
    public var message: String
    /// 1-based line of the failure, 0 when unknown.
    public var line: Int
    /// 1-based column of the failure, 0 when unknown.
    public var column: Int
    /// The error the event handler threw, when ``code`` is ``Code/handler``.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(code: Code, message: String, line: Int = 0, column: Int = 0, underlying: (any Error & Sendable)? = nil)
    {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.underlying = underlying
    }

    public var description: String {
        let kind: String
        switch code {
        case .malformed: kind = "malformed XML"
        case .invalidEncoding: kind = "invalid UTF-8"
        case .truncated: kind = "truncated document"
        case .doctypeRefused: kind = "DOCTYPE refused"
        case .handler: kind = "rejected by decoder"
        }
        return "\(kind) at line \(line), column \(column): \(message)"
    }
}

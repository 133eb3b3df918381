/// An error from the `Postgres` module: a failed connection, a statement the server rejected, a lost
/// connection, a failed COPY, or a value that could not be decoded.
///
/// ``description`` carries the code, the SQLSTATE and the server's primary message; it never includes the
/// server's ``detail`` (which can quote row values, e.g. the key of a unique violation) nor any parameter.
public struct PostgresError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        /// The connection could not be opened (bad conninfo, server unreachable, authentication failed).
        public static let connectionFailed = Code("connection failed")
        /// The server rejected a statement; see ``PostgresError/sqlState``.
        public static let server = Code("server")
        /// The connection broke while in use.
        public static let connectionLost = Code("connection lost")
        /// A COPY could not be started, fed or finished.
        public static let copyFailed = Code("copy failed")
        /// A result value could not be decoded into the requested Swift type.
        public static let decoding = Code("decoding")
        /// The API was used in a way it does not allow (e.g. a closed connection).
        public static let usage = Code("usage")
        public var description: String { raw }
    }

    /// What failed.
    public var code: Code
    /// The five-character SQLSTATE the server reported (`23505` for a unique violation), if any.
    public var sqlState: String?
    /// The server's primary message, or libpq's message for client-side failures.
    public var message: String
    /// The server's detail. Not part of ``description``: it may quote row data.
    public var detail: String?
    /// The server's hint.
    public var hint: String?
    /// The constraint a violation is about, if the server named one.
    public var constraint: String?
    /// Why a connection could not be opened (`.connectionFailed` only).
    public var connectionFailure: ConnectionFailure?

    /// Why a connection could not be opened: whether trying again later can help.
    public enum ConnectionFailure: String, Sendable, Hashable {
        /// No server answered (refused, unresolvable host, timeout, server starting or shutting down): try again later.
        case unreachable
        /// The connection string itself is wrong (malformed URL, unknown option, bad `sslmode` or `port`): nothing was tried.
        case invalidConnectionString
        /// A server answered and refused the login: wrong password, unknown role or database, or not allowed by `pg_hba.conf`.
        case rejected
    }

    /// True when the connection failed because of what the connection string says (fix it; retrying will not help).
    public var isConnectionSettingProblem: Bool {
        connectionFailure == .invalidConnectionString || connectionFailure == .rejected
    }

    /// Makes an error.
    public init(
        code: Code, sqlState: String? = nil, message: String, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, connectionFailure: ConnectionFailure? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.connectionFailure = connectionFailure
    }

    /// True when the server reported this SQLSTATE.
    public func hasSQLState(_ state: String) -> Bool { sqlState == state }

    public var description: String {
        var text = "postgres error (\(code))"
        if let sqlState { text += " SQLSTATE \(sqlState)" }
        text += ": \(message)"
        if let constraint { text += " [constraint \(constraint)]" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

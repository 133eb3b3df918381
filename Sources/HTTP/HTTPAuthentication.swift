/// How the client authenticates to the server.
///
/// `description`, `debugDescription` and the reflection mirror redact the password and the token, so an
/// authentication value (or a configuration holding one) can be logged or dumped safely.
public enum HTTPAuthentication: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// No credentials are sent.
    case none
    /// HTTP Basic, sent with the first request (use it only over TLS).
    case basic(username: String, password: String)
    /// NTLM (libcurl's CURLAUTH_NTLM): the client answers a `WWW-Authenticate: NTLM` challenge with the
    /// negotiate/authenticate handshake on one kept-alive connection. `username` may be `DOMAIN\user`.
    case ntlm(username: String, password: String)
    /// OAuth 2.0 bearer token (`Authorization: Bearer <token>`).
    case bearer(token: String)

    public var description: String {
        switch self {
        case .none: "none"
        case .basic(let username, _): "basic(username: \(username), password: <redacted>)"
        case .ntlm(let username, _): "ntlm(username: \(username), password: <redacted>)"
        case .bearer: "bearer(token: <redacted>)"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }

    /// The secret strings that must never appear in errors or logs.
    var secrets: [String] {
        switch self {
        case .none: []
        case .basic(_, let password), .ntlm(_, let password): [password]
        case .bearer(let token): [token]
        }
    }
}

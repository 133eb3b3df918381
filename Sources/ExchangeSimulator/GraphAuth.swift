import Foundation
import Synchronization

/// An app registration the token endpoint knows: its client id and secret.
public struct GraphApp: Sendable, Equatable, Codable {
    public var clientId: String
    public var secret: String
    public init(clientId: String, secret: String) { self.clientId = clientId; self.secret = secret }

    /// The demo's app registration (`snapsync-demo-app` / `snapsync-demo-secret`).
    public static let demo = GraphApp(clientId: "snapsync-demo-app", secret: "snapsync-demo-secret")
}

/// Entra ID's side of the Graph front-end: the OAuth2 client-credentials token endpoint, the tokens it issued,
/// and what Exchange Online's RBAC for Applications and mailbox settings allow each app.
final class GraphAuth: Sendable {
    struct Token: Sendable { var clientId: String; var expires: Double }

    struct State: Sendable {
        var apps: [String: GraphApp]
        /// Per app: the certificates registered as its credentials.
        var certificates: [String: [RegisteredCertificate]]
        var tokens: [String: Token] = [:]
        /// Per app: the mailboxes (lower-cased) it may reach; absent = every mailbox.
        var scopes: [String: Set<String>] = [:]
        /// Mailboxes whose REST access is off (`MailboxNotEnabledForRESTAPI`).
        var restDisabled: Set<String> = []
        var tokenSeconds: Int
    }

    let state: Mutex<State>

    init(
        apps: [GraphApp], certificates: [(clientId: String, certificate: RegisteredCertificate)] = [], tokenSeconds: Int
    ) {
        state = Mutex(
            State(
                apps: Dictionary(apps.map { ($0.clientId, $0) }, uniquingKeysWith: { $1 }),
                certificates: Dictionary(grouping: certificates, by: \.clientId).mapValues { $0.map(\.certificate) },
                tokenSeconds: tokenSeconds))
    }

    /// An Entra ID token-endpoint error: status, OAuth2 `error`, AADSTS code and description.
    struct EntraError: Error {
        var status: Int
        var error: String
        var code: Int
        var description: String

        func body(now: Double) -> [UInt8] {
            let trace = UUID().uuidString.lowercased()
            return JSON.object([
                ("error", .string(error)),
                (
                    "error_description",
                    .string(
                        "AADSTS\(code): \(description) Trace ID: \(trace) Correlation ID: \(trace) Timestamp: \(FieldValue.formatDate(now))"
                    )
                ),
                ("error_codes", .array([.int(code)])), ("timestamp", .string(FieldValue.formatDate(now))),
                ("trace_id", .string(trace)), ("correlation_id", .string(trace)),
                ("error_uri", .string("https://login.microsoftonline.com/error?code=\(code)")),
            ]).bytes
        }
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with a form body; the token response or Entra's error. `endpoint` is the
    /// URL the request came to: a client assertion's audience.
    func token(form body: Data, tenant: String, endpoint: String, now: Double) -> (status: Int, body: [UInt8]) {
        let form = Self.parseForm(String(decoding: body, as: UTF8.self))
        do {
            guard form["grant_type"] == "client_credentials" else {
                throw EntraError(
                    status: 400, error: "unsupported_grant_type", code: 70003,
                    description: "The app requested an unsupported grant type '\(form["grant_type"] ?? "")'.")
            }
            guard let clientId = form["client_id"], !clientId.isEmpty else {
                throw EntraError(
                    status: 400, error: "invalid_request", code: 900144,
                    description: "The request body must contain the following parameter: 'client_id'.")
            }
            guard let scope = form["scope"] else {
                throw EntraError(
                    status: 400, error: "invalid_request", code: 900144,
                    description: "The request body must contain the following parameter: 'scope'.")
            }
            guard scope.split(separator: " ").map(String.init) == ["https://graph.microsoft.com/.default"] else {
                throw EntraError(
                    status: 400, error: "invalid_scope", code: 1002012,
                    description:
                        "The provided value for scope \(scope) is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                )
            }
            let issued: (String, Int) = try state.withLock { (s: inout State) throws -> (String, Int) in
                let app = s.apps[clientId], certificates = s.certificates[clientId] ?? []
                guard app != nil || !certificates.isEmpty else {
                    throw EntraError(
                        status: 400, error: "unauthorized_client", code: 700016,
                        description:
                            "Application with identifier '\(clientId)' was not found in the directory '\(tenant)'.")
                }
                if let assertion = form["client_assertion"] {
                    guard form["client_secret"] == nil else {
                        throw EntraError(
                            status: 400, error: "invalid_request", code: 90014,
                            description: "Only one of 'client_assertion' and 'client_secret' may be presented.")
                    }
                    guard let type = form["client_assertion_type"] else {
                        throw EntraError(
                            status: 400, error: "invalid_request", code: 900144,
                            description:
                                "The request body must contain the following parameter: 'client_assertion_type'.")
                    }
                    guard type == ClientAssertion.type else {
                        throw EntraError(
                            status: 400, error: "invalid_request", code: 70002,
                            description:
                                "The client_assertion_type '\(type)' is not supported; it must be '\(ClientAssertion.type)'."
                        )
                    }
                    try ClientAssertion.verify(
                        assertion, clientId: clientId, certificates: certificates,
                        audiences: [endpoint], now: now)
                } else {
                    guard let secret = form["client_secret"] else {
                        throw EntraError(
                            status: 401, error: "invalid_client", code: 7000218,
                            description:
                                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
                        )
                    }
                    guard let app, secret == app.secret else {
                        throw EntraError(
                            status: 401, error: "invalid_client", code: 7000215,
                            description:
                                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientId)'."
                        )
                    }
                }
                let token = Self.makeToken(clientId: clientId, tenant: tenant, now: now, seconds: s.tokenSeconds)
                s.tokens[token] = Token(clientId: clientId, expires: now + Double(s.tokenSeconds))
                return (token, s.tokenSeconds)
            }
            return (
                200,
                JSON.object([
                    ("token_type", .string("Bearer")), ("expires_in", .int(issued.1)),
                    ("ext_expires_in", .int(issued.1)),
                    ("access_token", .string(issued.0)),
                ]).bytes
            )
        } catch let e as EntraError {
            return (e.status, e.body(now: now))
        } catch {
            return (500, [])
        }
    }

    /// The app a `Authorization: Bearer` header stands for, or Graph's 401.
    func authenticate(_ header: String?, now: Double) throws(GraphError) -> String {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw .invalidAuthenticationToken("Access token is empty.")
        }
        let token = String(header.dropFirst(7)).trimmedOfWhitespace
        let found = state.withLock { $0.tokens[token] }
        guard let found else {
            throw .invalidAuthenticationToken(
                token.split(separator: ".").count == 3
                    ? "Invalid signature." : "IDX14100: JWT is not well formed, there are no dots (.).")
        }
        guard found.expires > now else {
            throw .invalidAuthenticationToken("Lifetime validation failed, the token is expired.")
        }
        return found.clientId
    }

    /// What RBAC for Applications and the mailbox's settings allow `clientId` on `mailbox`.
    func authorize(clientId: String, mailbox: String) throws(GraphError) {
        let (allowed, rest) = state.withLock { s in
            (s.scopes[clientId].map { $0.contains(mailbox) } ?? true, !s.restDisabled.contains(mailbox))
        }
        guard allowed else { throw .accessDenied() }
        guard rest else { throw .restDisabled() }
    }

    /// A JWT-shaped bearer token (header and claims as Entra writes them for an app; the signature part is a
    /// random value the simulator looks up, not an RSA signature).
    static func makeToken(clientId: String, tenant: String, now: Double, seconds: Int) -> String {
        func b64url(_ d: [UInt8]) -> String {
            Data(d).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
                of: "/", with: "_"
            )
            .replacingOccurrences(of: "=", with: "")
        }
        let header = JSON.object([("typ", .string("JWT")), ("alg", .string("RS256")), ("kid", .string("exchange-sim"))])
        let claims = JSON.object([
            ("aud", .string("https://graph.microsoft.com")), ("iss", .string("https://sts.windows.net/\(tenant)/")),
            ("iat", .int(Int(now))), ("nbf", .int(Int(now))), ("exp", .int(Int(now) + seconds)),
            ("appid", .string(clientId)),
            (
                "roles",
                .array([.string("Contacts.ReadWrite"), .string("Calendars.ReadWrite"), .string("Tasks.ReadWrite.All")])
            ),
            ("tid", .string(tenant)), ("uti", .string(UUID().uuidString)),
        ])
        var signature = [UInt8](repeating: 0, count: 32)
        for i in signature.indices { signature[i] = UInt8.random(in: 0...255) }
        return b64url(header.bytes) + "." + b64url(claims.bytes) + "." + b64url(signature)
    }

    /// `application/x-www-form-urlencoded` fields.
    static func parseForm(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ")
            }
            guard let k = kv.first?.removingPercentEncoding else { continue }
            out[k] = kv.count > 1 ? (kv[1].removingPercentEncoding ?? kv[1]) : ""
        }
        return out
    }
}

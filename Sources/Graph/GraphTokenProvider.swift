import Foundation
import HTTP
import Logging

/// Access tokens of the client-credentials grant: fetched once, cached, and refreshed before they expire (five
/// minutes before, or halfway through a shorter lifetime) or when Graph refused one. Concurrent callers share one
/// request to the token endpoint. Tokens are never logged.
actor GraphTokenProvider {
    struct Token: Sendable {
        var value: String
        var refreshAt: ContinuousClock.Instant
    }

    let credentials: GraphCredentials
    let transport: any GraphTransport
    let logger: Logger
    private var current: Token?
    private var pending: Task<Result<Token, GraphError>, Never>?

    init(credentials: GraphCredentials, transport: any GraphTransport, logger: Logger) {
        self.credentials = credentials
        self.transport = transport
        self.logger = logger
    }

    /// A token valid for a while yet; `refusing` is a token Graph refused (it is replaced unless already replaced).
    func token(refusing refused: String? = nil) async throws(GraphError) -> String {
        if let current, current.value != refused, ContinuousClock.now < current.refreshAt { return current.value }
        if let refused, current?.value == refused { current = nil }
        let task: Task<Result<Token, GraphError>, Never>
        if let pending {
            task = pending
        } else {
            let credentials = credentials, transport = transport
            task = Task { await Self.fetch(credentials, transport: transport) }
            pending = task
        }
        let result = await task.value
        pending = nil
        let token = try result.get()
        current = token
        return token.value
    }

    static func fetch(_ credentials: GraphCredentials, transport: any GraphTransport) async -> Result<Token, GraphError>
    {
        let operation = "POST token"
        let proof: [(String, String)]
        do {
            proof = try credentials.proofFields(now: Date())
        } catch {
            return .failure(error)
        }
        let body = GraphPath.form(
            [("grant_type", "client_credentials"), ("client_id", credentials.clientID)] + proof
                + [("scope", credentials.scope)])
        let request = HTTPRequest(
            method: .post, url: credentials.tokenEndpoint,
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
            body: body, isIdempotent: true)
        let start = ContinuousClock.now
        let response: HTTPResponse
        do {
            response = try await transport.execute(request)
        } catch {
            return .failure(GraphError(.transport(error.code.description, ambiguous: false), operation: operation))
        }
        let json = try? GraphJSON.parse(response.body)
        guard (200..<300).contains(response.status) else {
            // Entra's error: `error` and an `error_description` that starts with the AADSTS code.
            let error = json?["error"]?.string ?? "http \(response.status)"
            let aadsts = json?["error_description"]?.string?.split(separator: ":").first.map(String.init) ?? ""
            if response.status >= 500 || response.status == 429 {
                return .failure(
                    GraphError(.service(status: response.status, code: error), operation: operation, message: aadsts))
            }
            return .failure(
                GraphError(
                    .tokenRefused(aadsts.isEmpty ? error : "\(error) \(aadsts)"), operation: operation,
                    message: "the token endpoint refused client \(credentials.clientID)"))
        }
        guard let value = json?["access_token"]?.string, !value.isEmpty else {
            return .failure(GraphError(.decoding("no access_token"), operation: operation))
        }
        let lifetime = json?["expires_in"]?.int ?? Int(json?["expires_in"]?.string ?? "") ?? 3599
        let margin = min(300, lifetime / 2)
        return .success(Token(value: value, refreshAt: start + .seconds(max(lifetime - margin, 0))))
    }
}

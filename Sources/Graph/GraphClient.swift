import Foundation
import HTTP
import Logging

/// A request to Graph: a path below the version root (`/users/…`), or an absolute next or delta link.
public struct GraphRequest: Sendable {
    public var method: HTTPMethod
    public var target: String
    public var body: GraphJSON?
    /// Headers besides those the client sets (e.g. `If-Match`).
    public var headers: [String: String]
    /// Preferences besides the client's own (e.g. `odata.maxpagesize=100`).
    public var prefer: [String]
    /// For errors and logs, e.g. `GET contacts`.
    public var operation: String
    /// The item the request is about, for errors.
    public var itemID: String?
    /// False for a create: sending it twice could create twice.
    public var isIdempotent: Bool
    /// What the request spends of the mailbox's request budget: 1, or the requests a `$batch` carries.
    var budgetCost = 1
    /// The only member names of the answer that are read (nil: all; ``GraphJSON/parse(_:keeping:)``).
    public var keeping: Set<String>?
    /// The body as JSON text, when it is written straight to bytes (a `$batch`) rather than from `body`.
    var encodedBody: [UInt8]?

    public init(
        _ method: HTTPMethod, _ target: String, body: GraphJSON? = nil, headers: [String: String] = [:],
        prefer: [String] = [],
        operation: String, itemID: String? = nil, isIdempotent: Bool? = nil
    ) {
        self.method = method
        self.target = target
        self.body = body
        self.headers = headers
        self.prefer = prefer
        self.operation = operation
        self.itemID = itemID
        self.isIdempotent = isIdempotent ?? (method != .post)
    }
}

/// A successful answer.
public struct GraphResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: GraphJSON?
}

/// The Graph client: requests with the app's token (cached, refreshed before it expires and once when Graph refuses
/// it), `Prefer: IdType="ImmutableId"` and UTC times, at most ``Configuration/maxConcurrentRequestsPerMailbox`` in
/// flight per mailbox, retried per ``RetryPolicy``; `$batch` of up to 20 requests whose failed ones alone are
/// retried.
///
/// Every wait is logged at `.info` with `graph.reason` and `graph.wait_ms`; a request that fails after being retried
/// is logged at `.warning`. Tokens and secrets are never logged.
public final class GraphClient: Sendable {
    public struct Configuration: Sendable {
        /// The Graph root, e.g. `https://graph.microsoft.com/v1.0`.
        public var baseURL: String
        public var credentials: GraphCredentials
        public var maxConcurrentRequestsPerMailbox: Int = 4
        /// Requests per mailbox per window that the client keeps to (nil: no pacing, only Graph's 429s).
        public var requestBudget: GraphRequestBudget? = .exchangeOnline
        public var retry = RetryPolicy()
        /// Requests per `$batch` (Graph takes at most 20).
        public var batchSize: Int = 20
        /// An item whose free text (body, notes) is larger than this is refused (quarantined), not mapped.
        public var maxItemBytes: Int = 4 << 20

        public init(baseURL: String, credentials: GraphCredentials) {
            var base = baseURL
            while base.hasSuffix("/") { base.removeLast() }
            self.baseURL = base
            self.credentials = credentials
        }
    }

    public let configuration: Configuration
    let transport: any GraphTransport
    let logger: Logger
    let tokens: GraphTokenProvider
    let limiter: GraphConcurrencyLimiter
    let random: @Sendable () -> Double
    let sleep: @Sendable (Duration) async throws -> Void

    public init(
        configuration: Configuration, transport: any GraphTransport, logger: Logger,
        limiter: GraphConcurrencyLimiter? = nil,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        self.tokens = GraphTokenProvider(credentials: configuration.credentials, transport: transport, logger: logger)
        self.limiter =
            limiter
            ?? GraphConcurrencyLimiter(
                maxPerMailbox: configuration.maxConcurrentRequestsPerMailbox, budget: configuration.requestBudget)
        self.random = random
        self.sleep = sleep
    }

    /// The path of a mailbox: `/users/{address}`.
    public static func user(_ mailbox: String) -> String { "/users/\(GraphPath.segment(mailbox))" }

    /// An id as a path segment.
    public static func segment(_ id: String) -> String { GraphPath.segment(id) }

    static let preferences = [
        "IdType=\"ImmutableId\"", "outlook.timezone=\"UTC\"", "outlook.body-content-type=\"text\"",
    ]
    static let preferenceHeader = preferences.joined(separator: ", ")

    /// The `Prefer` header of a request: the client's preferences and the request's own.
    static func prefer(_ request: GraphRequest) -> String {
        request.prefer.isEmpty ? preferenceHeader : (preferences + request.prefer).joined(separator: ", ")
    }

    // MARK: sending

    /// Sends one request, retried per the policy; a refused token is replaced once.
    public func send(_ request: GraphRequest, mailbox: String) async throws(GraphError) -> GraphResponse {
        let metadata: Logger.Metadata = ["graph.operation": "\(request.operation)"]
        return try await configuration.retry.run(
            isIdempotent: request.isIdempotent, random: random, sleep: sleep,
            failure: { (error: GraphError) in error.retryFailure },
            waiting: { wait, reason, _ in
                logger.info(
                    "Graph request waits before retrying",
                    metadata: metadata.merging([
                        "graph.reason": "\(reason)", "graph.wait_ms": "\(wait.wholeMilliseconds)",
                    ]) {
                        $1
                    })
            },
            gaveUp: { error, attempts in
                logger.warning(
                    "Graph request gave up after retrying",
                    metadata: metadata.merging(["graph.attempts": "\(attempts)", "graph.error": "\(error.code)"]) { $1 }
                )
            },
            cancelled: {
                GraphError(.transport("cancelled", ambiguous: false), operation: request.operation, mailbox: mailbox)
            }
        ) { (_: Int) async throws(GraphError) -> GraphResponse in
            let token = try await tokens.token()
            do throws(GraphError) {
                return try await sendOnce(request, token: token, mailbox: mailbox)
            } catch let refusal where refusal.status == 401 {
                // Graph refused a token before its time (revoked, clock skew): one new token, then the usual rules.
                return try await sendOnce(request, token: try await tokens.token(refusing: token), mailbox: mailbox)
            }
        }
    }

    func sendOnce(_ request: GraphRequest, token: String, mailbox: String) async throws(GraphError) -> GraphResponse {
        let url =
            request.target.hasPrefix("https://") || request.target.hasPrefix("http://")
            ? request.target : configuration.baseURL + request.target
        var headers: HTTPHeaders = [
            "Authorization": "Bearer \(token)", "Accept": "application/json", "Prefer": Self.prefer(request),
        ]
        for (name, value) in request.headers { headers.replaceOrAdd(name: name, value: value) }
        var body: [UInt8] = []
        if let bytes = request.encodedBody ?? request.body?.bytes {
            body = bytes
            headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        }
        let http = HTTPRequest(
            method: request.method, url: url, headers: headers, body: body, isIdempotent: request.isIdempotent)
        let wait = await limiter.reserve(request.budgetCost, for: mailbox)
        if wait > .zero {
            logger.notice(
                "Graph requests of the mailbox wait for its request budget",
                metadata: [
                    "graph.operation": "\(request.operation)", "graph.mailbox": "\(mailbox)",
                    "graph.reason": "request budget", "graph.wait_ms": "\(wait.wholeMilliseconds)",
                ])
            do { try await sleep(wait) } catch {
                throw GraphError(
                    .transport("cancelled", ambiguous: false), operation: request.operation, mailbox: mailbox)
            }
        }
        let response: HTTPResponse
        do {
            response = try await limiter.withSlot(mailbox) { () async throws(HTTPError) in
                try await transport.execute(http)
            }
        } catch {
            throw GraphError(
                Self.code(of: error), operation: request.operation, mailbox: mailbox, itemID: request.itemID)
        }
        var responseHeaders: [String: String] = [:]
        for field in response.headers { responseHeaders[field.name.lowercased()] = field.value }
        guard (200..<300).contains(response.status) else {
            throw Self.error(
                status: response.status, body: try? GraphJSON.parse(response.body), headers: responseHeaders,
                request: request, mailbox: mailbox)
        }
        if response.body.isEmpty { return GraphResponse(status: response.status, headers: responseHeaders, body: nil) }
        do {
            return GraphResponse(
                status: response.status, headers: responseHeaders,
                body: try GraphJSON.parse(response.body, keeping: request.keeping))
        } catch {
            throw GraphError(
                .decoding("malformed JSON"), operation: request.operation, mailbox: mailbox, itemID: request.itemID)
        }
    }

    static func code(of error: HTTPError) -> GraphError.Code {
        switch error.code {
        case .responseTooLarge: .decoding("response too large")
        case .couldNotConnect, .couldNotResolveHost, .tls, .invalidURL, .invalidRequest, .cancelled, .shutdown:
            .transport(error.code.description, ambiguous: false)
        default:
            .transport(error.code.description, ambiguous: true)
        }
    }

    /// The error of a failed answer: Graph's `error.code` and `error.message`, `Retry-After` in seconds.
    static func error(
        status: Int, body: GraphJSON?, headers: [String: String], request: GraphRequest, mailbox: String
    ) -> GraphError {
        let code = body?["error"]?["code"]?.string ?? "http \(status)"
        let message = body?["error"]?["message"]?.string ?? ""
        let retryAfter = headers["retry-after"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map {
            Duration.seconds(max($0, 0))
        }
        return GraphError(
            .service(status: status, code: code), operation: request.operation, mailbox: mailbox,
            itemID: request.itemID,
            message: String(message.prefix(300)), retryAfter: retryAfter)
    }

    // MARK: batching

    /// What is read of a `$batch` answer besides the members its requests read: each answer's id, status, body, the
    /// `Retry-After` of its headers, and an error's code and message.
    static let batchMembers: Set<String> = [
        "responses", "id", "status", "headers", "body", "Retry-After", "retry-after", "error", "code", "message",
    ]

    /// Sends requests in `$batch`es of up to ``Configuration/batchSize``: one result per request, in order. Requests
    /// that failed in a way worth retrying (429, 503, 504, other 5xx) are sent again in a later batch, after the
    /// longest `Retry-After` among them; the others keep their results. When a batch's answer cannot be read and
    /// its requests are idempotent, each is sent alone. A thrown error means a whole batch failed.
    public func batch(
        _ requests: [GraphRequest], mailbox: String
    ) async throws(GraphError) -> [Result<GraphResponse, GraphError>] {
        var results = [Result<GraphResponse, GraphError>?](repeating: nil, count: requests.count)
        var start = 0
        while start < requests.count {
            var pending = Array(start..<min(start + max(1, min(configuration.batchSize, 20)), requests.count))
            start += pending.count
            var attempt = 0
            while !pending.isEmpty {
                attempt += 1
                var outer = GraphRequest(
                    .post, "/$batch", operation: "POST $batch",
                    isIdempotent: pending.allSatisfy { requests[$0].isIdempotent })
                outer.encodedBody = Self.batchBody(requests, pending)
                outer.budgetCost = pending.count
                // When every request reads only some members of its answer, so does the batch's.
                let keeps = pending.compactMap { requests[$0].keeping }
                if keeps.count == pending.count { outer.keeping = keeps.reduce(Self.batchMembers) { $0.union($1) } }
                let answers: [GraphJSON]
                do throws(GraphError) {
                    let response = try await send(outer, mailbox: mailbox)
                    guard let responses = response.body?["responses"]?.array else {
                        throw GraphError(
                            .decoding("no responses in the $batch answer"), operation: outer.operation,
                            mailbox: mailbox)
                    }
                    answers = responses
                } catch let failure {
                    guard case .decoding = failure.code, outer.isIdempotent else { throw failure }
                    // One bad item makes the whole answer unreadable (malformed, too large): each request is sent
                    // alone, so that only the bad one fails.
                    logger.notice(
                        "Graph batch answer unreadable; its requests are sent one by one",
                        metadata: ["graph.requests": "\(pending.count)", "graph.error": "\(failure.code)"])
                    for index in pending { results[index] = await sendAlone(requests[index], mailbox: mailbox) }
                    pending = []
                    continue
                }
                var retry: [Int] = []
                var wait = Duration.zero
                let asked = Set(pending)
                for answer in answers {
                    guard let index = answer["id"]?.string.flatMap({ Int($0) }), asked.contains(index),
                        results[index] == nil,
                        let status = answer["status"]?.int
                    else { continue }
                    var headers: [String: String] = [:]
                    for (name, value) in answer["headers"]?.object ?? [:] { headers[name.lowercased()] = value.string }
                    if (200..<300).contains(status) {
                        results[index] = .success(GraphResponse(status: status, headers: headers, body: answer["body"]))
                        continue
                    }
                    let error = Self.error(
                        status: status, body: answer["body"], headers: headers, request: requests[index],
                        mailbox: mailbox)
                    switch configuration.retry.decide(
                        error, attempt: attempt, isIdempotent: requests[index].isIdempotent, random: random())
                    {
                    case .retry(let after, _):
                        retry.append(index)
                        wait = max(wait, after)
                    case .fail:
                        results[index] = .failure(error)
                    }
                }
                for index in pending where results[index] == nil && !retry.contains(index) {
                    results[index] = .failure(
                        GraphError(
                            .decoding("no answer for the request in the $batch answer"),
                            operation: requests[index].operation, mailbox: mailbox, itemID: requests[index].itemID))
                }
                pending = retry
                if !pending.isEmpty {
                    logger.info(
                        "Graph batch requests wait before retrying",
                        metadata: [
                            "graph.requests": "\(pending.count)",
                            "graph.wait_ms":
                                "\(wait.wholeMilliseconds)",
                        ])
                    do { try await sleep(wait) } catch {
                        throw GraphError(
                            .transport("cancelled", ambiguous: false), operation: "POST $batch", mailbox: mailbox)
                    }
                }
            }
        }
        return results.map { $0! }
    }

    /// The body of a `$batch` of `requests[pending]`, each with its index as id: written straight to bytes, each
    /// request's members and headers in name order.
    static func batchBody(_ requests: [GraphRequest], _ pending: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pending.count * 1024)
        out.append(contentsOf: #"{"requests":["#.utf8)
        for (n, index) in pending.enumerated() {
            let request = requests[index]
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            if let body = request.body {
                out.append(contentsOf: #""body":"#.utf8)
                body.write(into: &out)
                out.append(UInt8(ascii: ","))
            }
            // The request's own headers may replace Prefer; a body's Content-Type replaces theirs.
            var headers = [("Prefer", Self.prefer(request))]
            for (name, value) in request.headers where !(request.body != nil && name == "Content-Type") {
                headers.removeAll { $0.0 == name }
                headers.append((name, value))
            }
            if request.body != nil { headers.append(("Content-Type", "application/json")) }
            headers.sort { $0.0 < $1.0 }
            out.append(contentsOf: #""headers":{"#.utf8)
            for (h, (name, value)) in headers.enumerated() {
                if h > 0 { out.append(UInt8(ascii: ",")) }
                GraphJSON.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                GraphJSON.writeString(value, into: &out)
            }
            out.append(contentsOf: #"},"id":""#.utf8)
            out.append(contentsOf: String(index).utf8)
            out.append(contentsOf: #"","method":"#.utf8)
            GraphJSON.writeString(request.method.rawValue, into: &out)
            out.append(contentsOf: #","url":"#.utf8)
            GraphJSON.writeString(request.target, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// One request sent by itself (retried per the policy), as its result.
    func sendAlone(_ request: GraphRequest, mailbox: String) async -> Result<GraphResponse, GraphError> {
        do throws(GraphError) {
            return .success(try await send(request, mailbox: mailbox))
        } catch {
            return .failure(error)
        }
    }
}

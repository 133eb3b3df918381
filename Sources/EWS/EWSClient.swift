import Foundation
import HTTP
import Logging
import SyncCore
import XML

/// The EWS client: typed operations over an ``EWSTransport``, with batching, paging, throttling
/// (ErrorServerBusy back-off, Retry-After, exponential back-off with jitter), per-mailbox and global
/// concurrency caps, and idempotent creates.
///
/// Per-item results: batch operations return one `Result` per input, in input order; one failed item
/// never fails its batch. A thrown ``EWSError`` means the whole call failed.
///
/// Every wait is logged at `.info` with `ews.reason` and `ews.wait_ms`: a retry after ErrorServerBusy,
/// Retry-After or a failure ("EWS request waits before retrying"), and a wait for a concurrency slot
/// ("EWS request waited for a connection slot"). A request that fails after being retried is logged at
/// `.warning` ("EWS request gave up after retrying").
public final class EWSClient: Sendable {
    /// Settings of a client.
    public struct Configuration: Sendable {
        /// The EWS endpoint, e.g. `https://mail.example.com/EWS/Exchange.asmx`.
        public var endpoint: String
        public var access: MailboxAccess = .impersonation
        public var version: ExchangeVersion = .exchange2013SP1
        /// Items per CreateItem/UpdateItem/DeleteItem/GetItem request.
        public var batchSize: Int = 100
        /// Ids per FindItem page (at most 1000).
        public var pageSize: Int = 1000
        public var maxConcurrentRequestsPerMailbox: Int = 4
        public var maxConcurrentRequests: Int = 10
        public var retry = RetryPolicy()
        /// Larger responses are refused (the HTTP client enforces its own limit too).
        public var maxResponseBytes: Int = 64 << 20
        /// How often a batch create looks for and re-creates after lost responses.
        public var maxCreateRecoveries: Int = 3

        public init(endpoint: String) { self.endpoint = endpoint }
    }

    public let configuration: Configuration
    let transport: any EWSTransport
    let logger: Logger
    let sleeper: any EWSSleeper
    let random: @Sendable () -> Double
    let limiter: EWSConcurrencyLimiter

    /// Creates a client. `sleeper` and `random` are for tests (no real waits, fixed jitter).
    public init(
        configuration: Configuration, transport: any EWSTransport, logger: Logger,
        sleeper: any EWSSleeper = ContinuousSleeper(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        self.sleeper = sleeper
        self.random = random
        self.limiter = EWSConcurrencyLimiter(
            maxPerMailbox: configuration.maxConcurrentRequestsPerMailbox,
            maxTotal: configuration.maxConcurrentRequests)
    }

    /// The request context of a mailbox under this configuration.
    public func context(_ mailbox: String) -> EWSRequestContext {
        EWSRequestContext(mailbox: mailbox, access: configuration.access, version: configuration.version)
    }

    // MARK: sending

    /// Sends a built request with throttling and retries and decodes the answer. A SOAP fault or a
    /// response whose every message is ErrorServerBusy is retried per the policy; other per-message
    /// errors are returned in the response for the caller.
    public func send(_ request: EWSSOAPRequest) async throws(EWSError) -> EWSResponse {
        let mailbox = request.context.mailbox
        let policy = configuration.retry
        let metadata: Logger.Metadata = ["ews.mailbox": "\(mailbox)", "ews.operation": "\(request.operation)"]
        return try await policy.run(
            isIdempotent: request.isIdempotent, random: random, sleep: { try await sleeper.sleep(for: $0) },
            failure: { (error: EWSError) in error.retryFailure(baseDelay: policy.baseDelay) },
            waiting: { wait, reason, attempt in
                logger.info(
                    "EWS request waits before retrying",
                    metadata: metadata.merging([
                        "ews.reason": "\(reason)", "ews.wait_ms": "\(wait.wholeMilliseconds)",
                        "ews.attempt": "\(attempt)",
                    ]) { $1 })
            },
            gaveUp: { error, attempts in
                logger.warning(
                    "EWS request gave up after retrying",
                    metadata: metadata.merging([
                        "ews.attempt": "\(attempts)", "ews.error": "\(EWSError.describe(error.code))",
                    ]) { $1 })
            },
            cancelled: {
                EWSError(
                    code: .transport("cancelled", ambiguous: false), operation: request.operation, mailbox: mailbox,
                    message: "")
            }
        ) { (_: Int) async throws(EWSError) -> EWSResponse in
            let response = try await sendOnce(request)
            if let busy = wholeRequestBusy(response, request) { throw busy }
            return response
        }
    }

    func wholeRequestBusy(_ response: EWSResponse, _ request: EWSSOAPRequest) -> EWSError? {
        guard !response.messages.isEmpty, response.messages.allSatisfy({ $0.responseCode == "ErrorServerBusy" }) else {
            return nil
        }
        return response.messages[0].error(operation: request.operation, mailbox: request.context.mailbox)
    }

    func sendOnce(_ request: EWSSOAPRequest) async throws(EWSError) -> EWSResponse {
        let mailbox = request.context.mailbox
        func failure(_ code: EWSError.Code, _ message: String = "") -> EWSError {
            EWSError(code: code, operation: request.operation, mailbox: mailbox, message: message)
        }
        var headers: HTTPHeaders = [
            "Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml",
            "SOAPAction": "\"\(EWSNamespace.messages)/\(request.operation)\"",
        ]
        headers.add(name: "X-AnchorMailbox", value: mailbox)
        let http = HTTPRequest(
            method: .post, url: configuration.endpoint, headers: headers, body: request.body,
            isIdempotent: request.isIdempotent)
        let response: HTTPResponse
        do {
            response = try await limiter.withSlot(
                mailbox,
                waited: { reason, waited in
                    logger.info(
                        "EWS request waited for a connection slot",
                        metadata: [
                            "ews.mailbox": "\(mailbox)", "ews.operation": "\(request.operation)",
                            "ews.reason": "\(reason.rawValue)",
                            "ews.wait_ms": "\(waited.wholeMilliseconds)",
                        ])
                }
            ) { () async throws -> HTTPResponse in try await transport.send(http) }
        } catch let error as HTTPError {
            throw failure(EWSClient.code(of: error, limit: configuration.maxResponseBytes), error.message ?? "")
        } catch {
            throw failure(.transport("\(type(of: error))", ambiguous: true))
        }
        logger.debug(
            "EWS response",
            metadata: [
                "ews.mailbox": "\(mailbox)", "ews.operation": "\(request.operation)",
                "ews.status": "\(response.status)",
                "ews.bytes": "\(response.body.count)",
            ])
        if response.body.count > configuration.maxResponseBytes {
            throw failure(.responseTooLarge(limit: configuration.maxResponseBytes))
        }
        switch response.status {
        case 403 where response.headers["X-EWS-Policy-Reason"] != nil:
            throw failure(.blockedByPolicy(reason: response.headers["X-EWS-Policy-Reason"] ?? ""))
        case 401, 403:
            throw failure(.unauthorized(status: response.status))
        case 200, 500:
            break
        default:
            throw failure(
                .http(status: response.status, retryAfter: EWSClient.retryAfter(response.headers["Retry-After"])))
        }
        let contentType = response.headers["Content-Type"]?.lowercased() ?? ""
        guard contentType.contains("xml") else {
            if response.status == 500 { throw failure(.http(status: 500, retryAfter: nil)) }
            throw failure(.decoding("unexpected content type \(contentType.isEmpty ? "(none)" : contentType)"))
        }
        let decoded: EWSResponse
        do {
            decoded = try EWSResponseDecoder.decode(response.body)
        } catch {
            if response.status == 500 { throw failure(.http(status: 500, retryAfter: nil), error.description) }
            throw failure(.decoding(error.description))
        }
        if let fault = decoded.faultError(operation: request.operation, mailbox: mailbox) { throw fault }
        guard response.status == 200, !decoded.messages.isEmpty else {
            throw failure(
                response.status == 200 ? .decoding("no response messages") : .http(status: 500, retryAfter: nil))
        }
        return decoded
    }

    static func code(of error: HTTPError, limit: Int) -> EWSError.Code {
        switch error.code {
        case .responseTooLarge: .responseTooLarge(limit: limit)
        case .couldNotConnect, .couldNotResolveHost, .tls, .invalidURL, .invalidRequest, .cancelled, .shutdown:
            .transport(error.code.description, ambiguous: false)
        default:
            .transport(error.code.description, ambiguous: true)
        }
    }

    /// `Retry-After` in seconds (HTTP dates are not used by Exchange and are ignored).
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }

    /// One message per input expected; a mismatch is a decoding error of the whole batch.
    func messages(
        _ response: EWSResponse, count: Int, _ request: EWSSOAPRequest
    ) throws(EWSError) -> [EWSResponseMessage] {
        guard response.messages.count == count else {
            throw EWSError(
                code: .decoding("\(response.messages.count) response messages for \(count) items"),
                operation: request.operation, mailbox: request.context.mailbox, message: "")
        }
        return response.messages
    }

    func batches<T>(_ items: [T]) -> [ArraySlice<T>] {
        let size = max(1, configuration.batchSize)
        return stride(from: 0, to: items.count, by: size).map { items[$0..<min($0 + size, items.count)] }
    }
}

import CCurl
import Logging
import Synchronization

/// An HTTP/1.1 and HTTP/2 client over libcurl: keep-alive connection reuse, several requests in flight at
/// once, Basic/NTLM/Bearer authentication, verified TLS, timeouts, proxies from the environment and a
/// response size limit.
///
/// One client serves many concurrent `execute` calls; share it. It runs one dedicated thread driving a
/// libcurl multi handle (which also holds the connection cache). Call ``shutdown()`` when done, or let the
/// last reference go: `deinit` shuts down too.
///
/// Cookies the server sets are kept in memory and sent back (``Configuration/keepsCookies``); TLS sessions
/// are resumed on new connections. Redirects are not followed (a 3xx is returned as a response) so credentials never travel to another host.
public final class HTTPClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: Configuration
    private let logger: Logger
    private let loop: CurlMultiLoop
    private let share: CurlShare

    /// Creates a client. Logs a warning when `configuration.allowInsecureTLS` is on.
    public init(configuration: Configuration = .init(), logger: Logger) throws(HTTPError) {
        guard curlGlobalInitialization == CURLE_OK else {
            throw HTTPError(
                code: .other, curlCode: Int32(bitPattern: curlGlobalInitialization.rawValue),
                message: "curl_global_init failed")
        }
        guard configuration.maxConcurrentRequests > 0, configuration.maxResponseBytes >= 0 else {
            throw HTTPError(
                code: .invalidRequest, message: "maxConcurrentRequests must be positive, maxResponseBytes not negative")
        }
        self.configuration = configuration
        self.logger = logger
        share = try CurlShare()
        loop = try CurlMultiLoop(maxActive: configuration.maxConcurrentRequests)
        if configuration.allowInsecureTLS {
            logger.warning(
                "TLS certificate and host name verification are OFF (allowInsecureTLS): anyone on the path can read and change traffic, credentials included",
                metadata: ["http.insecure_tls": "true"])
        }
    }

    deinit {
        loop.stop()
    }

    /// Sends the request and returns the response whatever its status (use ``HTTPResponse/validated()`` to
    /// turn 4xx/5xx into an error). Throws only when no complete response came: invalid request, DNS,
    /// connect, TLS, timeout, lost connection, body over the limit, task cancelled or client shut down.
    public func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let started = ContinuousClock.now
        let result: Result<CurlTransfer.Completion, HTTPError>
        do {
            let transfer = try CurlTransfer.make(request, configuration: configuration, share: share)
            result = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    transfer.attach(continuation)
                    if let refused = loop.submit(transfer) {
                        refused.finish(.failure(refused.error(.shutdown, message: "the HTTP client is shut down")))
                    }
                }
            } onCancel: { [loop] in
                transfer.cancellation.withLock { $0 = true }
                loop.wakeUp()
            }
        } catch {
            result = .failure(error)
        }
        log(request, result, elapsed: ContinuousClock.now - started)
        return try result.get().response
    }

    /// Stops the client: requests in flight or waiting fail with ``HTTPError/Code/shutdown`` and later calls
    /// to ``execute(_:)`` too; open connections are closed. Returns once the client's thread has finished.
    /// Idempotent.
    public func shutdown() {
        loop.stop()
    }

    private func log(_ request: HTTPRequest, _ result: Result<CurlTransfer.Completion, HTTPError>, elapsed: Duration) {
        guard logger.logLevel <= .debug else { return }
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method.rawValue)",
            "http.url": "\(redactedURL(request.url))",
            "http.elapsed_ms": "\(elapsed.curlMilliseconds)",
        ]
        switch result {
        case .success(let completion):
            metadata["http.status"] = "\(completion.response.status)"
            metadata["http.bytes"] = "\(completion.response.body.count)"
            metadata["http.connection_reused"] = "\(completion.connectionsOpened == 0)"
            logger.debug("HTTP request completed", metadata: metadata)
        case .failure(let error):
            metadata["http.error"] = "\(error.code)"
            if let curlCode = error.curlCode { metadata["http.curl_code"] = "\(curlCode)" }
            logger.debug("HTTP request failed", metadata: metadata)
        }
    }
}

/// `curl_global_init`, run exactly once per process (Swift initializes globals once, thread-safely) before
/// the first client. libcurl's global state is never cleaned up: it lives as long as the process.
private let curlGlobalInitialization: CURLcode = curl_global_init(snapsync_curl_global_default())

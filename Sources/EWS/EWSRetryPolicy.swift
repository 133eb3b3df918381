/// Decides whether and when a failed request is tried again. Pure: the caller supplies the attempt
/// number and a random value, so every decision is reproducible in tests.
///
/// - `ErrorServerBusy` waits exactly the server's `BackOffMilliseconds` (or the base delay when absent);
///   a back-off longer than ``maxServerBackOff`` gives up (the caller reports a transient failure).
/// - HTTP 503 and 429 wait `Retry-After` when given, otherwise back off exponentially.
/// - Other 5xx, refused connections and timeouts back off exponentially with jitter.
/// - An ambiguous failure of a non-idempotent request (CreateItem whose connection dropped after
///   sending) is never blindly resent: the caller must first look for what the server did.
/// - Everything else (4xx, Exchange response codes, decoding errors, invalid sync state) fails at once.
public struct EWSRetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Delay before the first retry of an exponential back-off.
    public var baseDelay: Duration
    /// Upper bound of an exponential back-off step.
    public var maxDelay: Duration
    /// Longest server-requested wait (BackOffMilliseconds, Retry-After) the client accepts.
    public var maxServerBackOff: Duration

    public init(
        maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30),
        maxServerBackOff: Duration = .seconds(120)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxServerBackOff = maxServerBackOff
    }

    /// What to do after a failure.
    public enum Decision: Sendable, Hashable {
        case retry(after: Duration, reason: String)
        case fail
    }

    /// The decision after `attempt` (1-based) failed with `error`; `random` is uniform in 0..<1.
    public func decide(_ error: EWSError, attempt: Int, isIdempotent: Bool, random: Double) -> Decision {
        guard attempt < maxAttempts else { return .fail }
        switch error.code {
        case .serverBusy(let backOff):
            return serverWait(backOff ?? baseDelay, reason: "ErrorServerBusy")
        case .http(let status, let retryAfter) where status == 503 || status == 429:
            if let retryAfter { return serverWait(retryAfter, reason: "HTTP \(status) Retry-After") }
            return .retry(after: exponential(attempt, random), reason: "HTTP \(status)")
        case .http(let status, _) where status >= 500:
            return .retry(after: exponential(attempt, random), reason: "HTTP \(status)")
        case .transport(let what, let ambiguous):
            if ambiguous && !isIdempotent { return .fail }
            return .retry(after: exponential(attempt, random), reason: "transport \(what)")
        case .soapFault(let code) where code == "ErrorInternalServerTransientError" || code == "ErrorTimeoutExpired":
            return .retry(after: exponential(attempt, random), reason: code)
        default:
            return .fail
        }
    }

    func serverWait(_ wait: Duration, reason: String) -> Decision {
        wait <= maxServerBackOff ? .retry(after: wait, reason: reason) : .fail
    }

    /// `baseDelay · 2^(attempt-1)`, capped at `maxDelay`, scaled by a jitter factor in 0.5..<1.
    func exponential(_ attempt: Int, _ random: Double) -> Duration {
        let step = baseDelay * (1 << min(max(attempt - 1, 0), 20))
        let capped = min(step, maxDelay)
        return capped * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}

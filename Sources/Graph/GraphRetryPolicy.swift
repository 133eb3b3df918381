/// Decides whether and when a failed Graph request is tried again. Pure: the caller supplies the attempt number and
/// a random value, so every decision is reproducible in tests.
///
/// - 429, 503 and 504 wait `Retry-After` when Graph gave it (a wait longer than ``maxServerBackOff`` gives up),
///   otherwise back off exponentially with jitter, as do other 5xx answers and failed connections.
/// - A request that may have reached Graph without an answer is resent only when it is idempotent.
/// - Everything else (4xx, undecodable answers) fails at once.
public struct GraphRetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Longest `Retry-After` the client waits.
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

    public enum Decision: Sendable, Hashable {
        case retry(after: Duration, reason: String)
        case fail
    }

    /// The decision after `attempt` (1-based) failed with `error`; `random` is uniform in 0..<1.
    public func decide(_ error: GraphError, attempt: Int, isIdempotent: Bool, random: Double) -> Decision {
        guard attempt < maxAttempts else { return .fail }
        switch error.code {
        case .service(let status, let code) where status == 429 || status == 503 || status == 504:
            if let wait = error.retryAfter {
                return wait <= maxServerBackOff ? .retry(after: wait, reason: "\(code) Retry-After") : .fail
            }
            return .retry(after: exponential(attempt, random), reason: "HTTP \(status)")
        case .service(let status, _) where status >= 500:
            return .retry(after: exponential(attempt, random), reason: "HTTP \(status)")
        case .transport(let what, let ambiguous):
            if ambiguous && !isIdempotent { return .fail }
            return .retry(after: exponential(attempt, random), reason: "transport \(what)")
        default:
            return .fail
        }
    }

    /// `baseDelay · 2^(attempt-1)`, capped at `maxDelay`, scaled by a jitter factor in 0.5..<1.
    func exponential(_ attempt: Int, _ random: Double) -> Duration {
        let step = baseDelay * (1 << min(max(attempt - 1, 0), 20))
        return min(step, maxDelay) * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}

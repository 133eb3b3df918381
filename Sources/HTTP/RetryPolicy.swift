/// Decides whether and when a failed request to a mailbox service (EWS, Microsoft Graph) is tried again. Pure: the
/// caller supplies the attempt number and a random value, so every decision is reproducible in tests. Each protocol
/// says what its failures are (``Failure``); the rules are the same for both:
///
/// - A wait the server asked for (`Retry-After`, EWS `BackOffMilliseconds`) is kept; one longer than
///   ``maxServerBackOff`` gives up (the caller reports a transient failure).
/// - Throttling without a wait, other 5xx answers, transient faults and failed connections back off exponentially
///   with jitter.
/// - A request that may have reached the server without an answer (a create whose connection dropped after sending)
///   is resent only when it is idempotent: otherwise the caller must first look for what the server did.
/// - Everything else fails at once.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Delay before the first retry of an exponential back-off.
    public var baseDelay: Duration
    /// Upper bound of an exponential back-off step.
    public var maxDelay: Duration
    /// Longest server-requested wait the client accepts.
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

    /// A failed attempt as the rules see it.
    public enum Failure: Sendable, Hashable {
        /// The server said how long to wait.
        case serverWait(Duration, reason: String)
        /// Worth another attempt after an exponential back-off.
        case transient(reason: String)
        /// No answer came; `ambiguous` when the request may have reached the server.
        case transport(String, ambiguous: Bool)
        /// Will fail again as it is.
        case permanent
    }

    /// What to do after a failure.
    public enum Decision: Sendable, Hashable {
        case retry(after: Duration, reason: String)
        case fail
    }

    /// The decision after `attempt` (1-based) failed with `failure`; `random` is uniform in 0..<1.
    public func decide(_ failure: Failure, attempt: Int, isIdempotent: Bool, random: Double) -> Decision {
        guard attempt < maxAttempts else { return .fail }
        switch failure {
        case .serverWait(let wait, let reason):
            return wait <= maxServerBackOff ? .retry(after: wait, reason: reason) : .fail
        case .transient(let reason):
            return .retry(after: exponential(attempt, random), reason: reason)
        case .transport(let what, let ambiguous):
            if ambiguous && !isIdempotent { return .fail }
            return .retry(after: exponential(attempt, random), reason: "transport \(what)")
        case .permanent:
            return .fail
        }
    }

    /// `baseDelay · 2^(attempt-1)`, capped at `maxDelay`, scaled by a jitter factor in 0.5..<1.
    func exponential(_ attempt: Int, _ random: Double) -> Duration {
        let step = baseDelay * (1 << min(max(attempt - 1, 0), 20))
        return min(step, maxDelay) * (0.5 + 0.5 * min(max(random, 0), 1))
    }

    /// Runs `attempt` (given its 1-based number) until it succeeds or the policy gives up on its error, waiting with
    /// `sleep` between attempts. `failure` classifies an error, `waiting` is told of each wait (for the log) and
    /// `gaveUp` of an error given up on after retries; a `sleep` that throws (the task was cancelled) ends the loop
    /// with `cancelled`.
    public func run<T, E: Error>(
        isIdempotent: Bool, random: () -> Double, sleep: (Duration) async throws -> Void,
        failure: (E) -> Failure, waiting: (_ wait: Duration, _ reason: String, _ attempt: Int) -> Void,
        gaveUp: (E, _ attempts: Int) -> Void, cancelled: () -> E,
        _ attempt: (Int) async throws(E) -> T
    ) async throws(E) -> T {
        var number = 0
        while true {
            number += 1
            let error: E
            do {
                return try await attempt(number)
            } catch let failed {
                error = failed
            }
            switch decide(failure(error), attempt: number, isIdempotent: isIdempotent, random: random()) {
            case .fail:
                if number > 1 { gaveUp(error, number) }
                throw error
            case .retry(let wait, let reason):
                waiting(wait, reason, number)
                do { try await sleep(wait) } catch { throw cancelled() }
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, for logs.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

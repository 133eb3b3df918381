import HTTP

extension GraphError {
    /// The failure as ``RetryPolicy`` sees it: 429, 503 and 504 wait Graph's `Retry-After` when it gave one, else
    /// back off, as do other 5xx answers and failed connections; everything else (4xx, undecodable answers) fails at
    /// once.
    var retryFailure: RetryPolicy.Failure {
        switch code {
        case .service(let status, let code) where status == 429 || status == 503 || status == 504:
            if let retryAfter { return .serverWait(retryAfter, reason: "\(code) Retry-After") }
            return .transient(reason: "HTTP \(status)")
        case .service(let status, _) where status >= 500:
            return .transient(reason: "HTTP \(status)")
        case .transport(let what, let ambiguous):
            return .transport(what, ambiguous: ambiguous)
        default:
            return .permanent
        }
    }
}

extension RetryPolicy {
    /// The decision after `attempt` (1-based) failed with the Graph `error`; `random` is uniform in 0..<1.
    public func decide(_ error: GraphError, attempt: Int, isIdempotent: Bool, random: Double) -> Decision {
        decide(error.retryFailure, attempt: attempt, isIdempotent: isIdempotent, random: random)
    }
}

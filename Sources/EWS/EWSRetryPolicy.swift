import HTTP

extension EWSError {
    /// The failure as ``RetryPolicy`` sees it: `ErrorServerBusy` waits the server's `BackOffMilliseconds` (the
    /// policy's base delay when absent), HTTP 503 and 429 their `Retry-After`, other 5xx and the transient SOAP faults
    /// back off; Exchange response codes, 4xx, decoding errors and invalid sync states fail at once.
    func retryFailure(baseDelay: Duration) -> RetryPolicy.Failure {
        switch code {
        case .serverBusy(let backOff):
            return .serverWait(backOff ?? baseDelay, reason: "ErrorServerBusy")
        case .http(let status, let retryAfter) where status == 503 || status == 429:
            if let retryAfter { return .serverWait(retryAfter, reason: "HTTP \(status) Retry-After") }
            return .transient(reason: "HTTP \(status)")
        case .http(let status, _) where status >= 500:
            return .transient(reason: "HTTP \(status)")
        case .transport(let what, let ambiguous):
            return .transport(what, ambiguous: ambiguous)
        case .soapFault(let code) where code == "ErrorInternalServerTransientError" || code == "ErrorTimeoutExpired":
            return .transient(reason: code)
        default:
            return .permanent
        }
    }
}

extension RetryPolicy {
    /// The decision after `attempt` (1-based) failed with the EWS `error`; `random` is uniform in 0..<1.
    public func decide(_ error: EWSError, attempt: Int, isIdempotent: Bool, random: Double) -> Decision {
        decide(error.retryFailure(baseDelay: baseDelay), attempt: attempt, isIdempotent: isIdempotent, random: random)
    }
}

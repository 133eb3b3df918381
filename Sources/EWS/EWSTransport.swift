import HTTP

/// What the EWS client sends requests through: the HTTP module's client in production, anything that
/// answers HTTP requests in tests. Any status is a response; throw only when no response came
/// (an ``HTTPError`` lets the client tell a refused connection from a lost one).
public protocol EWSTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

extension HTTPClient: EWSTransport {
    /// Sends through libcurl (see ``HTTPClient/execute(_:)``).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await execute(request)
    }
}

/// Waits; injectable so that tests of the retry loop do not sleep.
public protocol EWSSleeper: Sendable {
    func sleep(for duration: Duration) async throws
}

/// Sleeps on the continuous clock.
public struct ContinuousSleeper: EWSSleeper {
    public init() {}
    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

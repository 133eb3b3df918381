import HTTP

/// What the Graph client sends requests through: the HTTP module's client in production, anything that answers
/// HTTP requests in tests. Any status is a response; an ``HTTPError`` means no response came.
public protocol GraphTransport: Sendable {
    func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse
}

extension HTTPClient: GraphTransport {}

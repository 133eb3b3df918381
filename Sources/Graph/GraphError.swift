import Foundation

/// A failed Graph call: what failed (``Code``: Graph's error code with the HTTP status, a transport failure, an
/// undecodable answer, a refused token request), the operation and mailbox, and the item when it is about one. The
/// description carries Graph's code and message, never record data, tokens or secrets.
public struct GraphError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        /// Graph answered with an error: the HTTP status and Graph's `error.code` (e.g. `ErrorItemNotFound`).
        case service(status: Int, code: String)
        /// No answer came (refused, lost, timed out); `ambiguous` when the request may have reached Graph.
        case transport(String, ambiguous: Bool)
        /// The answer could not be read, or an item in it could not be mapped.
        case decoding(String)
        /// The token endpoint refused the app (its `error`, e.g. `invalid_client`, and the AADSTS code).
        case tokenRefused(String)
        /// A setting is missing or unusable (e.g. the client secret file).
        case configuration(String)

        public var description: String {
            switch self {
            case .service(let status, let code): "\(code) (HTTP \(status))"
            case .transport(let what, _): "transport \(what)"
            case .decoding(let what): "undecodable answer: \(what)"
            case .tokenRefused(let what): "token refused: \(what)"
            case .configuration(let what): "configuration: \(what)"
            }
        }
    }

    public var code: Code
    /// The call, e.g. `GET contacts` or `POST $batch`.
    public var operation: String
    public var mailbox: String?
    public var itemID: String?
    /// Graph's `error.message` (never record data).
    public var message: String
    /// The wait Graph asked for (`Retry-After`), if any.
    public var retryAfter: Duration?

    public init(
        _ code: Code, operation: String, mailbox: String? = nil, itemID: String? = nil, message: String = "",
        retryAfter: Duration? = nil
    ) {
        self.code = code
        self.operation = operation
        self.mailbox = mailbox
        self.itemID = itemID
        self.message = message
        self.retryAfter = retryAfter
    }

    /// The HTTP status, when Graph answered.
    public var status: Int? { if case .service(let status, _) = code { status } else { nil } }

    /// Graph's error code, when Graph answered.
    public var serviceCode: String? { if case .service(_, let code) = code { code } else { nil } }

    public var description: String {
        "Graph \(operation)" + (mailbox.map { " for \($0)" } ?? "") + (itemID.map { " item \($0)" } ?? "") + ": \(code)"
            + (message.isEmpty ? "" : ": \(message)")
    }
}

import HTTP
/// The one error type of the EWS module: a failed request, a failed item of a batch, or a response
/// that could not be used. Carries the operation, the mailbox and (for item errors) the item id.
///
/// `description` names the code, operation, mailbox and item id, and Exchange's own message; it never
/// includes credentials or record data.
public struct EWSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// An Exchange response message with this `ResponseCode` (e.g. `ErrorItemNotFound`).
        case responseCode(String)
        /// A SOAP fault with this fault code (Exchange's `ResponseCode` from the detail when present).
        case soapFault(String)
        /// `ErrorInvalidSyncStateData`: the folder's sync state is no longer accepted; take a snapshot.
        case invalidSyncState
        /// `ErrorServerBusy` (message or fault), with Exchange's `BackOffMilliseconds` when given.
        case serverBusy(backOff: Duration?)
        /// An HTTP status without a usable SOAP body (e.g. 503, 429, 502), with `Retry-After` when given.
        case http(status: Int, retryAfter: Duration?)
        /// 401/403: wrong credentials or no right to the mailbox.
        case unauthorized(status: Int)
        /// 403 with `X-EWS-Policy-Reason`: Exchange Online blocks EWS for the mailbox (its tenant's policy); only
        /// Microsoft Graph reaches it. `reason` is the header's text.
        case blockedByPolicy(reason: String)
        /// No response: connect failure, timeout, TLS. `ambiguous` when the request may have reached the
        /// server (connection lost after sending, timeout): a non-idempotent request may have been applied.
        case transport(String, ambiguous: Bool)
        /// The response body exceeded the configured limit.
        case responseTooLarge(limit: Int)
        /// The response is not a SOAP envelope we can decode (malformed, invalid UTF-8, truncated, wrong
        /// content type, missing parts).
        case decoding(String)
        /// The request could not be built (bad input such as an unrepresentable recurrence).
        case invalidRequest(String)
        /// The client is misconfigured (missing or unreadable credentials, bad endpoint).
        case configuration(String)
        /// A recurring series' master was written but its exceptions (moved or cancelled occurrences)
        /// were not: `reason` says which and why (occurrence positions and dates, never record data);
        /// `cause` is the error Exchange gave for an occurrence, when it refused one.
        indirect case exceptionsNotApplied(reason: String, cause: Code?)
    }

    public var code: Code
    /// The EWS operation, e.g. `GetItem`.
    public var operation: String
    /// The SMTP address of the mailbox the request was for.
    public var mailbox: String?
    /// The item the error is about (for per-item errors).
    public var itemID: String?
    /// Exchange's `MessageText`/`faultstring`, or our diagnostic.
    public var message: String

    public init(code: Code, operation: String, mailbox: String? = nil, itemID: String? = nil, message: String) {
        self.code = code
        self.operation = operation
        self.mailbox = mailbox
        self.itemID = itemID
        self.message = message
    }

    /// Exchange's `ResponseCode` for this error when it came from Exchange.
    public var responseCode: String? {
        switch code {
        case .responseCode(let code): code
        case .soapFault(let code): code
        case .invalidSyncState: "ErrorInvalidSyncStateData"
        case .serverBusy: "ErrorServerBusy"
        default: nil
        }
    }

    /// True when the request may have been applied although no response came.
    /// Whether a batch request that failed as a whole with this error may have failed because of one of its items, rather
    /// than because of the request, the mailbox or the server: its answer did not parse (malformed XML, bytes that are
    /// not UTF-8, characters XML does not allow), was over the size limit, or was a SOAP fault with a code that is not
    /// about the request, the mailbox or the server. Asked for one item at a time, the others get their answers.
    public var mayConcernOneItem: Bool {
        switch code {
        case .decoding, .responseTooLarge: true
        case .soapFault(let code): !Self.requestFaults.contains(code)
        default: false
        }
    }

    /// SOAP fault codes about the request, the account, the mailbox or the server, never about one item.
    static let requestFaults: Set<String> = [
        "ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorImpersonationFailed", "ErrorNonExistentMailbox",
        "ErrorMailboxStoreUnavailable", "ErrorMailboxMoveInProgress", "ErrorServerBusy",
        "ErrorInternalServerTransientError",
        "ErrorTimeoutExpired", "ErrorExceededConnectionCount", "ErrorConnectionFailed", "ErrorInvalidServerVersion",
        "ErrorSchemaValidation", "ErrorInvalidRequest", "ErrorInvalidSchemaVersionForMailboxVersion",
        "ErrorInvalidExchangeImpersonationHeaderData", "ErrorNoRespondingCASInDestinationSite",
        "ErrorProxyRequestNotAllowed",
        "ErrorBatchProcessingStopped", "ErrorTooManyObjectsOpened", "ErrorInvalidSyncStateData",
    ]

    public var isAmbiguous: Bool {
        if case .transport(_, true) = code { return true }
        return false
    }

    public var description: String {
        var text = "EWS \(operation)"
        if let mailbox { text += " for \(mailbox)" }
        if let itemID { text += " item \(itemID)" }
        text += " failed: " + Self.describe(code)
        if !message.isEmpty { text += ": \(message)" }
        return text
    }

    static func describe(_ code: Code) -> String {
        switch code {
        case .responseCode(let code): code
        case .soapFault(let code): "SOAP fault \(code)"
        case .invalidSyncState: "ErrorInvalidSyncStateData (sync state rejected; the folder needs a snapshot)"
        case .serverBusy(let backOff):
            "ErrorServerBusy" + (backOff.map { " (back off \($0.wholeMilliseconds) ms)" } ?? "")
        case .http(let status, _): "HTTP \(status)"
        case .unauthorized(let status): "HTTP \(status) unauthorized (check credentials and impersonation rights)"
        case .blockedByPolicy(let reason):
            "HTTP 403 EWS blocked by Exchange Online's policy (\(reason)): switch the mailbox to Graph "
                + "(snapsync mailbox set-protocol ADDR graph)"
        case .transport(let what, let ambiguous):
            "transport error \(what)" + (ambiguous ? " (the server may have applied the request)" : "")
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .decoding(let what): "undecodable response: \(what)"
        case .invalidRequest(let what): "invalid request: \(what)"
        case .configuration(let what): "configuration: \(what)"
        case .exceptionsNotApplied(let reason, let cause):
            "exceptions of the series not applied: \(reason)" + (cause.map { " (\(describe($0)))" } ?? "")
        }
    }
}

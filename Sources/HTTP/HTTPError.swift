import CCurl

/// The HTTP module's one error: what went wrong (``Code``), the libcurl code and HTTP status when there is one,
/// and the URL with its userinfo, query and fragment removed. It never carries credentials or body data.
public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default` branch.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidURL, invalidRequest, couldNotResolveHost, couldNotConnect, timedOut, tls, connectionLost
            case responseTooLarge, httpStatus, cancelled, shutdown, other
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL is malformed or not `http`/`https`.
        public static let invalidURL = Code(.invalidURL)
        /// The request cannot be sent as given (a header with a line break, a body on GET, ...).
        public static let invalidRequest = Code(.invalidRequest)
        /// The host (or the proxy) name did not resolve.
        public static let couldNotResolveHost = Code(.couldNotResolveHost)
        /// The TCP connection (to the host or the proxy) was refused or could not be made.
        public static let couldNotConnect = Code(.couldNotConnect)
        /// The connect timeout or the total timeout passed.
        public static let timedOut = Code(.timedOut)
        /// The TLS handshake failed: untrusted or mismatched certificate, unreadable CA file, protocol error.
        public static let tls = Code(.tls)
        /// The connection broke before a complete response came (empty reply, reset, truncated body). The
        /// server may have acted on the request.
        public static let connectionLost = Code(.connectionLost)
        /// The response body exceeded `Configuration.maxResponseBytes`; the transfer was aborted.
        public static let responseTooLarge = Code(.responseTooLarge)
        /// A complete response came with a 4xx or 5xx status (raised by ``HTTPResponse/validated()``).
        public static let httpStatus = Code(.httpStatus)
        /// The calling task was cancelled; the transfer was aborted.
        public static let cancelled = Code(.cancelled)
        /// The client was shut down before the request completed.
        public static let shutdown = Code(.shutdown)
        /// Any other libcurl failure; see ``HTTPError/curlCode``.
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The `CURLcode` when libcurl reported the failure.
    public var curlCode: Int32?
    /// The HTTP status for ``Code/httpStatus``.
    public var status: Int?
    /// The request URL without userinfo, query or fragment.
    public var url: String?
    /// libcurl's explanation (its error buffer) or the module's, with any credential removed.
    public var message: String?

    /// Creates an error; `url` is redacted here, so pass the URL as requested.
    public init(code: Code, curlCode: Int32? = nil, status: Int? = nil, url: String? = nil, message: String? = nil) {
        self.code = code
        self.curlCode = curlCode
        self.status = status
        self.url = url.map(redactedURL)
        self.message = message
    }

    public var description: String {
        var text = "HTTP error \(code)"
        if let status { text += " (status \(status))" }
        if let curlCode { text += " (curl \(curlCode))" }
        if let message, !message.isEmpty { text += ": \(message)" }
        if let url { text += " [\(url)]" }
        return text
    }
}

extension HTTPError.Code {
    /// Maps a failed `CURLcode` to a code. `CURLE_WRITE_ERROR` is mapped by the caller, which knows
    /// whether its write callback refused the body for size.
    init(curl: CURLcode) {
        switch curl {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            self = .invalidURL
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST:
            self = .couldNotResolveHost
        case CURLE_COULDNT_CONNECT:
            self = .couldNotConnect
        case CURLE_OPERATION_TIMEDOUT:
            self = .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            self = .tls
        // CURLE_SEND_FAIL_REWIND: a reused connection died under a body that must not be sent twice.
        case CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_HTTP2,
            CURLE_HTTP2_STREAM, CURLE_SEND_FAIL_REWIND:
            self = .connectionLost
        case CURLE_FILESIZE_EXCEEDED:
            self = .responseTooLarge
        case CURLE_ABORTED_BY_CALLBACK:
            self = .cancelled
        default:
            self = .other
        }
    }
}

extension String {
    /// The string with every non-empty secret replaced by `<redacted>`.
    func redacting(_ secrets: [String]) -> String {
        var text = self
        for secret in secrets where !secret.isEmpty {
            text = text.replacing(secret, with: "<redacted>")
        }
        return text
    }
}

/// The URL as safe to show: scheme, host, port and path; userinfo, query and fragment removed.
func redactedURL(_ url: String) -> String {
    var rest = Substring(url)
    if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
        rest = rest[..<cut]
    }
    guard let schemeEnd = rest.firstRange(of: "://") else { return String(rest) }
    let authorityStart = schemeEnd.upperBound
    let authorityEnd = rest[authorityStart...].firstIndex(of: "/") ?? rest.endIndex
    guard let at = rest[authorityStart..<authorityEnd].lastIndex(of: "@") else { return String(rest) }
    return String(rest[..<authorityStart] + rest[rest.index(after: at)...])
}

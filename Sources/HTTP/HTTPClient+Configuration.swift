extension HTTPClient {
    /// How an ``HTTPClient`` connects, authenticates and bounds its requests. Printing it never shows secrets.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// Credentials sent with every request (answering challenges for NTLM).
        public var authentication: HTTPAuthentication = .none
        /// A PEM bundle of CA certificates to trust instead of the system store.
        public var caFile: String? = nil
        /// Turns off certificate and host name verification. Only for test servers; the client logs a
        /// warning when it is created with this switch on.
        public var allowInsecureTLS: Bool = false
        /// The longest a connection (TCP and TLS handshake) may take.
        public var connectTimeout: Duration = .seconds(10)
        /// The longest a whole request may take, connect and body included, once it is on the wire
        /// (time waiting for a free slot under ``maxConcurrentRequests`` is not counted).
        public var totalTimeout: Duration = .seconds(120)
        /// The largest response body accepted (after content decoding); a larger one aborts the transfer
        /// with ``HTTPError/Code/responseTooLarge``.
        public var maxResponseBytes: Int = 64 << 20
        /// How many requests are on the wire at once; further requests wait their turn in order.
        public var maxConcurrentRequests: Int = 10
        /// The `User-Agent` header.
        public var userAgent: String = "snapsync"
        /// Where requests go through a proxy; by default libcurl's reading of the environment.
        public var proxy: HTTPProxy = .environment
        /// Keeps the cookies servers set, in memory for the client's life, and sends them back as a browser
        /// would (Exchange and load balancers keep a client on one backend by cookie).
        public var keepsCookies: Bool = true

        public init() {}

        public var description: String {
            "Configuration(authentication: \(authentication), caFile: \(caFile ?? "system store"), "
                + "allowInsecureTLS: \(allowInsecureTLS), connectTimeout: \(connectTimeout), "
                + "totalTimeout: \(totalTimeout), maxResponseBytes: \(maxResponseBytes), "
                + "maxConcurrentRequests: \(maxConcurrentRequests), userAgent: \(userAgent), proxy: \(proxy), "
                + "keepsCookies: \(keepsCookies))"
        }
    }
}

/// The proxy setting of an ``HTTPClient``.
public enum HTTPProxy: Sendable, Hashable, CustomStringConvertible {
    /// libcurl reads the environment: `http_proxy` (lowercase only) for http URLs, `https_proxy` or
    /// `HTTPS_PROXY` for https URLs, `all_proxy`/`ALL_PROXY` for both, and `no_proxy`/`NO_PROXY` for hosts to
    /// reach directly. (Uppercase `HTTP_PROXY` is ignored on purpose, as by curl: CGI "httpoxy".)
    case environment
    /// Connect directly whatever the environment says.
    case direct
    /// Use this proxy (`http://host:port`, optionally with `user:password@`) for every request.
    case url(String)

    public var description: String {
        switch self {
        case .environment: "environment"
        case .direct: "direct"
        case .url(let url): redactedURL(url)
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 (libcurl reads 0 as "no timeout").
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        guard !millis.overflow else { return Int.max }
        return max(1, Int(millis.partialValue) + Int(attoseconds / 1_000_000_000_000_000))
    }
}

import CCurl
import Synchronization

/// One request and its libcurl easy handle.
///
/// Ownership: the transfer owns `easy`, `headerList` and `errorBuffer` and frees them in `deinit`, on every
/// path (configuration failure, completion, cancellation, shutdown); it keeps the client's ``CurlShare``
/// alive until its easy handle is gone. It is built on the caller's thread,
/// handed to the ``CurlMultiLoop`` thread through a lock, and from then on touched only by that thread until
/// ``finish(_:)`` resumes the caller; hence `@unchecked Sendable`.
final class CurlTransfer: @unchecked Sendable {
    /// What a completed transfer hands back to `execute`.
    struct Completion: Sendable {
        var response: HTTPResponse
        /// Connections libcurl opened for this transfer (0: an idle kept-alive connection was reused).
        var connectionsOpened: Int
    }

    typealias Continuation = CheckedContinuation<Result<Completion, HTTPError>, Never>

    let easy: UnsafeMutableRawPointer
    private let share: CurlShare
    private var headerList: UnsafeMutablePointer<curl_slist>? = nil
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let url: String
    private let secrets: [String]
    private let maxResponseBytes: Int
    /// A body libcurl reads through `sendBody(into:)`, and how much of it it has read.
    private var upload: [UInt8] = []
    private var uploadOffset = 0
    private var body: [UInt8] = []
    private var headers = HTTPHeaders()
    private var bodyTooLarge = false
    private var continuation: Continuation?
    /// Set from any thread when the calling task is cancelled; read by the loop thread.
    let cancellation = Mutex(false)

    private init(easy: UnsafeMutableRawPointer, share: CurlShare, url: String, secrets: [String], maxResponseBytes: Int)
    {
        self.easy = easy
        self.share = share
        self.url = url
        self.secrets = secrets
        self.maxResponseBytes = maxResponseBytes
        let size = snapsync_curl_error_size()
        errorBuffer = .allocate(capacity: size)
        errorBuffer.initialize(repeating: 0, count: size)
    }

    deinit {
        // A transfer dropped without an answer still answers: no caller waits forever.
        continuation?.resume(returning: .failure(error(.shutdown, message: "the HTTP client shut down")))
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)  // after the handle that points at it
        errorBuffer.deallocate()
    }

    /// Builds a configured easy handle for `request`.
    static func make(
        _ request: HTTPRequest, configuration: HTTPClient.Configuration, share: CurlShare
    )
        throws(HTTPError) -> CurlTransfer
    {
        guard let easy = curl_easy_init() else {
            throw HTTPError(code: .other, url: request.url, message: "curl_easy_init failed")
        }
        let transfer = CurlTransfer(
            easy: easy, share: share, url: request.url, secrets: configuration.authentication.secrets,
            maxResponseBytes: configuration.maxResponseBytes)
        try transfer.configure(request, configuration)
        return transfer
    }

    /// Stores the continuation to resume once the loop is done with the transfer.
    func attach(_ continuation: Continuation) { self.continuation = continuation }

    /// Resumes the caller with the result; called once, on the loop thread (or by `deinit`).
    func finish(_ result: Result<Completion, HTTPError>) {
        continuation?.resume(returning: result)
        continuation = nil
    }

    /// Finishes with the outcome libcurl reported for this (already removed) handle.
    func complete(_ code: CURLcode) {
        guard code == CURLE_OK else {
            if bodyTooLarge || code == CURLE_FILESIZE_EXCEEDED {
                return finish(
                    .failure(
                        error(
                            .responseTooLarge, curlCode: code,
                            message: "response body exceeds the limit of \(maxResponseBytes) bytes")))
            }
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            return finish(.failure(error(HTTPError.Code(curl: code), curlCode: code, message: message)))
        }
        var status = 0
        var connects = 0
        snapsync_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        snapsync_curl_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        finish(
            .success(
                Completion(
                    response: HTTPResponse(status: status, headers: headers, body: body), connectionsOpened: connects)))
    }

    func error(_ code: HTTPError.Code, curlCode: CURLcode? = nil, message: String) -> HTTPError {
        HTTPError(
            code: code, curlCode: curlCode.map { Int32(bitPattern: $0.rawValue) }, url: url,
            message: message.redacting(secrets))
    }

    // MARK: - Configuration

    private func configure(_ request: HTTPRequest, _ configuration: HTTPClient.Configuration) throws(HTTPError) {
        guard !request.url.utf8.contains(0) else {
            throw error(.invalidURL, message: "the URL contains a NUL byte")
        }
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.curlMilliseconds)
        try set(CURLOPT_TIMEOUT_MS, (request.timeout ?? configuration.totalTimeout).curlMilliseconds)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_USERAGENT, configuration.userAgent)
        try set(CURLOPT_ACCEPT_ENCODING, "")  // every decoding libcurl has; the size limit counts decoded bytes
        try set(CURLOPT_SHARE, pointer: share.handle)
        if configuration.keepsCookies { try set(CURLOPT_COOKIEFILE, "") }  // "": the in-memory jar only
        try configureTLS(configuration)
        try configureProxy(configuration.proxy)
        try configureAuthentication(configuration.authentication)
        // libcurl silently resends a request whose reused connection dies before an answer; the server may
        // already have applied it. A non-idempotent request's body is therefore handed over by a read callback
        // that cannot rewind: once any of it is on the wire, libcurl cannot send it again and fails with
        // CURLE_SEND_FAIL_REWIND (connection lost) instead, so the request may reuse a kept-alive connection. A
        // request without a body has nothing to withhold (its headers alone make it whole): it gets a connection
        // of its own. Under NTLM, which authenticates a connection (its handshake resends the body on one),
        // neither applies: there the caller's own recovery (EWS looks created items up by stamped id and removes
        // doubles) has to cover it.
        var isNTLM = false
        if case .ntlm = configuration.authentication { isNTLM = true }
        let resendable = request.isIdempotent || isNTLM
        try configureMethodAndBody(request, resendable: resendable)
        try set(CURLOPT_FRESH_CONNECT, resendable || !request.body.isEmpty ? 0 : 1)
        try configureHeaders(request.headers)
        try configureCallbacks(maxResponseBytes: configuration.maxResponseBytes)
    }

    private func configureTLS(_ configuration: HTTPClient.Configuration) throws(HTTPError) {
        if let caFile = configuration.caFile { try set(CURLOPT_CAINFO, caFile) }
        let verify = configuration.allowInsecureTLS ? 0 : 1
        try set(CURLOPT_SSL_VERIFYPEER, verify)
        try set(CURLOPT_SSL_VERIFYHOST, verify * 2)
    }

    private func configureProxy(_ proxy: HTTPProxy) throws(HTTPError) {
        switch proxy {
        case .environment: break  // libcurl reads the environment when CURLOPT_PROXY is unset
        case .direct: try set(CURLOPT_PROXY, "")
        case .url(let url): try set(CURLOPT_PROXY, url)
        }
    }

    private func configureAuthentication(_ authentication: HTTPAuthentication) throws(HTTPError) {
        switch authentication {
        case .none:
            return
        case .basic(let username, let password):
            try set(CURLOPT_HTTPAUTH, Int(bitPattern: UInt(snapsync_curlauth_basic())))
            try set(CURLOPT_USERNAME, username)
            try set(CURLOPT_PASSWORD, password)
        case .ntlm(let username, let password):
            try set(CURLOPT_HTTPAUTH, Int(bitPattern: UInt(snapsync_curlauth_ntlm())))
            try set(CURLOPT_USERNAME, username)
            try set(CURLOPT_PASSWORD, password)
            // NTLM authenticates a connection, which HTTP/2 does not have per request.
            try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        case .bearer(let token):
            try set(CURLOPT_HTTPAUTH, Int(bitPattern: UInt(snapsync_curlauth_bearer())))
            try set(CURLOPT_XOAUTH2_BEARER, token)
        }
    }

    /// The method and the body: a `resendable` body is copied into libcurl (which can then send it again: NTLM's
    /// second leg, a retried reused connection); any other is read from `upload` and cannot be sent twice.
    private func configureMethodAndBody(_ request: HTTPRequest, resendable: Bool) throws(HTTPError) {
        switch request.method {
        case .get, .head:
            guard request.body.isEmpty else {
                throw error(.invalidRequest, message: "a \(request.method.rawValue) request cannot carry a body")
            }
            try set(request.method == .get ? CURLOPT_HTTPGET : CURLOPT_NOBODY, 1)
        case .delete where request.body.isEmpty:
            try set(CURLOPT_CUSTOMREQUEST, "DELETE")
        case .post, .put, .patch, .delete:
            let size = snapsync_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            try check(size, CURLOPT_POSTFIELDSIZE_LARGE)
            if request.method != .post { try set(CURLOPT_CUSTOMREQUEST, request.method.rawValue) }
            guard resendable || request.body.isEmpty else {
                upload = request.body
                try set(CURLOPT_POST, 1)
                try check(snapsync_curl_setopt_read_function(easy, curlReadBody), CURLOPT_READFUNCTION)
                try set(CURLOPT_READDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
                return
            }
            let copy = request.body.withUnsafeBytes { bytes in
                // A non-nil pointer even for an empty body: nil would make libcurl read stdin.
                let empty: CChar = 0
                return withUnsafePointer(to: empty) { emptyPointer in
                    snapsync_curl_setopt_pointer(
                        easy, CURLOPT_COPYPOSTFIELDS,
                        UnsafeMutableRawPointer(
                            mutating: bytes.baseAddress ?? UnsafeRawPointer(emptyPointer)))
                }
            }
            try check(copy, CURLOPT_COPYPOSTFIELDS)
        }
    }

    private func configureHeaders(_ requestHeaders: HTTPHeaders) throws(HTTPError) {
        var lines: [String] = []
        for field in requestHeaders {
            guard Self.isToken(field.name), !field.value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 })
            else {
                throw error(.invalidRequest, message: "header \(field.name.debugDescription) is not a valid field")
            }
            // "Name;" is libcurl's way to send a header with an empty value ("Name:" would remove it).
            lines.append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        // Headers libcurl adds on its own that a SOAP client does not want unless asked for.
        if requestHeaders["Expect"] == nil { lines.append("Expect:") }
        if requestHeaders["Content-Type"] == nil { lines.append("Content-Type:") }
        for line in lines {
            guard let list = curl_slist_append(headerList, line) else {
                throw error(.other, message: "curl_slist_append failed")
            }
            headerList = list
        }
        try check(snapsync_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)
    }

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default:
                    "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    private func configureCallbacks(maxResponseBytes: Int) throws(HTTPError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(snapsync_curl_setopt_write_function(easy, curlWriteBody), CURLOPT_WRITEFUNCTION)
        try set(CURLOPT_WRITEDATA, pointer: me)
        try check(snapsync_curl_setopt_header_function(easy, curlWriteHeader), CURLOPT_HEADERFUNCTION)
        try set(CURLOPT_HEADERDATA, pointer: me)
        // Refuses at once a response whose Content-Length is over the limit; the write callback catches the rest.
        let limit = snapsync_curl_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxResponseBytes))
        try check(limit, CURLOPT_MAXFILESIZE_LARGE)
    }

    // MARK: - Callbacks (loop thread)

    /// Hands libcurl the next bytes of a body it must not send twice; 0 at the end. There is no way back: libcurl
    /// asks for a rewind only to send the body again, and the missing seek callback refuses it.
    fileprivate func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, upload.count - uploadOffset)
        upload.withUnsafeBytes { bytes in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[uploadOffset..<uploadOffset + count]))
        }
        uploadOffset += count
        return count
    }

    /// Appends body bytes; refusing them (a short count) makes libcurl abort with CURLE_WRITE_ERROR.
    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard body.count + bytes.count <= maxResponseBytes else {
            bodyTooLarge = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// Records a header line. A status line starts a new response (after a 100, a 401 challenge or a
    /// proxy's CONNECT answer), whose headers and body replace the previous ones.
    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        if bytes.starts(with: "HTTP/".utf8) {
            headers = HTTPHeaders()
            body = []
            return
        }
        if bytes.elementsEqual("\r\n".utf8) {  // end of the headers: make room for the announced body once
            var length: curl_off_t = -1
            snapsync_curl_getinfo_off(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length)
            if length > 0 { body.reserveCapacity(min(Int(length), maxResponseBytes)) }
            return
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }  // folded line
        let name = String(decoding: bytes[..<colon], as: UTF8.self)
        let value = String(decoding: bytes[(colon + 1)...], as: UTF8.self)
        headers.add(name: name, value: value.trimmingHTTPWhitespace())
    }

    // MARK: - Option helpers

    private func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(snapsync_curl_setopt_long(easy, option, value), option)
    }

    private func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        guard !value.utf8.contains(0) else {
            throw error(.invalidRequest, message: "option \(option.rawValue) contains a NUL byte")
        }
        try check(snapsync_curl_setopt_string(easy, option, value), option)  // libcurl copies strings
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer) throws(HTTPError) {
        try check(snapsync_curl_setopt_pointer(easy, option, pointer), option)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(HTTPError) {
        guard code != CURLE_OK else { return }
        let reason = String(cString: curl_easy_strerror(code))
        throw error(
            HTTPError.Code(curl: code), curlCode: code, message: "setting option \(option.rawValue): \(reason)")
    }
}

private let curlWriteBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
}

private let curlReadBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, context in
    guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.sendBody(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private let curlWriteHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int =
    { data, size, count, context in
        guard let context else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
        return size * count
    }

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    fileprivate func trimmingHTTPWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

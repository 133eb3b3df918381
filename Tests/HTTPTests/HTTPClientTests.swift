import Foundation
import HTTP
import Logging
import Synchronization
import TestSupport
import Testing

/// Starts a loopback server and a client, runs `body`, then shuts both down.
func withServerAndClient(
    configuration: HTTPClient.Configuration = .init(), logs: CapturedLogs = CapturedLogs(),
    handler: @escaping LoopbackHTTPServer.Handler,
    _ body: (LoopbackHTTPServer, HTTPClient) async throws -> Void
) async throws {
    let server = try await LoopbackHTTPServer(handler: handler)
    let client = try HTTPClient(configuration: configuration, logger: logs.logger())
    defer { client.shutdown() }
    try await body(server, client)
    try await server.shutdown()
}

@Suite struct HTTPClientTests {
    @Test func postSendsMethodHeadersAndBodyAndReturnsTheResponse() async throws {
        try await withServerAndClient(handler: { request in
            .init(
                status: 201, headers: [("X-Reply", "yes"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
                body: Array("got \(request.body.count) bytes".utf8))
        }) { server, client in
            let body = Array("<soap:Envelope>ünïcode</soap:Envelope>".utf8)
            let response = try await client.execute(
                HTTPRequest(
                    method: .post, url: server.baseURL + "/EWS/Exchange.asmx",
                    headers: ["Content-Type": "text/xml; charset=utf-8", "X-Empty": ""], body: body))
            #expect(response.status == 201)
            #expect(response.headers["x-reply"] == "yes")
            #expect(response.headers.values("Set-Cookie") == ["a=1", "b=2"])
            #expect(String(decoding: response.body, as: UTF8.self) == "got \(body.count) bytes")

            let seen = try #require(server.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.uri == "/EWS/Exchange.asmx")
            #expect(seen.body == body)
            #expect(seen.header("Content-Type") == "text/xml; charset=utf-8")
            #expect(seen.header("X-Empty") == "")
            #expect(seen.header("User-Agent") == "snapsync")
            #expect(seen.header("Expect") == nil)
        }
    }

    @Test func postWithoutContentTypeSendsNoFormEncodingAndEmptyPostWorks() async throws {
        try await withServerAndClient(handler: { _ in .init(text: "ok") }) { server, client in
            _ = try await client.execute(HTTPRequest(method: .post, url: server.baseURL + "/a", body: [1, 2, 3]))
            _ = try await client.execute(HTTPRequest(method: .post, url: server.baseURL + "/b"))
            _ = try await client.execute(HTTPRequest(method: .put, url: server.baseURL + "/c", body: [4]))
            _ = try await client.execute(HTTPRequest(method: .delete, url: server.baseURL + "/d"))
            let seen = server.requests
            #expect(seen.map(\.method) == ["POST", "POST", "PUT", "DELETE"])
            #expect(seen.map(\.body) == [[1, 2, 3], [], [4], []])
            #expect(seen.allSatisfy { $0.header("Content-Type") == nil })
        }
    }

    @Test func sequentialRequestsReuseOneKeptAliveConnection() async throws {
        let logs = CapturedLogs()
        try await withServerAndClient(logs: logs, handler: { _ in .init(text: "ok") }) { server, client in
            for index in 0..<5 {
                let response = try await client.execute(HTTPRequest(url: server.baseURL + "/item/\(index)"))
                #expect(response.status == 200)
            }
            #expect(server.connectionCount == 1)
            #expect(server.requests.map(\.connectionID) == [0, 0, 0, 0, 0])
        }
        let completed = logs.entries.filter { $0.message == "HTTP request completed" }
        #expect(completed.map { $0.metadata["http.connection_reused"] } == ["false", "true", "true", "true", "true"])
        #expect(completed.allSatisfy { $0.level == .debug && $0.metadata["http.status"] == "200" })
        #expect(completed.first?.metadata["http.bytes"] == "2")
        #expect(completed.first?.metadata["http.method"] == "GET")
    }

    @Test func createsReuseOneKeptAliveConnectionAndArriveWhole() async throws {
        try await withServerAndClient(handler: { request in .init(text: "\(request.body.count)") }) { server, client in
            let bodies = [Array(repeating: UInt8(ascii: "a"), count: 300_000), Array("{}".utf8), [0, 1, 2]]
            for body in bodies {
                let response = try await client.execute(
                    HTTPRequest(method: .post, url: server.baseURL + "/create", body: body, isIdempotent: false))
                #expect(String(decoding: response.body, as: UTF8.self) == "\(body.count)")
            }
            let patch = try await client.execute(
                HTTPRequest(method: .patch, url: server.baseURL + "/item", body: [7], isIdempotent: false))
            #expect(patch.status == 200)
            #expect(server.requests.map(\.body) == bodies + [[7]])
            #expect(server.requests.map(\.method) == ["POST", "POST", "POST", "PATCH"])
            #expect(server.connectionCount == 1)
            // Without a body, libcurl could resend it whole: it gets a connection of its own.
            _ = try await client.execute(
                HTTPRequest(method: .post, url: server.baseURL + "/action", isIdempotent: false))
            #expect(server.connectionCount == 2)
        }
    }

    /// The server applies a request that comes on a reused connection, then drops the connection without answering.
    @Test(arguments: [false, true])
    func aRequestWhoseReusedConnectionDiesIsSentAgainOnlyWhenIdempotent(isIdempotent: Bool) async throws {
        let server = try await LoopbackHTTPServer(asyncHandler: { request in
            request.uri == "/create" && request.connectionID == 0 ? nil : .init(text: "created")
        })
        let client = try HTTPClient(logger: CapturedLogs().logger())
        defer { client.shutdown() }
        _ = try await client.execute(HTTPRequest(url: server.baseURL + "/warm-up"))  // connection 0, kept alive
        let create = HTTPRequest(
            method: .post, url: server.baseURL + "/create", body: Array("{\"givenName\":\"Ann\"}".utf8),
            isIdempotent: isIdempotent)
        if isIdempotent {
            // libcurl resends it on a new connection: safe only because sending it twice does no harm.
            #expect(try await client.execute(create).status == 200)
            #expect(server.requests.filter { $0.uri == "/create" }.map(\.connectionID) == [0, 1])
        } else {
            let error = await #expect(throws: HTTPError.self) { try await client.execute(create) }
            #expect(error?.code == .connectionLost)
            #expect(server.requests.filter { $0.uri == "/create" }.map(\.connectionID) == [0])
        }
        try await server.shutdown()
    }

    @Test(arguments: [true, false])
    func cookiesSetByTheServerAreSentBackUnlessDisabled(keepsCookies: Bool) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.keepsCookies = keepsCookies
        try await withServerAndClient(
            configuration: configuration,
            handler: { request in
                request.uri == "/login"
                    ? .init(headers: [("Set-Cookie", "X-BackEndCookie=mbx-42; path=/; HttpOnly")])
                    : .init(text: "ok")
            }
        ) { server, client in
            _ = try await client.execute(HTTPRequest(url: server.baseURL + "/login"))
            // Concurrent requests run on several easy handles and connections: all share the jar.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask { _ = try await client.execute(HTTPRequest(url: server.baseURL + "/\(index)")) }
                }
                try await group.waitForAll()
            }
            let cookies = server.requests.dropFirst().map { $0.header("Cookie") }
            #expect(cookies == Array(repeating: keepsCookies ? "X-BackEndCookie=mbx-42" : nil, count: 4))
        }
    }

    @Test func requestsAreInFlightConcurrently() async throws {
        try await withServerAndClient(handler: { _ in .init(text: "slow", delay: .milliseconds(300)) }) {
            server, client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask { try await client.execute(HTTPRequest(url: server.baseURL + "/\(index)")).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(server.maxConcurrentRequests == 8)
            // Kept-alive connections are reused afterwards instead of reconnecting.
            _ = try await client.execute(HTTPRequest(url: server.baseURL + "/again"))
            #expect(server.connectionCount == 8)
        }
    }

    @Test func maxConcurrentRequestsBoundsRequestsOnTheWire() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.maxConcurrentRequests = 2
        try await withServerAndClient(
            configuration: configuration,
            handler: { _ in
                .init(text: "slow", delay: .milliseconds(100))
            }
        ) { server, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<6 {
                    group.addTask { _ = try await client.execute(HTTPRequest(url: server.baseURL + "/\(index)")) }
                }
                try await group.waitForAll()
            }
            #expect(server.requests.count == 6)
            #expect(server.maxConcurrentRequests == 2)
        }
    }

    @Test func basicAuthenticationSendsTheExactHeader() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.authentication = .basic(username: "alice", password: "s3cret:pä")
        try await withServerAndClient(configuration: configuration, handler: { _ in .init(text: "ok") }) {
            server, client in
            _ = try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            let expected = "Basic " + Data("alice:s3cret:pä".utf8).base64EncodedString()
            #expect(server.requests.first?.header("Authorization") == expected)
        }
    }

    @Test func bearerAuthenticationSendsTheToken() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.authentication = .bearer(token: "eyJ0eXAi.token-123")
        try await withServerAndClient(configuration: configuration, handler: { _ in .init(text: "ok") }) {
            server, client in
            _ = try await client.execute(HTTPRequest(method: .post, url: server.baseURL + "/", body: [1]))
            #expect(server.requests.first?.header("Authorization") == "Bearer eyJ0eXAi.token-123")
        }
    }

    @Test func ntlmAnswersTheChallengeWithTheHandshakeOnOneConnection() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.authentication = .ntlm(username: "CONTOSO\\alice", password: "ntlm-secret")
        let authenticated = Mutex<Set<Int>>([])  // connections that completed the handshake, as IIS keeps them
        try await withServerAndClient(
            configuration: configuration,
            handler: { request in
                let authorization = request.header("Authorization") ?? ""
                if authorization.hasPrefix("NTLM TlRMTVNTUAAB") {  // type 1 (negotiate): send a type 2 challenge
                    return .init(status: 401, headers: [("WWW-Authenticate", "NTLM " + ntlmChallenge)])
                }
                if authorization.hasPrefix("NTLM TlRMTVNTUAAD") {  // type 3 (authenticate)
                    authenticated.withLock { _ = $0.insert(request.connectionID) }
                    return .init(text: "welcome")
                }
                if authenticated.withLock({ $0.contains(request.connectionID) }) { return .init(text: "again") }
                return .init(status: 401, headers: [("WWW-Authenticate", "NTLM")])
            }
        ) { server, client in
            let body = Array("<Envelope/>".utf8)
            let response = try await client.execute(
                HTTPRequest(method: .post, url: server.baseURL + "/EWS", body: body))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "welcome")
            let seen = server.requests
            #expect(seen.count == 2)  // libcurl starts with the negotiate message when NTLM is the only method
            #expect(seen.first?.header("Authorization")?.hasPrefix("NTLM TlRMTVNTUAAB") == true)
            let type3 = try #require(seen.last?.header("Authorization")?.dropFirst("NTLM ".count))
            let decoded = try #require(Data(base64Encoded: String(type3)))
            #expect(decoded.prefix(8) == Data("NTLMSSP\0".utf8))
            #expect(!String(decoding: decoded, as: UTF8.self).contains("ntlm-secret"))
            #expect(seen.last?.body == body)

            // The authenticated connection is reused for the next request.
            let again = try await client.execute(HTTPRequest(method: .post, url: server.baseURL + "/EWS", body: body))
            #expect(again.status == 200)
            #expect(server.connectionCount == 1)
        }
    }

    @Test func totalTimeoutFailsWithTimedOut() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.totalTimeout = .milliseconds(300)
        try await withServerAndClient(
            configuration: configuration,
            handler: { _ in
                .init(text: "late", delay: .seconds(3))
            }
        ) { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/slow?token=abc"))
            }
            #expect(error?.code == .timedOut)
            #expect(error?.curlCode == 28)
            #expect(error?.url == server.baseURL + "/slow")
        }
    }

    @Test func perRequestTimeoutOverridesTheClients() async throws {
        try await withServerAndClient(handler: { _ in .init(text: "late", delay: .seconds(3)) }) { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/slow", timeout: .milliseconds(200)))
            }
            #expect(error?.code == .timedOut)
        }
    }

    @Test func connectTimeoutBoundsAHangingTLSHandshake() async throws {
        let silent = try await SilentTCPServer()
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = .milliseconds(300)
        configuration.totalTimeout = .seconds(60)
        let client = try HTTPClient(configuration: configuration, logger: CapturedLogs().logger())
        defer { client.shutdown() }
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPError.self) {
            try await client.execute(HTTPRequest(url: "https://127.0.0.1:\(silent.port)/"))
        }
        #expect(error?.code == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(30))  // the connect timeout, not the total one, fired
        try await silent.shutdown()
    }

    @Test func closedPortFailsWithCouldNotConnect() async throws {
        let closed = try await LoopbackHTTPServer { _ in .init() }
        try await closed.shutdown()
        let client = try HTTPClient(logger: CapturedLogs().logger())
        defer { client.shutdown() }
        let error = await #expect(throws: HTTPError.self) {
            try await client.execute(HTTPRequest(url: closed.baseURL + "/"))
        }
        #expect(error?.code == .couldNotConnect)
        #expect(error?.curlCode == 7)
    }

    @Test func errorStatusesAreResponsesThatValidatedTurnsIntoErrors() async throws {
        try await withServerAndClient(handler: { request in
            .init(status: Int(request.uri.dropFirst()) ?? 500, text: "status body")
        }) { server, client in
            for status in [400, 401, 404, 500, 503] {
                let response = try await client.execute(HTTPRequest(url: server.baseURL + "/\(status)"))
                #expect(response.status == status)
                #expect(String(decoding: response.body, as: UTF8.self) == "status body")
                let error = #expect(throws: HTTPError.self) { try response.validated() }
                #expect(error?.code == .httpStatus)
                #expect(error?.status == status)
            }
            let ok = try await client.execute(HTTPRequest(url: server.baseURL + "/204"))
            #expect(try ok.validated().status == 204)
            let redirect = try await client.execute(HTTPRequest(url: server.baseURL + "/302"))
            #expect(try redirect.validated().status == 302)  // not followed
        }
    }

    @Test(arguments: [true, false])
    func bodyOverTheLimitFailsWithResponseTooLarge(sendsContentLength: Bool) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.maxResponseBytes = 100_000
        try await withServerAndClient(
            configuration: configuration,
            handler: { request in
                let size = request.uri == "/big" ? 300_000 : 100_000
                return .init(body: Array(repeating: 0x61, count: size), sendsContentLength: sendsContentLength)
            }
        ) { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/big"))
            }
            #expect(error?.code == .responseTooLarge)
            let exact = try await client.execute(HTTPRequest(url: server.baseURL + "/exact"))
            #expect(exact.body.count == 100_000)
        }
    }

    @Test func largeBodiesArriveWhole() async throws {
        let payload = (0..<5_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let handler: LoopbackHTTPServer.Handler = { request in
            .init(body: request.uri == "/echo" ? request.body : payload)
        }
        try await withServerAndClient(handler: handler) { server, client in
            #expect(try await client.execute(HTTPRequest(url: server.baseURL + "/")).body == payload)
            let echoed = try await client.execute(
                HTTPRequest(method: .post, url: server.baseURL + "/echo", body: payload))
            #expect(echoed.body == payload)
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        try await withServerAndClient(handler: { _ in .init(text: "late", delay: .seconds(5)) }) { server, client in
            let task = Task { try await client.execute(HTTPRequest(url: server.baseURL + "/slow")) }
            while server.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            task.cancel()
            let error = await #expect(throws: HTTPError.self) { try await task.value }
            #expect(error?.code == .cancelled)
        }
    }

    @Test func shutdownFailsRequestsInFlightAndLaterOnes() async throws {
        let server = try await LoopbackHTTPServer { request in
            .init(text: "reply", delay: request.uri == "/slow" ? .seconds(5) : .milliseconds(50))
        }
        let client = try HTTPClient(logger: CapturedLogs().logger())
        async let first = client.execute(HTTPRequest(url: server.baseURL + "/1"))
        async let second = client.execute(HTTPRequest(url: server.baseURL + "/2"))
        _ = try await (first, second)
        #expect(server.openConnectionCount == 2)  // kept alive, idle
        let task = Task { try await client.execute(HTTPRequest(url: server.baseURL + "/slow")) }
        while server.requests.count < 3 { try await Task.sleep(for: .milliseconds(10)) }
        client.shutdown()
        let inFlight = await #expect(throws: HTTPError.self) { try await task.value }
        #expect(inFlight?.code == .shutdown)
        let later = await #expect(throws: HTTPError.self) {
            try await client.execute(HTTPRequest(url: server.baseURL + "/"))
        }
        #expect(later?.code == .shutdown)
        client.shutdown()  // idempotent
        for _ in 0..<200 where server.openConnectionCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.openConnectionCount == 0)  // the client closed its connections, busy and idle
        try await server.shutdown()
    }

    @Test func invalidRequestsAreRefusedBeforeSending() async throws {
        try await withServerAndClient(handler: { _ in .init() }) { server, client in
            let badScheme = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: "ftp://127.0.0.1/file"))
            }
            #expect(badScheme?.code == .invalidURL)
            let malformed = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: "http://[::1"))
            }
            #expect(malformed?.code == .invalidURL)
            let injected = await #expect(throws: HTTPError.self) {
                try await client.execute(
                    HTTPRequest(
                        url: server.baseURL + "/", headers: ["X-Bad": "a\r\nInjected: yes"]))
            }
            #expect(injected?.code == .invalidRequest)
            let getWithBody = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/", body: [1]))
            }
            #expect(getWithBody?.code == .invalidRequest)
            #expect(server.requests.isEmpty)
        }
    }

    @Test func explicitProxyReceivesTheRequestInAbsoluteForm() async throws {
        let proxy = try await LoopbackHTTPServer { _ in .init(text: "via proxy") }
        var configuration = HTTPClient.Configuration()
        configuration.proxy = .url(proxy.baseURL)
        let client = try HTTPClient(configuration: configuration, logger: CapturedLogs().logger())
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(url: "http://exchange.invalid/EWS/Exchange.asmx"))
        #expect(String(decoding: response.body, as: UTF8.self) == "via proxy")
        #expect(proxy.requests.first?.uri == "http://exchange.invalid/EWS/Exchange.asmx")
        try await proxy.shutdown()
    }

    @Test func credentialsNeverReachErrorsOrLogs() async throws {
        let closed = try await LoopbackHTTPServer { _ in .init() }
        try await closed.shutdown()
        let secrets: [(HTTPAuthentication, String)] = [
            (.basic(username: "alice", password: "pw-basic-42"), "pw-basic-42"),
            (.ntlm(username: "alice", password: "pw-ntlm-42"), "pw-ntlm-42"),
            (.bearer(token: "tok-bearer-42"), "tok-bearer-42"),
        ]
        for (authentication, secret) in secrets {
            let logs = CapturedLogs()
            var configuration = HTTPClient.Configuration()
            configuration.authentication = authentication
            let client = try HTTPClient(configuration: configuration, logger: logs.logger())
            defer { client.shutdown() }
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(
                    HTTPRequest(url: "http://user:\(secret)@127.0.0.1:\(closed.port)/x?key=\(secret)"))
            }
            #expect(error?.code == .couldNotConnect)
            #expect(!(error.map { "\($0)" } ?? secret).contains(secret))
            #expect(!String(reflecting: error as Any).contains(secret))
            #expect(!logs.entries.isEmpty)
            #expect(logs.entries.allSatisfy { !$0.fullText.contains(secret) })
            #expect(!"\(authentication)".contains(secret))
            #expect(!"\(configuration)".contains(secret))
            var dumped = ""
            dump(configuration, to: &dumped)
            #expect(!dumped.contains(secret))
        }
    }
}

/// A minimal NTLM type 2 (challenge) message: signature, type 2, empty target name, flags
/// (Unicode | NTLM), an 8-byte server challenge and an empty context.
let ntlmChallenge: String = {
    var message = Array("NTLMSSP\0".utf8)
    message += [2, 0, 0, 0]  // type 2
    message += [0, 0, 0, 0, 40, 0, 0, 0]  // target name: length 0, offset 40
    message += [0x01, 0x02, 0x00, 0x00]  // NEGOTIATE_UNICODE | NEGOTIATE_NTLM
    message += [1, 2, 3, 4, 5, 6, 7, 8]  // challenge
    message += [0, 0, 0, 0, 0, 0, 0, 0]  // context
    return Data(message).base64EncodedString()
}()

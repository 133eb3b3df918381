import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An in-process HTTP/1.1 server on 127.0.0.1 (port chosen by the system) for tests: it records every
/// request with the id of the connection it came on, answers through a handler (status, headers, body,
/// delay), can speak TLS, and tracks how many requests it was answering at the same time.
public final class LoopbackHTTPServer: Sendable {
    /// A request as the server received it.
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Which accepted connection (0, 1, 2, ...) the request came on.
        public var connectionID: Int

        /// The first value of a header, compared case-insensitively.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// What the server answers.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Waits this long before answering.
        public var delay: Duration?
        /// Sends `Content-Length`; otherwise the body goes chunked.
        public var sendsContentLength: Bool

        public init(
            status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
            delay: Duration? = nil, sendsContentLength: Bool = true
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.sendsContentLength = sendsContentLength
        }

        public init(status: Int = 200, text: String, delay: Duration? = nil) {
            self.init(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8), delay: delay)
        }
    }

    /// Answers a request; called on the server's event loop, so it must not block.
    public typealias Handler = @Sendable (Request) -> Response
    /// Answers a request from a task of its own (a proxy forwarding it, say); nil closes the connection without
    /// an answer, as a server does that dies or drops the connection after it applied the request.
    public typealias AsyncHandler = @Sendable (Request) async -> Response?

    /// How the server answers.
    enum Answering: Sendable {
        case immediately(Handler)
        case eventually(AsyncHandler)
    }

    private struct State {
        var requests: [Request] = []
        var connections = 0
        var openConnections = 0
        var inFlight = 0
        var maxInFlight = 0
    }

    /// The state the server and its connections' handlers share.
    private final class SharedState: Sendable {
        let mutex = Mutex(State())
        func withLockedValue<T>(_ body: (inout State) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    private let channel: any Channel
    private let state: SharedState

    /// The port the server listens on.
    public let port: Int
    /// `http://127.0.0.1:PORT` or `https://...` with TLS.
    public let baseURL: String

    /// Starts a server; with `tls` it speaks HTTPS with that certificate chain and key (PEM files).
    public convenience init(
        tls: (certificateFile: String, keyFile: String)? = nil, handler: @escaping Handler
    ) async throws {
        try await self.init(tls: tls, answering: .immediately(handler))
    }

    /// Starts a server whose answers come from `handler` in a task of their own.
    public convenience init(
        tls: (certificateFile: String, keyFile: String)? = nil, asyncHandler: @escaping AsyncHandler
    ) async throws {
        try await self.init(tls: tls, answering: .eventually(asyncHandler))
    }

    init(tls: (certificateFile: String, keyFile: String)?, answering handler: Answering) async throws {
        let state = SharedState()
        let sslContext = try tls.map { tls in
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            return try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connectionID = state.withLockedValue { state in
                        defer {
                            state.connections += 1
                            state.openConnections += 1
                        }
                        return state.connections
                    }
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHandler(connectionID: connectionID, state: state, handler: handler))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel = channel
        self.state = state
        port = channel.localAddress?.port ?? 0
        baseURL = "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)"
    }

    /// Every request received so far, in arrival order.
    public var requests: [Request] { state.withLockedValue { $0.requests } }
    /// How many connections the server accepted.
    public var connectionCount: Int { state.withLockedValue { $0.connections } }
    /// How many accepted connections are still open.
    public var openConnectionCount: Int { state.withLockedValue { $0.openConnections } }
    /// The most requests the server was answering at the same moment.
    public var maxConcurrentRequests: Int { state.withLockedValue { $0.maxInFlight } }

    /// Stops listening and closes the listening socket (open connections end with their peers).
    public func shutdown() async throws {
        try await channel.close()
    }

    private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let connectionID: Int
        private let state: SharedState
        private let handler: Answering
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        init(connectionID: Int, state: SharedState, handler: Answering) {
            self.connectionID = connectionID
            self.state = state
            self.handler = handler
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.openConnections -= 1 }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let request = Request(
                    method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                    body: body, connectionID: connectionID)
                state.withLockedValue { state in
                    state.requests.append(request)
                    state.inFlight += 1
                    state.maxInFlight = max(state.maxInFlight, state.inFlight)
                }
                let keepAlive = head.isKeepAlive
                let version = head.version
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let send: @Sendable (Response) -> Void = { [self] response in
                    let write: @Sendable () -> Void = { [self] in
                        respond(response, version: version, keepAlive: keepAlive, context: loopBound.value)
                    }
                    if let delay = response.delay {
                        let nanoseconds =
                            delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                        loopBound.value.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds), write)
                    } else {
                        write()
                    }
                }
                switch handler {
                case .immediately(let handler):
                    send(handler(request))
                case .eventually(let handler):
                    let loop = context.eventLoop, state = state
                    Task {
                        let answer = await handler(request)
                        loop.execute {
                            guard let answer else {
                                state.withLockedValue { $0.inFlight -= 1 }
                                loopBound.value.close(promise: nil)
                                return
                            }
                            send(answer)
                        }
                    }
                }
            }
        }

        private func respond(
            _ response: Response, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext
        ) {
            var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
            if response.sendsContentLength {
                headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
            }
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            let head = HTTPResponseHead(
                version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !response.body.isEmpty {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                    promise: nil)
            }
            let state = self.state
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                state.withLockedValue { $0.inFlight -= 1 }
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}

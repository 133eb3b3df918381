import Foundation
import Logging
import Synchronization
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An in-process Exchange simulator: EWS at `POST /EWS/Exchange.asmx`, Microsoft Graph v1.0 under `/v1.0/` with
/// its token endpoint at `POST /{tenant}/oauth2/v2.0/token`, the JSON control API under `/sim/`.
///
/// ```swift
/// let sim = try await Simulator.start()
/// sim.control.createMailbox("alice@example.com")
/// // ... point a client at sim.endpoint with SimulatorConfiguration.defaultAccount ...
/// try await sim.shutdown()
/// ```
public final class Simulator: Sendable {
    /// The control surface (mailboxes, seeding, backups, faults, counters).
    public let control: SimulatorControl
    let configuration: SimulatorConfiguration
    let group: MultiThreadedEventLoopGroup
    let service: EWSService
    /// Microsoft Graph v1.0 over the same store, and the token endpoint's registrations and tokens.
    let graph: GraphService
    let graphAuth: GraphAuth
    private let state: Mutex<ListenerState>
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let sslContext: NIOSSLContext?

    private struct ListenerState {
        var port: Int
        var server: (any Channel)?
        var controlServer: (any Channel)?
        var upTask: Scheduled<Void>?
    }

    /// The EWS port (fixed for the simulator's life, also across `goDown`/`comeUp`).
    public var port: Int { state.withLock { $0.port } }
    /// The control-only port, when configured.
    public var controlPort: Int? { state.withLock { $0.controlServer?.localAddress?.port } }
    /// `http(s)://host:port/v1.0`: Graph's base URL.
    public var graphEndpoint: String {
        "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)/v1.0"
    }
    /// `http(s)://host:port`: the authority a Graph client takes its tokens from (as `https://login.microsoftonline.com`).
    public var graphAuthority: String {
        "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)"
    }
    /// `http(s)://host:port/{tenant}/oauth2/v2.0/token`.
    public func tokenEndpoint(tenant: String = "common") -> String {
        "\(graphAuthority)/\(tenant)/oauth2/v2.0/token"
    }
    /// The most requests a Graph `$batch` may hold (Graph's limit; more are refused with 400).
    public static var graphBatchLimit: Int { GraphService.batchLimit }
    /// `http(s)://host:port/EWS/Exchange.asmx`.
    public var endpoint: String {
        "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)/EWS/Exchange.asmx"
    }

    private init(configuration: SimulatorConfiguration, store: Store) throws {
        let certificates = try configuration.graphAppCertificates.map {
            (clientId: $0.clientId, certificate: try RegisteredCertificate(pemFile: $0.certificatePath))
        }
        self.configuration = configuration
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        self.control = SimulatorControl(store: store)
        self.service = EWSService(store: store, access: configuration.access)
        let auth = GraphAuth(
            apps: configuration.graphApps, certificates: certificates, tokenSeconds: configuration.graphTokenSeconds)
        self.graphAuth = auth
        self.graph = GraphService(store: store, auth: auth)
        self.state = Mutex(ListenerState(port: configuration.port))
        if let tls = configuration.tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
            self.sslContext = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } else {
            self.sslContext = nil
        }
    }

    /// Starts a simulator and returns once it accepts connections.
    public static func start(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration()
    ) async throws -> Simulator {
        let store = try Store.open(dataDirectory: configuration.dataDirectory, logger: configuration.logger)
        let sim = try Simulator(configuration: configuration, store: store)
        for user in configuration.accounts.keys where user.contains("@") { sim.control.createMailbox(user) }
        for m in configuration.mailboxes { sim.control.createMailbox(m) }
        sim.control.listener.withLock { $0 = SimulatorListener(sim: sim) }
        sim.control.graphAuth.withLock { $0 = sim.graphAuth }
        do {
            try await sim.bind()
            if let cp = configuration.controlPort {
                let ch = try await sim.bootstrap(controlOnly: true).bind(host: configuration.host, port: cp).get()
                sim.state.withLock { $0.controlServer = ch }
            }
        } catch {
            try? await sim.group.shutdownGracefully()
            throw error
        }
        configuration.logger.info("exchange-sim listening", metadata: ["sim.endpoint": "\(sim.endpoint)"])
        return sim
    }

    /// Stops listening, closes connections, flushes persistence and releases threads.
    public func shutdown() async throws {
        let (server, controlServer) = state.withLock { s -> ((any Channel)?, (any Channel)?) in
            s.upTask?.cancel()
            defer { s.server = nil; s.controlServer = nil }
            return (s.server, s.controlServer)
        }
        try? await server?.close()
        try? await controlServer?.close()
        for c in connections.withLock({ Array($0.values) }) { try? await c.close() }
        control.listener.withLock { $0 = nil }
        control.store.close()
        try await group.shutdownGracefully()
    }

    func bootstrap(controlOnly: Bool) -> ServerBootstrap {
        let sslContext = controlOnly ? nil : self.sslContext
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        SimulatorHTTPHandler(sim: self, controlOnly: controlOnly))
                    if !controlOnly {
                        let id = ObjectIdentifier(channel)
                        self.connections.withLock { $0[id] = channel }
                        channel.closeFuture.whenComplete { _ in
                            _ = self.connections.withLock { $0.removeValue(forKey: id) }
                        }
                    }
                }
            }
    }

    func bind() async throws {
        let port = state.withLock { $0.port }
        let ch = try await bootstrap(controlOnly: false).bind(host: configuration.host, port: port).get()
        state.withLock {
            $0.server = ch; $0.port = ch.localAddress?.port ?? port
        }
    }

    func goDown(seconds: Double?) async throws {
        let server = state.withLock { s -> (any Channel)? in
            defer { s.server = nil }; s.upTask?.cancel(); return s.server
        }
        try? await server?.close()
        for c in connections.withLock({ Array($0.values) }) { try? await c.close() }
        if let seconds {
            let task = group.next().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                Task { try? await self.comeUp() }
                return ()
            }
            state.withLock { $0.upTask = task }
        }
    }

    func comeUp() async throws {
        let isUp = state.withLock { s -> Bool in
            s.upTask?.cancel(); s.upTask = nil; return s.server != nil
        }
        if !isUp { try await bind() }
    }
}

private struct SimulatorListener: ListenerControl {
    let sim: Simulator
    func goDown(seconds: Double?) async throws { try await sim.goDown(seconds: seconds) }
    func comeUp() async throws { try await sim.comeUp() }
}

import EWS
import ExchangeSimulator
import Foundation
import Graph
import HTTP
import Logging
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing
import TestSupport

/// A migrated PostgreSQL database and an in-process Exchange simulator over loopback HTTP, with one CRM
/// user per simulator mailbox.
struct PipelineTestEnvironment {
    let conninfo: String
    let simulator: Simulator
    let source: any MailboxSource
    let owners: [MailboxOwner]
    /// The protocol the source speaks.
    var sourceProtocol: ExchangeProtocol = .ews
    /// The corrupting proxy the source talks through, when the environment was made with one (EWS).
    var proxy: CorruptingEWSProxy? = nil
    /// The fault proxy the source talks through, when the environment was made with one (Graph).
    var graphProxy: GraphFaultProxy? = nil
    let logger = Self.makeLogger()

    /// The tests' logger: notices and above, unless `SNAPSYNC_TEST_LOG_LEVEL` asks for more (a soak test's
    /// thousands of retry waits at info level buried the failures of a run in CI).
    static func makeLogger() -> Logger {
        var logger = Logger(label: "pipeline-test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["SNAPSYNC_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? .notice
        return logger
    }

    /// `proxied`: the source reaches the simulator through a ``CorruptingEWSProxy`` (EWS) or a ``GraphFaultProxy``
    /// (Graph), with a client that refuses answers over `maxResponseBytes`. `sourceProtocol`: the source speaks EWS or Graph to the simulator.
    static func with(
        mailboxes: [String], proxied: Bool = false, maxResponseBytes: Int = 64 << 20,
        sourceProtocol: ExchangeProtocol = .ews,
        _ body: (PipelineTestEnvironment) async throws -> Void
    ) async throws {
        try await TestDatabase.with { conninfo in
            var configuration = SimulatorConfiguration()
            configuration.mailboxes = mailboxes
            let simulator = try await Simulator.start(configuration)
            let proxy =
                proxied && sourceProtocol == .ews
                ? try await CorruptingEWSProxy(forwardingTo: simulator.endpoint, logger: makeLogger()) : nil
            let graphProxy =
                proxied && sourceProtocol == .graph ? try await GraphFaultProxy.start(forwardingTo: simulator) : nil
            let (source, client): (any MailboxSource, HTTPClient) =
                switch sourceProtocol {
                case .ews:
                    try makeSource(endpoint: proxy?.endpoint ?? simulator.endpoint, maxResponseBytes: maxResponseBytes)
                case .graph:
                    try makeGraphSource(
                        simulator: simulator, endpoint: graphProxy?.endpoint, maxResponseBytes: maxResponseBytes)
                }
            let db = try await PostgresConnection.connect(conninfo, logger: makeLogger())
            var owners: [MailboxOwner] = []
            for (index, address) in mailboxes.enumerated() {
                let owner = MailboxOwner(smtpAddress: address, userID: UUID())
                try await db.execute(
                    "INSERT INTO crm.users (id, login, display_name, mailbox) VALUES ($1, $2, $3, $4)",
                    [owner.userID, "user\(index)", "User \(index)", address])
                owners.append(owner)
            }
            await db.close()
            let environment = PipelineTestEnvironment(
                conninfo: conninfo, simulator: simulator, source: source, owners: owners,
                sourceProtocol: sourceProtocol, proxy: proxy, graphProxy: graphProxy)
            do {
                try await body(environment)
            } catch {
                client.shutdown()
                try await proxy?.shutdown()
                try await graphProxy?.shutdown()
                try await simulator.shutdown()
                throw error
            }
            client.shutdown()
            try await proxy?.shutdown()
            try await graphProxy?.shutdown()
            try await simulator.shutdown()
        }
    }

    /// A mailbox source reaching Exchange at `endpoint` (the simulator, or a proxy in front of it); the caller shuts
    /// the HTTP client down.
    static func makeSource(endpoint: String, maxResponseBytes: Int = 64 << 20) throws -> (EWSMailboxSource, HTTPClient)
    {
        var http = HTTPClient.Configuration()
        http.authentication = .basic(
            username: SimulatorConfiguration.defaultAccount.user,
            password: SimulatorConfiguration.defaultAccount.password)
        http.proxy = .direct
        let client = try HTTPClient(configuration: http, logger: makeLogger())
        var ews = EWSClient.Configuration(endpoint: endpoint)
        ews.maxResponseBytes = maxResponseBytes
        ews.retry = RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(20), maxDelay: .milliseconds(500))
        return (
            EWSMailboxSource(client: EWSClient(configuration: ews, transport: client, logger: makeLogger())), client
        )
    }

    /// A Graph mailbox source reaching the simulator's Graph front-end (at `endpoint`, a proxy in front of it, when
    /// given) with its default app; the caller shuts the HTTP client down.
    static func makeGraphSource(
        simulator: Simulator, endpoint: String? = nil, maxResponseBytes: Int = 64 << 20
    ) throws -> (GraphMailboxSource, HTTPClient) {
        var http = HTTPClient.Configuration()
        http.proxy = .direct
        http.maxResponseBytes = maxResponseBytes
        let client = try HTTPClient(configuration: http, logger: makeLogger())
        let authority = simulator.graphAuthority
        var graph = GraphClient.Configuration(
            baseURL: endpoint ?? simulator.graphEndpoint,
            credentials: GraphCredentials(
                tenant: "contoso.example", clientID: GraphApp.demo.clientId, clientSecret: GraphApp.demo.secret,
                authority: authority))
        graph.retry = RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(20), maxDelay: .milliseconds(500))
        return (
            GraphMailboxSource(client: GraphClient(configuration: graph, transport: client, logger: makeLogger())),
            client
        )
    }

    /// The settings that point the `snapsync` binary at the simulator (or at `endpoint`, a proxy in front of it: an EWS
    /// URL or a Graph root) through the environment's protocol (Graph's client secret in a file beside the test's
    /// temporary files).
    func exchangeSettings(endpoint: String? = nil) throws -> [String: String] {
        switch sourceProtocol {
        case .ews:
            return [
                "SNAPSYNC_EWS_URL": endpoint ?? simulator.endpoint,
                "SNAPSYNC_EWS_USER": SimulatorConfiguration.defaultAccount.user,
                "SNAPSYNC_EWS_PASSWORD": SimulatorConfiguration.defaultAccount.password,
            ]
        case .graph:
            let secret = FileManager.default.temporaryDirectory.appendingPathComponent(
                "snapsync-graph-secret-\(simulator.port)")
            try Data(GraphApp.demo.secret.utf8).write(to: secret)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
            return [
                "SNAPSYNC_EXCHANGE_PROTOCOL": "graph", "SNAPSYNC_GRAPH_URL": endpoint ?? simulator.graphEndpoint,
                "SNAPSYNC_GRAPH_AUTHORITY": simulator.graphAuthority,
                "SNAPSYNC_GRAPH_TENANT": "contoso.example", "SNAPSYNC_GRAPH_CLIENT_ID": GraphApp.demo.clientId,
                "SNAPSYNC_GRAPH_CLIENT_SECRET_FILE": secret.path,
            ]
        }
    }

    func runner(source: (any MailboxSource)? = nil) -> SnapshotRunner {
        SnapshotRunner(conninfo: conninfo, source: source ?? self.source, logger: logger)
    }

    func options(
        _ direction: SnapshotDirection, kinds: [ItemKind]? = nil, mailboxes: [String]? = nil,
        range: SnapshotDateRange? = nil
    ) -> SnapshotOptions {
        var options = SnapshotOptions(
            request: RunRequest(
                direction: direction, kinds: kinds ?? direction.supportedKinds,
                mailboxes: mailboxes, dateRange: range, requestedBy: "test"))
        options.workers = 3
        return options
    }

    /// Every difference between the CRM and the mailboxes.
    func differences(kinds: [ItemKind] = ItemKind.allCases) async throws -> [VerifyDifference] {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        var all: [VerifyDifference] = []
        for owner in owners {
            all += try await Verifier(source: source, logger: logger).verify(
                owner, kinds: kinds, store: SyncConnection(db, logger: logger))
        }
        await db.close()
        return all
    }

    func count(_ sql: String, _ binds: [any PostgresEncodable] = []) async throws -> Int {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        let value = try await db.query(sql, binds)[0].decode(Int.self, at: 0)
        await db.close()
        return value
    }
}

import EWS
import ExchangeSimulator
import Foundation
import Graph
import HTTP
import Logging
import SyncCore
import Testing

/// The protocols a ``MailboxSource`` speaks to Exchange; the contract suite runs once per case.
enum SourceProtocol: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case ews
    case graph

    var testDescription: String { rawValue }
}

/// A simulator over loopback HTTP with one mailbox, and a source of the given protocol reaching it.
struct MailboxSourceHarness {
    static let address = "contract@example.com"

    let simulator: Simulator
    let source: any MailboxSource
    let owner: MailboxOwner

    static var logger: Logger {
        var logger = Logger(label: "mailbox-source-contract")
        logger.logLevel = .notice
        return logger
    }

    static func with(_ sourceProtocol: SourceProtocol, _ body: (MailboxSourceHarness) async throws -> Void) async throws
    {
        var configuration = SimulatorConfiguration()
        configuration.mailboxes = [address]
        let simulator = try await Simulator.start(configuration)
        let http: HTTPClient
        let source: any MailboxSource
        do {
            (source, http) = try makeSource(sourceProtocol, simulator: simulator)
        } catch {
            try await simulator.shutdown()
            throw error
        }
        let harness = MailboxSourceHarness(
            simulator: simulator, source: source,
            owner: MailboxOwner(smtpAddress: address, userID: UUID()))
        do {
            try await body(harness)
        } catch {
            http.shutdown()
            try await simulator.shutdown()
            throw error
        }
        http.shutdown()
        try await simulator.shutdown()
    }

    static func makeSource(
        _ sourceProtocol: SourceProtocol, simulator: Simulator
    ) throws -> (any MailboxSource, HTTPClient) {
        var http = HTTPClient.Configuration()
        http.proxy = .direct
        switch sourceProtocol {
        case .ews:
            http.authentication = .basic(
                username: SimulatorConfiguration.defaultAccount.user,
                password: SimulatorConfiguration.defaultAccount.password)
            let client = try HTTPClient(configuration: http, logger: logger)
            var ews = EWSClient.Configuration(endpoint: simulator.endpoint)
            ews.retry = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(20), maxDelay: .milliseconds(500))
            return (EWSMailboxSource(client: EWSClient(configuration: ews, transport: client, logger: logger)), client)
        case .graph:
            let client = try HTTPClient(configuration: http, logger: logger)
            let authority = simulator.graphAuthority
            var graph = GraphClient.Configuration(
                baseURL: simulator.graphEndpoint,
                credentials: GraphCredentials(
                    tenant: "contoso.example", clientID: GraphApp.demo.clientId,
                    clientSecret: GraphApp.demo.secret, authority: authority))
            graph.retry = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(20), maxDelay: .milliseconds(500))
            return (
                GraphMailboxSource(client: GraphClient(configuration: graph, transport: client, logger: logger)), client
            )
        }
    }
}

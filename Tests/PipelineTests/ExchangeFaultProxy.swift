import ExchangeSimulator
import HTTP
import SyncCore

/// The fault proxy of an environment's protocol (``EWSFaultProxy`` or ``GraphFaultProxy``) in front of its simulator,
/// so one test body breaks a request the same way through either protocol. Operations are named as EWS names them.
enum ExchangeFaultProxy: Sendable {
    case ews(EWSFaultProxy)
    case graph(GraphFaultProxy)

    static func start(for env: PipelineTestEnvironment) async throws -> Self {
        switch env.sourceProtocol {
        case .ews: .ews(try await EWSFaultProxy.start(forwardingTo: env.simulator))
        case .graph: .graph(try await GraphFaultProxy.start(forwardingTo: env.simulator))
        }
    }

    /// The endpoint to give snapsync: an EWS URL or a Graph root.
    var endpoint: String {
        switch self {
        case .ews(let proxy): proxy.endpoint
        case .graph(let proxy): proxy.endpoint
        }
    }

    /// A mailbox source reaching Exchange through the proxy; the caller shuts the HTTP client down.
    func makeSource(_ env: PipelineTestEnvironment) throws -> (any MailboxSource, HTTPClient) {
        switch self {
        case .ews(let proxy): try PipelineTestEnvironment.makeSource(endpoint: proxy.endpoint)
        case .graph(let proxy):
            try PipelineTestEnvironment.makeGraphSource(simulator: env.simulator, endpoint: proxy.endpoint)
        }
    }

    /// The faults to inject and the fates requests met (operations named as EWS names them).
    var ledger: FaultLedger {
        switch self {
        case .ews(let proxy): proxy.ledger
        case .graph(let proxy): proxy.ledger
        }
    }

    func shutdown() async throws {
        switch self {
        case .ews(let proxy): try await proxy.shutdown()
        case .graph(let proxy): try await proxy.shutdown()
        }
    }
}

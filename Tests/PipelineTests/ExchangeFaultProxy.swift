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

    /// The next `count` requests (all when nil) of `operation` on `mailbox` (any when nil) meet `fate`.
    func inject(_ fate: EWSFaultProxy.Fate, operation: String, mailbox: String? = nil, count: Int? = nil) {
        switch self {
        case .ews(let proxy): proxy.inject(fate, operation: operation, mailbox: mailbox, count: count)
        case .graph(let proxy): proxy.inject(fate, operation: operation, mailbox: mailbox, count: count)
        }
    }

    /// Every request is forwarded and answered from now on.
    func clearFaults() {
        switch self {
        case .ews(let proxy): proxy.clearFaults()
        case .graph(let proxy): proxy.clearFaults()
        }
    }

    /// How many requests of `operation` (on `mailbox`, any when nil) met `fate` so far.
    func count(_ operation: String, mailbox: String? = nil, _ fate: EWSFaultProxy.Fate) -> Int {
        switch self {
        case .ews(let proxy): proxy.count(operation, mailbox: mailbox, fate)
        case .graph(let proxy): proxy.count(operation, mailbox: mailbox, fate)
        }
    }

    func shutdown() async throws {
        switch self {
        case .ews(let proxy): try await proxy.shutdown()
        case .graph(let proxy): try await proxy.shutdown()
        }
    }
}

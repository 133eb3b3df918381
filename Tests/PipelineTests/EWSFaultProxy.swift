import ExchangeSimulator
import Foundation
import HTTP
import Logging
import TestSupport

/// An EWS endpoint in front of the simulator that decides, per request, what becomes of it: forwarded and
/// answered; forwarded (so Exchange applies it) with the answer replaced by bytes that are no EWS answer;
/// forwarded with the answer lost (connection closed); answered HTTP 503 without being forwarded; or forwarded
/// and then never answered (the client waits until it is killed). Faults the simulator's own controls cannot
/// combine: a lost create whose stamp look-up then gets 503, an undecodable CreateItem answer.
final class EWSFaultProxy: @unchecked Sendable {
    enum Fate: Sendable, Hashable {
        case forward, corruptAnswer, loseAnswer, unavailable, holdAnswer
    }

    /// A fate for requests of an EWS operation (`CreateItem`, `FindItem`, ...) on a mailbox (any when nil), for
    /// the next `remaining` of them (all when nil).
    private struct Fault {
        var operation: String
        var mailbox: String?
        var fate: Fate
        var remaining: Int?
    }

    private let lock = NSLock()
    private var faults: [Fault] = []
    private var fates: [(operation: String, mailbox: String, fate: Fate)] = []
    private let server: LoopbackHTTPServer
    private let client: HTTPClient

    /// The EWS URL to give snapsync.
    let endpoint: String

    private init(server: LoopbackHTTPServer, client: HTTPClient) {
        self.server = server
        self.client = client
        endpoint = server.baseURL + "/EWS/Exchange.asmx"
    }

    static func start(forwardingTo simulator: Simulator) async throws -> EWSFaultProxy {
        var configuration = HTTPClient.Configuration()
        configuration.proxy = .direct
        let client = try HTTPClient(configuration: configuration, logger: Logger(label: "ews-fault-proxy"))
        let target = simulator.endpoint
        let box = ProxyBox()
        let server = try await LoopbackHTTPServer(asyncHandler: { request in
            await box.proxy?.answer(request, target: target)
        })
        let proxy = EWSFaultProxy(server: server, client: client)
        box.proxy = proxy
        return proxy
    }

    /// The next `count` requests (all when nil) of `operation` on `mailbox` (any when nil) meet `fate`.
    func inject(_ fate: Fate, operation: String, mailbox: String? = nil, count: Int? = nil) {
        lock.withLock { faults.append(Fault(operation: operation, mailbox: mailbox, fate: fate, remaining: count)) }
    }

    /// Every request is forwarded and answered from now on.
    func clearFaults() { lock.withLock { faults = [] } }

    /// How many requests of `operation` (on `mailbox`, any when nil) met `fate` so far.
    func count(_ operation: String, mailbox: String? = nil, _ fate: Fate) -> Int {
        lock.withLock {
            fates.filter { $0.operation == operation && (mailbox == nil || $0.mailbox == mailbox) && $0.fate == fate }
                .count
        }
    }

    func shutdown() async throws {
        try await server.shutdown()
        client.shutdown()
    }

    private func answer(_ request: LoopbackHTTPServer.Request, target: String) async -> LoopbackHTTPServer.Response? {
        let action = request.header("SOAPAction") ?? ""
        let operation = String(
            action.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: "/").last ?? "")
        let mailbox = (request.header("X-AnchorMailbox") ?? "").lowercased()
        let fate = lock.withLock {
            var fate = Fate.forward
            if let index = faults.firstIndex(where: {
                $0.operation == operation && ($0.mailbox == nil || $0.mailbox == mailbox)
            }) {
                fate = faults[index].fate
                if let remaining = faults[index].remaining {
                    if remaining <= 1 { faults.remove(at: index) } else { faults[index].remaining = remaining - 1 }
                }
            }
            fates.append((operation, mailbox, fate))
            return fate
        }
        if fate == .unavailable { return LoopbackHTTPServer.Response(status: 503, text: "Service Unavailable") }
        let headers = HTTPHeaders(
            request.headers.filter { !["host", "content-length", "connection"].contains($0.name.lowercased()) })
        let forwarded: HTTPResponse
        do {
            forwarded = try await client.execute(
                HTTPRequest(
                    method: .post, url: target, headers: headers, body: request.body,
                    isIdempotent: false))
        } catch {
            return nil
        }
        switch fate {
        case .forward, .unavailable:
            let hopByHop: Set<String> = ["content-length", "transfer-encoding", "connection", "keep-alive"]
            return LoopbackHTTPServer.Response(
                status: forwarded.status,
                headers: forwarded.headers.filter { !hopByHop.contains($0.name.lowercased()) }.map {
                    ($0.name, $0.value)
                },
                body: forwarded.body)
        case .corruptAnswer:
            // The answer's first half: Exchange applied the request, the client cannot read what it says.
            return LoopbackHTTPServer.Response(
                status: 200, headers: [("Content-Type", "text/xml; charset=utf-8")],
                body: Array(forwarded.body.prefix(forwarded.body.count / 2)))
        case .loseAnswer:
            return nil
        case .holdAnswer:
            try? await Task.sleep(for: .seconds(120))
            return nil
        }
    }
}

/// Lets the server's handler reach the proxy, which is made after the server.
private final class ProxyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: EWSFaultProxy?
    var proxy: EWSFaultProxy? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

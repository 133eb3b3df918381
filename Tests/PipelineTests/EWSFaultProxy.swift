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
    /// The faults to inject and the fates requests met.
    let ledger = FaultLedger()
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
        let box = ProxyBox<EWSFaultProxy>()
        let server = try await LoopbackHTTPServer(asyncHandler: { request in
            await box.proxy?.answer(request, target: target)
        })
        let proxy = EWSFaultProxy(server: server, client: client)
        box.proxy = proxy
        return proxy
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
        let fate = ledger.fate(of: [(operation, mailbox)])
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

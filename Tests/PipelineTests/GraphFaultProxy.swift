import Synchronization
import ExchangeSimulator
import Foundation
import HTTP
import Logging
import Testing
import TestSupport

/// A Graph endpoint in front of the simulator's Graph front-end, the counterpart of ``EWSFaultProxy`` and
/// ``CorruptingEWSProxy``. It decides, per request, what becomes of it (``FaultLedger/Fate``: forwarded and answered,
/// answered with half its bytes, its answer lost, answered 503 without being forwarded, or never answered), and it
/// damages one chosen item in every answer that carries it (the item's own GET or its part of a `$batch` answer), in
/// one of the ways a broken mailbox store or a middlebox does. The simulator itself stays a faithful model of Graph.
///
/// Faults are given for the EWS operation a Graph request stands for, so a test reads the same for both protocols:
/// `CreateItem` is a POST to a collection, `FindItem` a GET of a collection (a page or a stamp look-up), `GetItem` a
/// GET of an item, `UpdateItem` a PATCH, `DeleteItem` a DELETE; a `$batch` meets the fate of the requests in it.
final class GraphFaultProxy: @unchecked Sendable {
    /// How the chosen item is damaged.
    enum Corruption: String, Sendable, CaseIterable, CustomTestStringConvertible {
        /// The item's JSON is cut off (so is the `$batch` answer that carries it).
        case malformedJSON
        /// The item's subject (a task's title) is a number.
        case wrongType
        /// The item's body is padded until the answer is over the client's limits (``oversizeBytes``).
        case oversized
        /// Graph answers the item's GET with an error code no client knows.
        case unknownErrorCode
        /// The event's `start` is left out.
        case withoutStart
        /// The event's `start` says something that is not a dateTime.
        case unreadableStart
        /// The task's `status` is left out.
        case withoutStatus
        /// The task's `status` is one no To Do list has.
        case unknownStatus

        var testDescription: String { rawValue }
    }

    /// What ``Corruption/oversized`` adds to the item.
    static let oversizeBytes = 5 << 20

    /// The faults to inject and the fates requests met.
    let ledger = FaultLedger()
    private let lock = Mutex(())
    private var target: (itemID: String, corruption: Corruption)?
    private var damaged = 0
    private let server: LoopbackHTTPServer
    private let client: HTTPClient

    /// The Graph root to give snapsync (in place of the simulator's ``Simulator/graphEndpoint``).
    let endpoint: String

    private init(server: LoopbackHTTPServer, client: HTTPClient) {
        self.server = server
        self.client = client
        endpoint = server.baseURL + "/v1.0"
    }

    static func start(forwardingTo simulator: Simulator) async throws -> GraphFaultProxy {
        var configuration = HTTPClient.Configuration()
        configuration.proxy = .direct
        configuration.keepsCookies = false
        configuration.maxResponseBytes = 256 << 20
        let client = try HTTPClient(configuration: configuration, logger: Logger(label: "graph-fault-proxy"))
        let upstream = simulator.graphAuthority
        let box = ProxyBox<GraphFaultProxy>()
        let server = try await LoopbackHTTPServer(asyncHandler: { request in
            await box.proxy?.answer(request, upstream: upstream)
        })
        let proxy = GraphFaultProxy(server: server, client: client)
        box.proxy = proxy
        return proxy
    }

    /// From now on, damages the answers that carry `itemID` (nil: forwards everything as it is).
    func corrupt(_ itemID: String?, _ corruption: Corruption) {
        lock.withLock { _ in target = itemID.map { ($0, corruption) } }
    }

    /// How many answers were damaged so far.
    var damagedAnswers: Int { lock.withLock { _ in damaged } }

    func shutdown() async throws {
        try await server.shutdown()
        client.shutdown()
    }

    // MARK: requests

    /// The EWS operation and the mailbox of one Graph request (`url` below the version root).
    static func operation(method: String, url: String) -> (operation: String, mailbox: String) {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        let mailbox =
            segments.firstIndex(of: "users").flatMap { segments.indices.contains($0 + 1) ? $0 + 1 : nil }
            .map { segments[$0].lowercased() } ?? ""
        let collections: Set<String> = ["contacts", "events", "tasks"]
        let isCollection = segments.last.map { collections.contains($0) } ?? false
        let operation =
            switch method.uppercased() {
            case "POST": isCollection ? "CreateItem" : "POST"
            case "PATCH": "UpdateItem"
            case "DELETE": "DeleteItem"
            case "GET":
                isCollection
                    ? "FindItem"
                    : (segments.count >= 2 && collections.contains(segments[segments.count - 2])
                        ? "GetItem" : "GET")
            default: method
            }
        return (operation, mailbox)
    }

    /// The operations a request stands for: those of the requests in a `$batch`, or its own.
    static func operations(_ request: LoopbackHTTPServer.Request) -> [(operation: String, mailbox: String)] {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path.hasSuffix("/$batch") else {
            return [operation(method: request.method, url: String(request.uri.dropFirst("/v1.0".count)))]
        }
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any]
        let inner = body?["requests"] as? [[String: Any]] ?? []
        return inner.map { operation(method: $0["method"] as? String ?? "", url: $0["url"] as? String ?? "") }
    }

    private func answer(_ request: LoopbackHTTPServer.Request, upstream: String) async -> LoopbackHTTPServer.Response? {
        let fate = ledger.fate(of: Self.operations(request))
        if fate == .unavailable {
            return LoopbackHTTPServer.Response(
                status: 503, headers: [("Content-Type", "application/json")],
                body: Array(#"{"error":{"code":"ServiceUnavailable","message":"Service Unavailable"}}"#.utf8))
        }
        // The Host header goes along: the simulator writes its next and delta links for the host it was asked by.
        let headers = HTTPHeaders(
            request.headers.filter { !["content-length", "connection"].contains($0.name.lowercased()) })
        let forwarded: HTTPResponse
        do {
            forwarded = try await client.execute(
                HTTPRequest(
                    method: HTTPMethod(rawValue: request.method) ?? .get, url: upstream + request.uri, headers: headers,
                    body: request.body, isIdempotent: false))
        } catch {
            return nil
        }
        switch fate {
        case .forward, .unavailable:
            var answer = LoopbackHTTPServer.Response(
                status: forwarded.status,
                headers: forwarded.headers.filter { $0.name.lowercased() == "content-type" }.map {
                    ($0.name, $0.value)
                },
                body: forwarded.body)
            // Item reads and listings are damaged; delta pages, which have no item-by-item reading, are not.
            if let (itemID, corruption) = lock.withLock({ _ in target }), !request.uri.contains("/delta"),
                let (status, body) = Self.damage(answer.body, itemID: itemID, corruption)
            {
                lock.withLock { _ in damaged += 1 }
                answer.status = status ?? answer.status
                answer.body = body
            }
            return answer
        case .corruptAnswer:
            // The answer's first half: Graph applied the request, the client cannot read what it says.
            return LoopbackHTTPServer.Response(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Array(forwarded.body.prefix(forwarded.body.count / 2)))
        case .loseAnswer:
            return nil
        case .holdAnswer:
            try? await Task.sleep(for: .seconds(120))
            return nil
        }
    }

    // MARK: damaging an item

    /// Stands for the item's JSON until the answer is written, then for its cut-off text.
    static let cutOff = "snapsync-test-cut-off-item"

    /// The answer (a listing of whole items, a `$batch` answer, or an item's own) with the item damaged, and the status
    /// to answer with when it changes; nil when the item is not in it.
    static func damage(_ body: [UInt8], itemID: String, _ corruption: Corruption) -> (status: Int?, body: [UInt8])? {
        guard var answer = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        let error: [String: Any] = [
            "error": ["code": "ErrorStoreCorruptedItem", "message": "The item cannot be read."]
        ]
        var status: Int?
        var damagedAnswer: Any = answer
        if let values = answer["value"] as? [[String: Any]] {
            // A listing of whole items (not one of refs only: those carry nothing to damage).
            guard let index = values.firstIndex(where: { $0["id"] as? String == itemID }),
                !Set(values[index].keys).isSubset(of: ["id", "changeKey", "@odata.etag"])
            else { return nil }
            if corruption == .unknownErrorCode {
                status = 400
                damagedAnswer = error
            } else {
                guard let damaged = damage(values[index], corruption) else { return nil }
                var list: [Any] = values
                list[index] = damaged
                answer["value"] = list
                damagedAnswer = answer
            }
        } else if var responses = answer["responses"] as? [[String: Any]] {
            guard
                let index = responses.firstIndex(where: {
                    ($0["body"] as? [String: Any])?["id"] as? String == itemID
                }),
                let item = responses[index]["body"] as? [String: Any]
            else { return nil }
            if corruption == .unknownErrorCode {
                responses[index]["status"] = 400
                responses[index]["body"] = error
            } else {
                guard let damaged = damage(item, corruption) else { return nil }
                responses[index]["body"] = damaged
            }
            answer["responses"] = responses
            damagedAnswer = answer
        } else {
            guard answer["id"] as? String == itemID else { return nil }
            if corruption == .unknownErrorCode {
                status = 400
                damagedAnswer = error
            } else {
                guard let damaged = damage(answer, corruption) else { return nil }
                damagedAnswer = damaged
            }
        }
        guard
            var bytes =
                (try? JSONSerialization.data(
                    withJSONObject: damagedAnswer, options: [.withoutEscapingSlashes, .fragmentsAllowed]))
                .map(Array.init)
        else { return nil }
        if corruption == .malformedJSON,
            let placeholder = CorruptingEWSProxy.range(of: Array("\"\(cutOff)\"".utf8), in: bytes)
        {
            bytes.replaceSubrange(placeholder, with: Array(#"{"id":"\#(itemID)","subject":"Quarterly rev"#.utf8))
        }
        return (status, bytes)
    }

    /// The item damaged; nil when it lacks what the corruption changes.
    static func damage(_ item: [String: Any], _ corruption: Corruption) -> Any? {
        var item = item
        switch corruption {
        case .malformedJSON: return cutOff
        case .wrongType: item[item["title"] != nil ? "title" : "subject"] = 42
        case .oversized:
            item["body"] = ["contentType": "text", "content": String(repeating: "x", count: oversizeBytes)]
        case .unknownErrorCode: return nil
        case .withoutStart:
            guard item.removeValue(forKey: "start") != nil else { return nil }
        case .unreadableStart:
            guard item["start"] != nil else { return nil }
            item["start"] = ["dateTime": "next Tuesday", "timeZone": "UTC"]
        case .withoutStatus:
            guard item.removeValue(forKey: "status") != nil else { return nil }
        case .unknownStatus:
            guard item["status"] != nil else { return nil }
            item["status"] = "postponed"
        }
        return item
    }
}

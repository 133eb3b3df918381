import Synchronization
import Foundation
import HTTP
import Logging
import Testing
@testable import Graph

/// A `$batch` whose answer cannot be read (one item's JSON broken, or the answer over the size limit) fails only the
/// bad request: its reads are sent again one by one; a batch that may create is never sent twice.
@Suite struct GraphUnreadableBatchTests {
    /// Answers the token request; a `$batch` with a cut-off answer; a single GET with its item, `bad` cut off too.
    final class BrokenBatchGraph: GraphTransport, @unchecked Sendable {
        let lock = Mutex(())
        var batches = 0
        var singles: [String] = []

        func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
            lock.withLock { _ in answer(request) }
        }

        func answer(_ request: HTTPRequest) -> HTTPResponse {
            if request.url.hasSuffix("/oauth2/v2.0/token") {
                return HTTPResponse(
                    status: 200,
                    body: Array(#"{"token_type":"Bearer","expires_in":3599,"access_token":"token"}"#.utf8))
            }
            if request.url.hasSuffix("/$batch") {
                batches += 1
                return HTTPResponse(
                    status: 200, body: Array(#"{"responses":[{"id":"0","status":200,"body":{"id":"#.utf8))
            }
            let id = String(request.url.split(separator: "/").last ?? "")
            singles.append(id)
            if id == "bad" { return HTTPResponse(status: 200, body: Array(#"{"id":"bad","subject":"Quar"#.utf8)) }
            return HTTPResponse(status: 200, body: Array(#"{"id":"\#(id)","subject":"fine"}"#.utf8))
        }
    }

    static func client(_ graph: BrokenBatchGraph) -> GraphClient {
        let configuration = GraphClient.Configuration(
            baseURL: "https://graph.example/v1.0",
            credentials: GraphCredentials(
                tenant: "t", clientID: "c", clientSecret: "secret", authority: "https://login.example"))
        return GraphClient(
            configuration: configuration, transport: graph, logger: Logger(label: "graph-test"), sleep: { _ in })
    }

    @Test func anUnreadableBatchOfReadsIsSentAgainOneByOneAndOnlyTheBadItemFails() async throws {
        let graph = BrokenBatchGraph()
        let ids = ["a", "bad", "c"]
        let requests = ids.map {
            GraphRequest(.get, "/users/anna%40example.com/events/\($0)", operation: "GET appointments", itemID: $0)
        }
        let results = try await Self.client(graph).batch(requests, mailbox: "anna@example.com")
        #expect(graph.batches == 1)
        #expect(graph.singles == ids)
        #expect(results.count == 3)
        #expect((try? results[0].get())?.body?["id"]?.string == "a")
        #expect((try? results[2].get())?.body?["id"]?.string == "c")
        guard case .failure(let error) = results[1] else {
            Issue.record("the bad item was read")
            return
        }
        #expect(error.code == .decoding("malformed JSON"))
        #expect(error.itemID == "bad" && error.mailbox == "anna@example.com")
    }

    @Test func anUnreadableBatchOfCreatesFailsWholeAndIsNotSentAgain() async throws {
        let graph = BrokenBatchGraph()
        let requests = (0..<3).map { _ in
            GraphRequest(.post, "/users/anna%40example.com/events", body: ["subject": "new"], operation: "POST events")
        }
        await #expect(throws: GraphError.self) {
            _ = try await Self.client(graph).batch(requests, mailbox: "anna@example.com")
        }
        #expect(graph.batches == 1)
        #expect(graph.singles.isEmpty)
    }
}

import Foundation
import HTTP
import Logging
import Synchronization
import Testing
@testable import Graph

/// Exchange Online allows an app a budget of requests per mailbox per ten minutes; the client paces itself to it
/// (each request of a `$batch` counting) instead of running into 429s.
@Suite struct GraphRequestBudgetTests {
    @Test func requestsBeyondTheBudgetWaitUntilEarlierOnesLeaveTheWindow() async {
        let limiter = GraphConcurrencyLimiter(budget: GraphRequestBudget(requests: 3, window: .seconds(10)))
        let t0 = ContinuousClock.now
        for _ in 0..<3 { #expect(await limiter.reserve(1, for: "anna@example.com", now: t0) == .zero) }
        #expect(await limiter.reserve(1, for: "ANNA@example.com", now: t0) == .seconds(10), "addresses ignore case")
        #expect(await limiter.reserve(1, for: "ben@example.com", now: t0) == .zero, "each mailbox has its own budget")
        // A batch of two, one second later: the window from t0 + 10 s has room for both after the one booked there.
        #expect(await limiter.reserve(2, for: "anna@example.com", now: t0 + .seconds(1)) == .seconds(9))
        #expect(await limiter.reserve(1, for: "anna@example.com", now: t0 + .seconds(1)) == .seconds(19))
        // Once the window has passed, nothing waits.
        #expect(await limiter.reserve(3, for: "anna@example.com", now: t0 + .seconds(40)) == .zero)
        #expect(await GraphConcurrencyLimiter(budget: nil).reserve(50_000, for: "anna@example.com") == .zero)
    }

    /// A run over many mailboxes keeps the budget of those with requests in the last window only.
    @Test func mailboxesWhoseRequestsLeftTheWindowAreForgotten() async {
        let limiter = GraphConcurrencyLimiter(budget: GraphRequestBudget(requests: 10_000, window: .seconds(600)))
        let t0 = ContinuousClock.now
        for index in 0..<500 {
            for _ in 0..<100 { _ = await limiter.reserve(20, for: "user\(index)@example.com", now: t0) }
        }
        #expect(await limiter.budgetedMailboxes == 500)
        #expect(await limiter.reserve(1, for: "user0@example.com", now: t0) == .zero, "2,001 of 10,000 spent")
        _ = await limiter.reserve(1, for: "late@example.com", now: t0 + .seconds(601))
        #expect(await limiter.budgetedMailboxes == 1)
    }

    final class CountingGraph: GraphTransport {
        let requests = Mutex(0)

        func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
            if request.url.hasSuffix("/oauth2/v2.0/token") {
                return HTTPResponse(
                    status: 200, body: Array(#"{"expires_in":3599,"access_token":"token"}"#.utf8))
            }
            requests.withLock { $0 += 1 }
            if request.url.hasSuffix("/$batch") {
                let body = String(decoding: request.body, as: UTF8.self)
                let ids = body.components(separatedBy: #""id":""#).dropFirst().map { $0.prefix { $0 != "\"" } }
                let answers = ids.map { #"{"id":"\#($0)","status":204}"# }.joined(separator: ",")
                return HTTPResponse(status: 200, body: Array(#"{"responses":[\#(answers)]}"#.utf8))
            }
            return HTTPResponse(status: 200, body: Array(#"{"value":[]}"#.utf8))
        }
    }

    @Test func theClientWaitsForTheBudgetAndABatchSpendsOneRequestPerItem() async throws {
        let graph = CountingGraph()
        let waits = Mutex<[Duration]>([])
        var configuration = GraphClient.Configuration(
            baseURL: "https://graph.example/v1.0",
            credentials: GraphCredentials(tenant: "t", clientID: "c", clientSecret: "s"))
        configuration.requestBudget = GraphRequestBudget(requests: 4, window: .seconds(600))
        let client = GraphClient(
            configuration: configuration, transport: graph, logger: Logger(label: "graph-budget"),
            sleep: { duration in waits.withLock { $0.append(duration) } })
        for _ in 0..<3 {
            _ = try await client.send(
                GraphRequest(.get, "/users/anna/contacts", operation: "GET contacts"), mailbox: "anna")
        }
        #expect(waits.withLock { $0 }.isEmpty, "within the budget nothing waits")
        let deletes = (0..<3).map { GraphRequest(.delete, "/users/anna/contacts/\($0)", operation: "DELETE contact") }
        let results = try await client.batch(deletes, mailbox: "anna")
        #expect(results.allSatisfy { (try? $0.get())?.status == 204 })
        let waited = waits.withLock { $0 }
        #expect(waited.count == 1 && waited[0] > .seconds(599) && waited[0] <= .seconds(600), "\(waited)")
        #expect(graph.requests.withLock { $0 } == 4, "three GETs and one $batch reached Graph")
    }
}

import Foundation
import HTTP
import Logging
import SyncCore
import Synchronization
import Testing
@testable import Graph

/// The app's token: fetched once, shared, replaced once when Graph refuses it; a refusal that persists, and a mailbox
/// outside the app's scope, are configuration errors naming the mailbox.
@Suite struct GraphAuthTests {
    final class TokenGraph: GraphTransport, @unchecked Sendable {
        let lock = Mutex(())
        var issued = 0
        var refusedTokens: Set<String> = []
        var lifetime = 3599
        var graphStatus = 200

        func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
            lock.withLock { _ in answer(request) }
        }

        func answer(_ request: HTTPRequest) -> HTTPResponse {
            if request.url.hasSuffix("/oauth2/v2.0/token") {
                issued += 1
                #expect(String(decoding: request.body, as: UTF8.self).contains("client_secret=s%2Fecret"))
                return HTTPResponse(
                    status: 200,
                    body: Array(
                        #"{"token_type":"Bearer","expires_in":\#(lifetime),"access_token":"token-\#(issued)"}"#.utf8))
            }
            let token = String(request.headers["Authorization"]?.dropFirst("Bearer ".count) ?? "")
            #expect(request.headers["Prefer"]?.contains("IdType=\"ImmutableId\"") == true)
            if refusedTokens.contains(token) {
                return HTTPResponse(
                    status: 401,
                    body: Array(
                        #"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}"#.utf8))
            }
            if graphStatus == 403 {
                return HTTPResponse(
                    status: 403,
                    body: Array(
                        #"{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled."}}"#.utf8))
            }
            return HTTPResponse(status: 200, body: Array(#"{"value":[{"id":"a","changeKey":"k"}]}"#.utf8))
        }
    }

    static func source(_ graph: TokenGraph) -> GraphMailboxSource {
        let configuration = GraphClient.Configuration(
            baseURL: "https://graph.example/v1.0",
            credentials: GraphCredentials(
                tenant: "t", clientID: "c", clientSecret: "s/ecret", authority: "https://login.example"))
        return GraphMailboxSource(
            client: GraphClient(
                configuration: configuration, transport: graph, logger: Logger(label: "graph-test"),
                sleep: { _ in }))
    }

    static let owner = MailboxOwner(smtpAddress: "anna@example.com", userID: UUID())

    @Test func oneTokenServesEveryRequestAndARefusedOneIsReplacedOnce() async throws {
        let graph = TokenGraph()
        let source = Self.source(graph)
        async let first = source.itemRefs(in: Self.owner, kind: .contacts, after: nil, pageSize: 10)
        async let second = source.itemRefs(in: Self.owner, kind: .appointments, after: nil, pageSize: 10)
        _ = try await (first, second)
        #expect(graph.issued == 1, "concurrent requests share one token request")
        graph.lock.withLock { _ in graph.refusedTokens = ["token-1"] }
        #expect(
            try await source.itemRefs(in: Self.owner, kind: .contacts, after: nil, pageSize: 10).refs.map(\.id) == ["a"]
        )
        #expect(graph.issued == 2)

        // A token Graph keeps refusing: one replacement, then the mailbox's configuration error.
        graph.lock.withLock { _ in graph.refusedTokens = ["token-2", "token-3", "token-4"] }
        do {
            _ = try await source.itemRefs(in: Self.owner, kind: .contacts, after: nil, pageSize: 10)
            Issue.record("a refused token was accepted")
        } catch {
            #expect(error.kind == .unauthorized && error.message.contains("anna@example.com"))
            #expect(!error.message.contains("token-"), "no token in errors")
        }
        #expect(graph.issued == 3)
    }

    @Test func aShortLivedTokenIsRenewedBeforeItExpires() async throws {
        let graph = TokenGraph()
        graph.lifetime = 0
        let source = Self.source(graph)
        _ = try await source.itemRefs(in: Self.owner, kind: .contacts, after: nil, pageSize: 10)
        _ = try await source.itemRefs(in: Self.owner, kind: .contacts, after: nil, pageSize: 10)
        #expect(graph.issued == 2)
    }

    @Test func aMailboxOutsideTheAppsScopeIsAConfigurationErrorNotRetried() async throws {
        let graph = TokenGraph()
        graph.graphStatus = 403
        do {
            _ = try await Self.source(graph).changes(
                in: Self.owner, kind: .contacts, since: nil,
                window: .rolling(around: Date()), maxChanges: 10)
            Issue.record("a 403 was accepted")
        } catch {
            #expect(error.kind == .mailboxRefused && !error.isSourceWide, "the mailbox's work fails, not the run's")
            #expect(
                error.code == "ErrorAccessDenied" && error.message.contains("anna@example.com")
                    && error.message.contains("OData"))
        }
    }
}

import HTTP
import Logging
import TestSupport
import Testing

@Suite struct HTTPClientTLSTests {
    /// Runs `body` against an HTTPS loopback server whose certificate a fresh test CA signed.
    private func withTLSServer(_ body: (LoopbackHTTPServer, TestCertificateAuthority) async throws -> Void) async throws
    {
        let authority = try TestCertificateAuthority()
        defer { authority.remove() }
        let server = try await LoopbackHTTPServer(tls: (authority.certificateFile, authority.keyFile)) { _ in
            .init(text: "secure")
        }
        try await body(server, authority)
        try await server.shutdown()
    }

    /// A client that trusts the test CA.
    private func trustingClient(_ authority: TestCertificateAuthority) throws -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.caFile = authority.caFile
        return try HTTPClient(configuration: configuration, logger: CapturedLogs().logger())
    }

    @Test func unknownCertificateAuthorityIsRefused() async throws {
        try await withTLSServer { server, _ in
            let client = try HTTPClient(logger: CapturedLogs().logger())
            defer { client.shutdown() }
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            }
            #expect(error?.code == .tls)
            #expect(error?.curlCode == 60)  // CURLE_PEER_FAILED_VERIFICATION
            #expect(server.requests.isEmpty)
        }
    }

    @Test func caFileMakesTheServerTrusted() async throws {
        try await withTLSServer { server, authority in
            let client = try trustingClient(authority)
            defer { client.shutdown() }
            for host in ["127.0.0.1", "localhost"] {
                let url = "https://\(host):\(server.port)/"
                let response = try await client.execute(HTTPRequest(url: url))
                #expect(String(decoding: response.body, as: UTF8.self) == "secure")
            }
        }
    }

    @Test func createsGoOverOneTLSConnection() async throws {
        try await withTLSServer { server, authority in
            let client = try trustingClient(authority)
            defer { client.shutdown() }
            let bodies = [Array(repeating: UInt8(ascii: "b"), count: 200_000), Array("{}".utf8)]
            for body in bodies {
                let response = try await client.execute(
                    HTTPRequest(method: .post, url: server.baseURL + "/create", body: body, isIdempotent: false))
                #expect(response.status == 200)
            }
            #expect(server.requests.map(\.body) == bodies)
            #expect(server.connectionCount == 1)  // one handshake, not one per create
        }
    }

    @Test func missingCAFileIsATLSError() async throws {
        try await withTLSServer { server, authority in
            var configuration = HTTPClient.Configuration()
            configuration.caFile = authority.directory + "/absent.pem"
            let client = try HTTPClient(configuration: configuration, logger: CapturedLogs().logger())
            defer { client.shutdown() }
            let error = await #expect(throws: HTTPError.self) {
                try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            }
            #expect(error?.code == .tls)
        }
    }

    @Test func insecureSwitchSkipsVerificationAndLogsAWarning() async throws {
        try await withTLSServer { server, _ in
            let logs = CapturedLogs()
            var configuration = HTTPClient.Configuration()
            configuration.allowInsecureTLS = true
            let client = try HTTPClient(configuration: configuration, logger: logs.logger())
            defer { client.shutdown() }
            let response = try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            #expect(response.status == 200)
            #expect(logs.entries.filter { $0.level == .warning }.count == 1)
            #expect(logs.entries.first { $0.level == .warning }?.message.contains("allowInsecureTLS") == true)
        }
    }

    @Test func verifyingClientLogsNoWarning() async throws {
        let logs = CapturedLogs()
        let client = try HTTPClient(logger: logs.logger())
        client.shutdown()
        #expect(logs.entries.allSatisfy { $0.level < .warning })
    }
}

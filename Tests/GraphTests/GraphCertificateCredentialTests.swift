import ExchangeSimulator
import Foundation
import Graph
import HTTP
import Logging
import SyncCore
import Testing
import TestSupport

/// An app registered with a certificate instead of a secret: snapsync signs a client assertion with the certificate's
/// key, and the simulator's token endpoint checks it as Entra does.
@Suite struct GraphCertificateCredentialTests {
    static let address = "cert@example.com"
    static let app = "crm-sync-app"

    static func source(
        _ simulator: Simulator, _ certificate: GraphClientCertificate, http: HTTPClient
    )
        -> GraphMailboxSource
    {
        let authority = simulator.graphAuthority
        let configuration = GraphClient.Configuration(
            baseURL: simulator.graphEndpoint,
            credentials: GraphCredentials(
                tenant: "contoso.example", clientID: app, proof: .certificate(certificate), authority: authority))
        return GraphMailboxSource(
            client: GraphClient(configuration: configuration, transport: http, logger: Logger(label: "graph-cert")))
    }

    @Test func aRegisteredCertificateGetsATokenAndAnotherIsRefusedWithEntrasCode() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let registered = try ca.appCertificate("registered"), other = try ca.appCertificate("other")
        var configuration = SimulatorConfiguration()
        configuration.mailboxes = [Self.address]
        configuration.graphAppCertificates = [
            GraphAppCertificate(clientId: Self.app, certificatePath: registered.certificate)
        ]
        let simulator = try await Simulator.start(configuration)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.proxy = .direct
        let http = try HTTPClient(configuration: httpConfiguration, logger: Logger(label: "graph-cert"))
        defer { http.shutdown() }
        do {
            let owner = MailboxOwner(smtpAddress: Self.address, userID: UUID())
            for certificate in [
                try GraphClientCertificate(certificateFile: registered.certificate, keyFile: registered.key),
                try GraphClientCertificate(certificateFile: registered.both, keyFile: registered.both),
            ] {
                let page = try await Self.source(simulator, certificate, http: http).itemRefs(
                    in: owner, kind: .contacts, after: nil, pageSize: 10)
                #expect(page.refs.isEmpty && page.nextCursor == nil)
            }
            let unregistered = try GraphClientCertificate(certificateFile: other.certificate, keyFile: other.key)
            do {
                _ = try await Self.source(simulator, unregistered, http: http).itemRefs(
                    in: owner, kind: .contacts, after: nil, pageSize: 10)
                Issue.record("an unregistered certificate got a token")
            } catch {
                #expect(error.kind == .unauthorized && error.code.contains("AADSTS700027"), "\(error)")
                let key = try String(contentsOfFile: other.key, encoding: .utf8)
                let keyLine = key.split(separator: "\n")[1]
                #expect(!"\(error)".contains(keyLine), "no key material in errors")
            }
        } catch {
            try await simulator.shutdown()
            throw error
        }
        try await simulator.shutdown()
    }

    @Test func aFileWithoutAKeyIsAConfigurationErrorNamingTheFile() throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let app = try ca.appCertificate("app")
        #expect(
            throws: GraphError(
                .configuration("no unencrypted RSA private key of 2,048 bits or more in \(app.certificate)"),
                operation: "read certificate")
        ) {
            try GraphClientCertificate(certificateFile: app.certificate, keyFile: app.certificate)
        }
        #expect(
            throws: GraphError(.configuration("no PEM certificate in \(app.key)"), operation: "read certificate")
        ) {
            try GraphClientCertificate(certificateFile: app.key, keyFile: app.key)
        }
    }
}

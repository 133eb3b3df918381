import Foundation
import Pipeline
import SyncCore
import Testing

@Suite struct SnapsyncConfigurationTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-\(UUID()).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        let path = try file(
            "# CRM\ndatabase_url = host=/tmp dbname=file\news_url=https://mail.example.com/EWS/Exchange.asmx\n")
        let configuration = try SnapsyncConfiguration.load(
            environment: ["SNAPSYNC_DATABASE_URL": "dbname=env"], file: path)
        #expect(configuration.databaseURL == "dbname=env")
        #expect(configuration.ewsURL == "https://mail.example.com/EWS/Exchange.asmx")
    }

    @Test func badValuesAreClearErrorsNamingTheKey() throws {
        #expect(
            throws: SnapsyncConfiguration.Error("SNAPSYNC_EWS_ACCESS must be impersonation or delegate, not sideways")
        ) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_EWS_ACCESS": "sideways"], file: nil)
        }
        let path = try file("database_url=x\nnonsense\n")
        #expect(throws: SnapsyncConfiguration.Error("\(path) line 2: expected key=value")) {
            try SnapsyncConfiguration.load(environment: [:], file: path)
        }
        #expect(throws: SnapsyncConfiguration.Error.self) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_EWS_URL": "ftp://x"], file: nil)
        }
        #expect(throws: SnapsyncConfiguration.Error.self) {
            try SnapsyncConfiguration.load(environment: [:], file: "/nonexistent/snapsync.conf")
        }
        #expect(throws: SnapsyncConfiguration.Error.self) { try SnapsyncConfiguration().requireDatabase() }
    }

    @Test func graphSettingsComeFromTheFileOrTheEnvironment() throws {
        let path = try file(
            """
            exchange_protocol = graph
            graph_tenant = contoso.onmicrosoft.com
            graph_client_id = 11111111-2222-3333-4444-555555555555
            graph_client_secret_file = /etc/snapsync/graph-secret
            """)
        let configuration = try SnapsyncConfiguration.load(
            environment: ["SNAPSYNC_GRAPH_URL": "https://graph.example/v1.0"], file: path)
        #expect(configuration.exchangeProtocol == .graph)
        #expect(configuration.graphURL == "https://graph.example/v1.0")
        #expect(configuration.graphAuthority == "https://login.microsoftonline.com")
        let app = try configuration.requireGraph()
        #expect(
            app.tenant == "contoso.onmicrosoft.com" && app.clientID == "11111111-2222-3333-4444-555555555555"
                && app.proof == .secret(file: "/etc/snapsync/graph-secret"))
        #expect(
            try SnapsyncConfiguration.load(environment: [:], file: nil).exchangeProtocol == .ews,
            "EWS unless configured")
    }

    @Test func badGraphSettingsAreClearErrorsNamingTheKey() throws {
        #expect(throws: SnapsyncConfiguration.Error("SNAPSYNC_EXCHANGE_PROTOCOL must be ews or graph, not owa")) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_EXCHANGE_PROTOCOL": "owa"], file: nil)
        }
        #expect(
            throws: SnapsyncConfiguration.Error(
                "SNAPSYNC_GRAPH_AUTHORITY must be an http(s) URL such as https://login.microsoftonline.com")
        ) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_GRAPH_AUTHORITY": "login"], file: nil)
        }
        #expect(
            throws: SnapsyncConfiguration.Error(
                "SNAPSYNC_GRAPH_REQUEST_BUDGET must be a number of requests (0: no pacing), not lots")
        ) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_GRAPH_REQUEST_BUDGET": "lots"], file: nil)
        }
        #expect(
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_GRAPH_REQUEST_BUDGET": "0"], file: nil)
                .graphRequestBudget == 0)
        #expect(try SnapsyncConfiguration.load(environment: [:], file: nil).graphRequestBudget == 10_000)
        #expect(throws: SnapsyncConfiguration.Error("SNAPSYNC_GRAPH_INSECURE must be true or false")) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_GRAPH_INSECURE": "maybe"], file: nil)
        }
        let partial = try SnapsyncConfiguration.load(
            environment: ["SNAPSYNC_GRAPH_TENANT": "t", "SNAPSYNC_GRAPH_CLIENT_ID": "c"], file: nil)
        #expect(
            throws: SnapsyncConfiguration.Error(
                "no Graph client credential: set SNAPSYNC_GRAPH_CLIENT_SECRET_FILE or SNAPSYNC_GRAPH_CLIENT_CERTIFICATE (or graph_client_secret_file or graph_client_certificate in --config)"
            )
        ) {
            try partial.requireGraph()
        }
        let certificate = try file("-----BEGIN CERTIFICATE-----\n")
        var both = partial
        both.graphClientSecretFile = "/etc/snapsync/graph-secret"
        both.graphClientCertificate = certificate
        #expect(
            throws: SnapsyncConfiguration.Error(
                "both a Graph client secret and a certificate are set: keep one of SNAPSYNC_GRAPH_CLIENT_SECRET_FILE and SNAPSYNC_GRAPH_CLIENT_CERTIFICATE"
            )
        ) {
            try both.requireGraph()
        }
        #expect(
            throws: SnapsyncConfiguration.Error("SNAPSYNC_GRAPH_CLIENT_KEY (/nonexistent/graph.key) is not readable")
        ) {
            try SnapsyncConfiguration.load(
                environment: ["SNAPSYNC_GRAPH_CLIENT_KEY": "/nonexistent/graph.key"], file: nil)
        }
    }

    @Test func aGraphCertificateCredentialTakesItsKeyFromItsOwnFileUnlessOneIsNamed() throws {
        let certificate = try file("-----BEGIN CERTIFICATE-----\n"), key = try file("-----BEGIN PRIVATE KEY-----\n")
        let base = ["SNAPSYNC_GRAPH_TENANT": "t", "SNAPSYNC_GRAPH_CLIENT_ID": "c"]
        let combined = try SnapsyncConfiguration.load(
            environment: base.merging(["SNAPSYNC_GRAPH_CLIENT_CERTIFICATE": certificate]) { $1 }, file: nil)
        #expect(try combined.requireGraph().proof == .certificate(file: certificate, keyFile: certificate))
        let separate = try SnapsyncConfiguration.load(
            environment: base.merging([
                "SNAPSYNC_GRAPH_CLIENT_CERTIFICATE": certificate, "SNAPSYNC_GRAPH_CLIENT_KEY": key,
            ]) { $1 }, file: nil)
        #expect(try separate.requireGraph().proof == .certificate(file: certificate, keyFile: key))
    }

    @Test func aPasswordNeverAppearsInErrors() throws {
        let path = try file("ews_password=hunter2\nbogus_key=1\n")
        do {
            _ = try SnapsyncConfiguration.load(environment: [:], file: path)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}

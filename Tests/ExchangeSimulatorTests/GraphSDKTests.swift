import Foundation
import Testing
import TestSupport
@testable import ExchangeSimulator

/// The interpreter with msgraph-sdk 1.65.0 (TestPython).
enum GraphSDKPython {
    static let path: String? = TestPython.interpreter(importing: "msgraph, azure.identity, deprecated")
    static var enabled: Bool { TestPython.enabled(path) }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Python/msgraph_checks.py"
    ).path

    /// Runs every scenario of msgraph_checks.py (`all`, in one interpreter) against `sim` on `mailbox`; returns each
    /// scenario's JSON by name.
    static func scenarios(
        sim: Simulator, mailbox: String, ca: TestCertificateAuthority, certificateClientId: String,
        certificate: String, otherCertificate: String
    ) async throws -> [String: [String: Any]] {
        guard let python = path else {
            Issue.record(
                "SNAPSYNC_TEST_PYTHON is not set and CI=true: run jobs/dev/test.sh (it installs msgraph-sdk 1.65.0).")
            throw CancellationError()
        }
        let r = try await TestPython.run(
            python, script: script, ["all"],
            environment: [
                "SIM_GRAPH": sim.graphEndpoint, "SIM_TOKEN_URL": sim.tokenEndpoint(tenant: "contoso.onmicrosoft.com"),
                "SIM_CONTROL": "https://127.0.0.1:\(sim.port)", "SIM_CLIENT_ID": GraphApp.demo.clientId,
                "SIM_CLIENT_SECRET": GraphApp.demo.secret, "SIM_MAILBOX": mailbox,
                "SIM_CERT_CLIENT_ID": certificateClientId, "SIM_CERT_PEM": certificate,
                "SIM_OTHER_CERT_PEM": otherCertificate,
                "SSL_CERT_FILE": ca.caFile, "REQUESTS_CA_BUNDLE": ca.caFile,
            ])
        var results: [String: [String: Any]] = [:]
        var current = ""
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            if let name = object["scenario"] as? String, object.count == 1 {
                current = name
            } else {
                results[current] = object
            }
        }
        guard r.status == 0 else {
            Issue.record("msgraph-sdk scenario \(current) failed (exit \(r.status)):\n\(r.stderr.suffix(6000))")
            throw CancellationError()
        }
        return results
    }
}

/// Microsoft's Python Graph SDK (msgraph-sdk 1.65.0 with its default middleware), an independent Graph client,
/// drives the simulator over HTTPS with tokens azure-identity gets from the simulator's token endpoint (a client
/// secret; a certificate's client assertion): contacts CRUD and paging, delta rounds, To Do with linked resources,
/// a series with an exception and a cancellation, `$batch`, and a throttled call its retry handler retries after
/// `Retry-After`.
@Suite(.enabled(if: GraphSDKPython.enabled), .serialized)
struct GraphSDKTests {
    static let mailbox = "alice@example.com"

    @Test func sdkDrivesContactsTodoEventsBatchDeltaAndRetriesAThrottledCall() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let app = try ca.appCertificate("crm-sync-app"), stranger = try ca.appCertificate("stranger")
        try await withSimulator({
            $0.mailboxes = [Self.mailbox]
            $0.tls = .init(certificatePath: ca.certificateFile, privateKeyPath: ca.keyFile)
            $0.graphAppCertificates = [GraphAppCertificate(clientId: "crm-sync-app", certificatePath: app.certificate)]
        }) { sim, _ in
            let results = try await GraphSDKPython.scenarios(
                sim: sim, mailbox: Self.mailbox, ca: ca, certificateClientId: "crm-sync-app",
                certificate: app.both, otherCertificate: stranger.both)
            let contacts = try #require(results["contacts"])
            #expect(
                (contacts["created"] as? [String])?.count == 12 && contacts["pages"] as? Int == 3
                    && contacts["seen"] as? Int == 12)
            #expect(contacts["tokens"] as? Int == 1)
            // 12 created, 1 deleted; delta: 1 created, 1 deleted; batch: 1 created.
            #expect(sim.control.mailboxes().first { $0.address == Self.mailbox }?.contacts == 12)

            let delta = try #require(results["delta"])
            #expect(delta["initial"] as? Int == 11 && delta["pages"] as? Int == 3)
            #expect(delta["changed"] as? Int == 2 && delta["removed"] as? Int == 1)

            let todo = try #require(results["todo"])
            let taskId = try #require(todo["task"] as? String)
            let stored = sim.control.store.withState { s -> StoredItem? in
                guard case .item(_, let n) = GraphIdentifier.parse(taskId) else { return nil }
                return s.mailbox(Self.mailbox)?.folders["tasks"]?.items[n]
            }
            #expect(
                stored?.fields["Subject"]?.text == "Call back Zoë" && stored?.fields["Status"]?.value == "Completed")

            let events = try #require(results["events"])
            #expect(
                events["instances"] as? Int == 4 && events["cancelled"] as? [String] != nil
                    && events["exceptions"] as? Int == 1)

            let batch = try #require(results["batch"])
            #expect(batch["statuses"] as? [String: Int] == ["1": 201, "2": 200, "3": 404])

            let throttled = try #require(results["throttled"])
            #expect((throttled["elapsed"] as? Double ?? 0) >= 1.0)
            #expect(sim.control.currentFaults().graphThrottle == nil)

            let certificate = try #require(results["certificate"])
            #expect(certificate["contacts"] as? Int == 10 && certificate["refused"] as? Bool == true)
        }
    }
}

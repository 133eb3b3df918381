import Foundation
import TestSupport
import Testing

/// The built snapsync binary's `--log-format` and `--metrics-file`, and the jobs driving the real binary: failures
/// that need no PostgreSQL or Exchange (a missing config file, a closed port) still log JSON lines, keep secrets
/// out, and leave their exit code in the metrics file.
@Suite struct CLIObservabilityTests {
    /// `snapsync` next to the test bundle (both are products of `swift build --build-tests`).
    static func snapsyncBinary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            JobScriptRunner.repositoryRoot.appendingPathComponent(".build/debug"),
        ].map { $0.appendingPathComponent("snapsync") }
        return try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
            "snapsync is not built: run swift build --build-tests")
    }

    private func metricValue(_ text: String, _ sample: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.map { String($0.dropFirst(sample.count + 1)) }
    }

    @Test func failuresLogJSONWithoutSecretsAndLeaveTheirExitCodeInTheMetricsFile() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let metrics = runner.directory.appendingPathComponent("textfile")
        try FileManager.default.createDirectory(at: metrics, withIntermediateDirectories: true)
        let environment = [
            "SNAPSYNC_BIN": try Self.snapsyncBinary().path,
            "SNAPSYNC_METRICS_DIR": metrics.path,
            "SNAPSYNC_DATABASE_URL": "postgresql://crm:hunter2-db@127.0.0.1:1/crm",
            "SNAPSYNC_EWS_URL": "http://127.0.0.1:1/EWS/Exchange.asmx",
            "SNAPSYNC_EWS_USER": "svc-sync",
            "SNAPSYNC_EWS_PASSWORD": "hunter2-ews",
        ]
        // Every window and scope option the job passes is accepted by the real CLI (else 64); PostgreSQL on a
        // closed port is "unavailable".
        let unavailable = try await runner.run(
            "nightly-inbound",
            [
                "--until", "05:30", "--max-duration", "2h", "--mailbox", "anna@example.com", "--workers", "2",
                "--log-format", "json",
            ], environment: environment)
        #expect(unavailable.status == 69, "\(unavailable.stderr)")
        #expect(!unavailable.stderr.contains("hunter2"))
        let logLines = unavailable.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(logLines.count >= 2)  // snapsync's error line and the job's summary
        for line in logLines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["timestamp", "level", "label", "message"] {
                #expect(object[key] is String, "\(key) in \(line)")
            }
        }
        #expect(logLines.contains { $0.contains(#""command":"snapshot inbound""#) && $0.contains(#""level":"error""#) })

        let sync = try await runner.run("live-sync", environment: environment)
        #expect(sync.status == 69, "\(sync.stderr)")
        #expect(!sync.stderr.contains("hunter2"))
        let syncText = try String(
            contentsOf: metrics.appendingPathComponent("snapsync-live-sync.prom"), encoding: .utf8)
        #expect(metricValue(syncText, #"snapsync_last_run_exit_code{command="sync-run"}"#) == "69")

        // A missing config file: the job refuses it before snapsync runs (so no metrics sample for 78 below) ...
        let badConfig = try await runner.run(
            "nightly-inbound", ["--config", runner.directory.path + "/missing.conf"],
            environment: environment)
        #expect(badConfig.status == 78)

        // ... and snapsync run directly says 78 too, and records it.
        let binary = try Self.snapsyncBinary()
        let direct = metrics.appendingPathComponent("direct.prom")
        let directRun = try await ChildProcess.run(
            binary,
            [
                "snapshot", "outbound", "--config", runner.directory.path + "/missing.conf",
                "--metrics-file", direct.path, "--log-format", "json",
            ])
        #expect(directRun.status == 78)

        let text = try String(
            contentsOf: metrics.appendingPathComponent("snapsync-nightly-inbound.prom"), encoding: .utf8)
        #expect(metricValue(text, #"snapsync_last_run_exit_code{command="snapshot-inbound"}"#) == "69")
        #expect(metricValue(text, #"snapsync_runs_total{command="snapshot-inbound",exit_code="69"}"#) == "1")
        #expect(metricValue(text, #"snapsync_runs_total{command="snapshot-inbound",exit_code="78"}"#) == nil)
        #expect(metricValue(text, #"snapsync_last_success_timestamp_seconds{command="snapshot-inbound"}"#) == nil)
        let directText = try String(contentsOf: direct, encoding: .utf8)
        #expect(metricValue(directText, #"snapsync_last_run_exit_code{command="snapshot-outbound"}"#) == "78")
    }
}

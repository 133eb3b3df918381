import Foundation
import Postgres
import TestSupport
import Testing

/// The figures of one run as the built snapsync gives them: its end-of-run summary, `runs show`, the HTML report and
/// the metrics file agree, and equal what changed, outbound and inbound; off a terminal, no escape code reaches
/// standard error.
@Suite struct RunFiguresTests {
    /// A kept demo (PostgreSQL and the simulator) for `body`, stopped afterwards whatever happens.
    static func withKeptDemo<T>(
        _ arguments: [String],
        _ body: (_ environment: [String: String], _ output: ChildProcess.Result) async throws -> T
    )
        async throws -> T
    {
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        let demoDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-demo-test-\(UUID().uuidString)")
        let isolated = ["SNAPSYNC_DEMO_DIR": demoDirectory.path]
        let kept = try await ChildProcess.run(snapsync, ["demo", "--keep"] + arguments, environment: isolated)
        defer {
            // No `await` in a `defer`: the stop goes on by itself (its own thread reaps it).
            _ = try? ChildProcess.start(
                snapsync.path, ["demo", "--stop"],
                environment: ProcessInfo.processInfo.environment.merging(isolated) { $1 })
        }
        try #require(kept.status == 0, "\(kept.output)")
        var environment = isolated
        for match in kept.stdout.isEmpty
            ? [] : String(decoding: kept.stdout, as: UTF8.self).matches(of: /(SNAPSYNC_[A-Z_]+)='([^']*)'/)
        {
            environment[String(match.output.1)] = String(match.output.2)
        }
        try #require(environment["SNAPSYNC_DATABASE_URL"] != nil, "\(kept.output)")
        return try await body(environment, kept)
    }

    /// The created, updated, deleted, unchanged and quarantined counts of the kind's row of a summary's item table.
    static func summaryRow(_ text: String, _ kind: String) -> [String: Int64]? {
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("  items ") }) else { return nil }
        let names = lines[header].split(separator: " ").dropFirst().map(String.init)
        guard let row = lines[header...].first(where: { $0.hasPrefix("  \(kind) ") }) else { return nil }
        let values = row.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard values.count == names.count else { return nil }
        return Dictionary(uniqueKeysWithValues: zip(names, values))
    }

    @Test func theSummaryRunsShowTheReportAndTheMetricsGiveTheSameCountsEqualToWhatChanged() async throws {
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        try await Self.withKeptDemo(["--mailboxes", "2", "--items", "20", "--contacts", "10"]) { environment, demo in
            // Off a terminal the demo's runs show no live status: no escape code on standard error.
            #expect(!demo.stderr.contains("\u{1B}["), "\(demo.stderr.prefix(400))")
            // What changes in the CRM: 5 tasks edited, 3 deleted.
            let db = try await PostgresConnection.connect(
                try #require(environment["SNAPSYNC_DATABASE_URL"]), logger: TestDatabase.quietLogger)
            let edited = try await db.execute(
                """
                UPDATE crm.tasks SET subject = subject || ' (edited)', version = version + 1
                WHERE id IN (SELECT crm_id FROM sync.links WHERE kind = 'tasks' ORDER BY crm_id LIMIT 5)
                """)
            let deleted = try await db.execute(
                """
                DELETE FROM crm.tasks WHERE id IN (SELECT crm_id FROM sync.links WHERE kind = 'tasks' ORDER BY crm_id DESC LIMIT 3)
                """)
            let tasks = try await db.query("SELECT count(*) FROM crm.tasks")[0].decode(Int64.self, at: 0)
            await db.close()
            #expect(edited == 5 && deleted == 3)

            let work = FileManager.default.temporaryDirectory.appendingPathComponent(
                "snapsync-figures-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            let metrics = work.appendingPathComponent("snapsync.prom")
            let run = try await ChildProcess.run(
                snapsync, ["snapshot", "outbound", "--kind", "tasks", "--metrics-file", metrics.path],
                environment: environment)
            #expect(run.status == 0, "\(run.output)")
            let summary = String(decoding: run.stdout, as: UTF8.self)
            #expect(!run.stderr.contains("\u{1B}["))
            let runID = try #require(
                summary.firstMatch(of: #/run (\d+): [a-z_]+, outbound, /#).map { String($0.output.1) }, "\(summary)")
            let counts = try #require(Self.summaryRow(summary, "tasks"), "\(summary)")
            #expect(counts["read"] == tasks, "\(summary)")
            #expect(
                counts["created"] == 0 && counts["updated"] == 5 && counts["deleted"] == 3
                    && counts["quarantined"] == 0, "\(summary)")
            #expect(counts["unchanged"] == tasks - 5, "\(summary)")

            let report = work.appendingPathComponent("run.html")
            let shown = try await ChildProcess.run(
                snapsync, ["runs", "show", runID, "--html", report.path], environment: environment)
            #expect(shown.status == 0, "\(shown.output)")
            #expect(
                Self.summaryRow(String(decoding: shown.stdout, as: UTF8.self), "tasks") == counts, "\(shown.output)")

            let page = try String(contentsOf: report, encoding: .utf8)
            let cells = try #require(
                page.firstMatch(of: #/<tr><th>tasks</th>((?:<td>\d+</td>)+)</tr>/#), "\(page.prefix(3000))")
            let values = String(cells.output.1).matches(of: #/<td>(\d+)</td>/#).compactMap { Int64($0.output.1) }
            #expect(
                values
                    == ["read", "created", "updated", "deleted", "unchanged", "quarantined"].map { counts[$0] ?? -1 })

            // The report of this small run, with every mailbox in full, reads in a browser as well.
            try await ReportInBrowserTests.checkInBrowser(report, work: work)

            let text = try String(contentsOf: metrics, encoding: .utf8)
            for (change, count) in counts {
                #expect(
                    text.contains("snapsync_run_items{command=\"snapshot-outbound\",change=\"\(change)\"} \(count)\n"),
                    "\(change): \(text)")
            }
            // Items written per stage: the push's updates and the delete stage's deletions, nothing for what was only read.
            #expect(text.contains("snapsync_items_total{command=\"snapshot-outbound\",stage=\"push\"} 5\n"), "\(text)")
            #expect(
                text.contains("snapsync_items_total{command=\"snapshot-outbound\",stage=\"delete\"} 3\n"), "\(text)")

            // Inbound, both sides in sync but 4 CRM subjects edited: Exchange's 4 items update their rows, the rest is
            // read, matched and merged without a change.
            let crm = try await PostgresConnection.connect(
                try #require(environment["SNAPSYNC_DATABASE_URL"]), logger: TestDatabase.quietLogger)
            let drifted = try await crm.execute(
                """
                UPDATE crm.tasks SET subject = subject || ' (CRM only)'
                WHERE id IN (SELECT crm_id FROM sync.links WHERE kind = 'tasks' ORDER BY crm_id LIMIT 4)
                """)
            await crm.close()
            #expect(drifted == 4)
            let inbound = try await ChildProcess.run(
                snapsync, ["snapshot", "inbound", "--kind", "tasks", "--metrics-file", metrics.path],
                environment: environment)
            #expect(inbound.status == 0, "\(inbound.output)")
            let inboundSummary = String(decoding: inbound.stdout, as: UTF8.self)
            let inboundRun = try #require(
                inboundSummary.firstMatch(of: #/run (\d+): [a-z_]+, inbound, /#).map { String($0.output.1) })
            let inboundCounts = try #require(Self.summaryRow(inboundSummary, "tasks"), "\(inboundSummary)")
            #expect(
                inboundCounts == [
                    "read": tasks, "created": 0, "updated": 4, "deleted": 0, "unchanged": tasks - 4, "quarantined": 0,
                ],
                "\(inboundSummary)")
            let inboundShown = try await ChildProcess.run(
                snapsync, ["runs", "show", inboundRun], environment: environment)
            #expect(Self.summaryRow(String(decoding: inboundShown.stdout, as: UTF8.self), "tasks") == inboundCounts)
            let inboundText = try String(contentsOf: metrics, encoding: .utf8)
            for (change, count) in inboundCounts {
                #expect(
                    inboundText.contains(
                        "snapsync_run_items{command=\"snapshot-inbound\",change=\"\(change)\"} \(count)\n"), "\(change)"
                )
            }
            #expect(
                inboundText.contains("snapsync_items_total{command=\"snapshot-inbound\",stage=\"merge\"} 4\n"),
                "\(inboundText)")
            #expect(
                inboundText.contains("snapsync_items_total{command=\"snapshot-inbound\",stage=\"baseline\"} 0\n"),
                "\(inboundText)")
            #expect(
                inboundText.contains("snapsync_items_total{command=\"snapshot-inbound\",stage=\"match\"} 0\n"),
                "\(inboundText)")
        }
    }
}

import Foundation
import Observability
import Testing

@Suite struct RunMetricsTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func value(_ families: [MetricFamily], _ name: String, _ labels: KeyValuePairs<String, String>) -> Double? {
        let wanted = MetricSample(labels, value: 0)
        return families.first { $0.name == name }?.samples.first { $0.hasSameLabels(as: wanted) }?.value
    }

    @Test func writesItemsErrorsRetriesDurationsAndLastSuccess() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = MetricsTextfile(path: directory.appendingPathComponent("snapsync.prom").path)
        let start = Date(timeIntervalSince1970: 1_795_608_000)

        let first = RunMetrics(command: "snapshot-inbound", startedAt: start)
        first.addItems(1500, stage: "contacts")
        first.addItems(500, stage: "contacts")
        first.addErrors(2, stage: "contacts")
        first.addRetries(3, stage: "tasks")
        first.setDuration(12.5, stage: "contacts")
        try first.write(to: file, exitCode: 0, finishedAt: start.addingTimeInterval(60))

        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        try checkExpositionFormat(text)
        var families = try file.read()
        #expect(value(families, "snapsync_items_total", ["command": "snapshot-inbound", "stage": "contacts"]) == 2000)
        #expect(value(families, "snapsync_items_total", ["command": "snapshot-inbound", "stage": "tasks"]) == 0)
        #expect(value(families, "snapsync_errors_total", ["command": "snapshot-inbound", "stage": "contacts"]) == 2)
        #expect(value(families, "snapsync_retries_total", ["command": "snapshot-inbound", "stage": "tasks"]) == 3)
        #expect(
            value(
                families, "snapsync_stage_duration_seconds",
                ["command": "snapshot-inbound", "stage": "contacts"]) == 12.5)
        #expect(value(families, "snapsync_run_duration_seconds", ["command": "snapshot-inbound"]) == 60)
        #expect(
            value(families, "snapsync_last_success_timestamp_seconds", ["command": "snapshot-inbound"])
                == 1_795_608_060)
        #expect(value(families, "snapsync_runs_total", ["command": "snapshot-inbound", "exit_code": "0"]) == 1)

        // A second run that ends with a partial failure: counters add up, last success stays, other commands' and
        // foreign samples are kept.
        try MetricsTextfile(path: file.path).update { previous in
            previous + [
                MetricFamily(
                    name: "node_custom", help: "Foreign.", kind: .gauge,
                    samples: [MetricSample(value: 7)])
            ]
        }
        let second = RunMetrics(command: "snapshot-inbound", startedAt: start.addingTimeInterval(3600))
        second.record(stage: "contacts", items: 10, errors: 1, seconds: 2)
        try second.write(to: file, exitCode: 4, finishedAt: start.addingTimeInterval(3630))
        let other = RunMetrics(command: "sync", startedAt: start)
        other.addItems(3, stage: "outbox")
        try other.write(to: file, exitCode: 0, finishedAt: start.addingTimeInterval(3700))

        families = try file.read()
        try checkExpositionFormat(
            try String(contentsOfFile: file.path, encoding: .utf8).replacingOccurrences(
                of: "# HELP node_custom Foreign.\n# TYPE node_custom gauge\nnode_custom 7\n", with: ""))
        #expect(value(families, "snapsync_items_total", ["command": "snapshot-inbound", "stage": "contacts"]) == 2010)
        #expect(value(families, "snapsync_errors_total", ["command": "snapshot-inbound", "stage": "contacts"]) == 3)
        #expect(
            value(
                families, "snapsync_stage_duration_seconds",
                ["command": "snapshot-inbound", "stage": "contacts"]) == 2)
        #expect(value(families, "snapsync_items_total", ["command": "sync", "stage": "outbox"]) == 3)
        #expect(value(families, "snapsync_last_run_exit_code", ["command": "snapshot-inbound"]) == 4)
        #expect(
            value(families, "snapsync_last_run_timestamp_seconds", ["command": "snapshot-inbound"])
                == 1_795_611_630)
        #expect(
            value(families, "snapsync_last_success_timestamp_seconds", ["command": "snapshot-inbound"])
                == 1_795_608_060)
        #expect(value(families, "snapsync_last_success_timestamp_seconds", ["command": "sync"]) == 1_795_611_700)
        #expect(value(families, "snapsync_runs_total", ["command": "snapshot-inbound", "exit_code": "4"]) == 1)
        #expect(value(families, "node_custom", [:]) == 7)
    }

    @Test func theLatestRunsMailboxesAreCountedByProtocol() {
        let metrics = RunMetrics(command: "snapshot-inbound", startedAt: Date(timeIntervalSince1970: 0))
        metrics.setRunMailboxes([(protocol: "ews", count: 3), (protocol: "graph", count: 2)])
        let families = metrics.families(exitCode: 0, finishedAt: Date(timeIntervalSince1970: 10), previous: [])
        let mailboxes = families.first { $0.name == "snapsync_run_mailboxes" }
        #expect(mailboxes?.kind == .gauge)
        #expect(mailboxes?.samples.map(\.value) == [3, 2])
        #expect(
            mailboxes?.samples.map { $0.labels.map(\.value) } == [
                ["snapshot-inbound", "ews"], ["snapshot-inbound", "graph"],
            ])
        let none = RunMetrics(command: "sync", startedAt: Date(timeIntervalSince1970: 0))
        #expect(
            !none.families(exitCode: 0, finishedAt: Date(timeIntervalSince1970: 1), previous: []).contains {
                $0.name == "snapsync_run_mailboxes"
            })
    }

    @Test func replacesTheFileAtomicallyAndReadablyLeavingNoTemporaryFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("snapsync.prom").path
        let file = MetricsTextfile(path: path)
        let oldMask = umask(0o077)
        defer { umask(oldMask) }
        try file.write([MetricFamily(name: "a", help: "A.", kind: .gauge, samples: [MetricSample(value: 1)])])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["snapsync.prom"])
        let inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue

        try file.write([MetricFamily(name: "a", help: "A.", kind: .gauge, samples: [MetricSample(value: 2)])])
        let replaced = try FileManager.default.attributesOfItem(atPath: path)
        #expect((replaced[.systemFileNumber] as? NSNumber)?.intValue != inode)  // renamed over, not rewritten
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# HELP a A.\n# TYPE a gauge\na 2\n")

        // A write that fails validation leaves the old file in place.
        #expect(throws: ObservabilityError.self) {
            try file.write([MetricFamily(name: "bad name", help: "", kind: .gauge)])
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# HELP a A.\n# TYPE a gauge\na 2\n")
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
                .subtracting([".snapsync.prom.lock"]) == ["snapsync.prom"])
    }

    @Test func concurrentUpdatesDoNotLoseCounts() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("shared.prom").path
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let run = RunMetrics(command: "sync")
                    run.addItems(1, stage: "outbox")
                    try run.write(to: MetricsTextfile(path: path), exitCode: 0)
                }
            }
            try await group.waitForAll()
        }
        let families = try MetricsTextfile(path: path).read()
        #expect(value(families, "snapsync_items_total", ["command": "sync", "stage": "outbox"]) == 20)
        #expect(value(families, "snapsync_runs_total", ["command": "sync", "exit_code": "0"]) == 20)
    }

    @Test func unwritableDirectoryIsAnIOError() {
        let file = MetricsTextfile(path: "/nonexistent-dir-\(UUID().uuidString)/snapsync.prom")
        #expect {
            try RunMetrics(command: "sync").write(to: file, exitCode: 0)
        } throws: { error in
            (error as? ObservabilityError)?.code == .io
        }
    }
}

import ArgumentParser
import Foundation
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// Prints a run's report and turns its outcome into the exit code.
enum RunReport {
    static func finish(_ result: SnapshotResult, environment: CLIEnvironment, conninfo: String? = nil) async throws -> Int32 {
        let db = if let conninfo { try await PostgresConnection.connect(conninfo, logger: environment.logger) } else { try await environment.database() }
        let stages = try await RunStore.stages(runID: result.runID, mailbox: nil, db: db)
        let events = try await RunStore.events(runID: result.runID, db: db)
        await db.close()
        print("run \(result.runID)\(result.resumed ? " (resumed)" : ""): \(result.outcome.rawValue)")
        printStages(stages)
        for event in events where event.event != "analyze" {
            print("  ! \(event.mailbox ?? "-") \(event.stage ?? "-"): \(LogRedaction.scrub(event.message))")
        }
        let analyzes = events.filter { $0.event == "analyze" }.count
        if analyzes > 0 { print("  \(analyzes) ANALYZE(s) between stages (snapsync runs show \(result.runID) lists them)") }
        let code: Int32 = switch result.outcome {
        case .completed, .inProgressElsewhere: 0
        case .windowEnded: 3
        case .completedWithErrors: 4
        }
        if let metrics = environment.metrics { record(stages, into: metrics) }
        return code
    }

    /// Per stage (over every mailbox and kind): items, quarantined items plus failed stages, retried stage
    /// attempts, and the wall-clock span from the first start to the last finish.
    static func record(_ stages: [StageRecord], into metrics: RunMetrics) {
        for (name, records) in Dictionary(grouping: stages, by: \.stage.rawValue) {
            metrics.record(stage: name, items: Int(records.reduce(0) { $0 + $1.items }),
                           errors: Int(records.reduce(0) { $0 + $1.failed + ($1.status == .failed ? 1 : 0) }),
                           retries: records.reduce(0) { $0 + max($1.attempts - 1, 0) }, seconds: span(records))
        }
    }

    /// The wall-clock span of stages from the first start to the last finish; with `now`, a stage still running
    /// counts until then. Nil when none started (or, without `now`, none finished).
    static func span(_ stages: [StageRecord], runningUntil now: Date? = nil) -> TimeInterval? {
        guard let start = stages.compactMap(\.startedAt).min() else { return nil }
        let ends = stages.compactMap { $0.finishedAt ?? ($0.startedAt == nil ? nil : now) }
        return ends.max().map { $0.timeIntervalSince(start) }
    }

    /// One line per mailbox folder: each stage's status and counts.
    static func printStages(_ stages: [StageRecord]) {
        var current = ""
        for stage in stages {
            let key = "\(stage.mailbox) \(stage.kind.rawValue)"
            if key != current {
                current = key
                print("  \(key)")
            }
            var parts = [stage.status.rawValue]
            if stage.items > 0 { parts.append("\(stage.items) items") }
            if stage.created > 0 { parts.append("+\(stage.created)") }
            if stage.updated > 0 { parts.append("~\(stage.updated)") }
            if stage.deleted > 0 { parts.append("-\(stage.deleted)") }
            if stage.failed > 0 { parts.append("\(stage.failed) quarantined") }
            if let start = stage.startedAt, let end = stage.finishedAt { parts.append(String(format: "%.1fs", end.timeIntervalSince(start))) }
            if let error = stage.error { parts.append("error: \(LogRedaction.scrub(error))") }
            print("    \(stage.stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(parts.joined(separator: ", "))")
        }
    }
}

/// Progress on stderr: one rewritten line on a terminal (items done/total, items/s, ETA); nothing extra
/// otherwise (the log lines say when each stage ends).
final class ProgressLine: StageProgressReporting, @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: Date] = [:]
    private var lastPrint = Date.distantPast

    static func make() -> ProgressLine? { isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil }

    func report(mailbox: String, kind: ItemKind, stage: SnapshotStage, done: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(mailbox) \(kind.rawValue) \(stage.rawValue)"
        let now = Date()
        let start = started[key] ?? now
        started[key] = start
        guard now.timeIntervalSince(lastPrint) > 0.25 else { return }
        lastPrint = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        var line = "\(key): \(done)"
        if let total, total > 0 {
            line += "/\(total)"
            if rate > 0 { line += String(format: ", ETA %.0fs", Double(max(total - done, 0)) / rate) }
        }
        line += String(format: ", %.0f items/s", rate)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }
}

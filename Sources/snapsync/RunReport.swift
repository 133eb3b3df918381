import ArgumentParser
import Foundation
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// Prints a run's report and turns its outcome into the exit code.
enum RunReport {
    /// Prints the run's summary (``RunSummary``: a screen at most) and, with `verbose` or for a few mailboxes, the
    /// per-mailbox table above it; records the run's figures in the metrics; returns the exit code of its outcome.
    static func finish(
        _ result: SnapshotResult, environment: CLIEnvironment, conninfo: String? = nil, verbose: Bool = false
    ) async throws -> Int32 {
        let db =
            if let conninfo { try await PostgresConnection.connect(conninfo, logger: environment.logger) } else {
                try await environment.database()
            }
        let run = try await RunStore.run(result.runID, db: db)
        let stages = try await RunStore.stages(runID: result.runID, mailbox: nil, db: db)
        let events = try await RunStore.events(runID: result.runID, db: db)
        let quarantine = try await RunStore.quarantineGroups(runID: result.runID, db: db)
        await db.close()
        environment.metrics?.setRunMailboxes(
            reachedBy(events).map { (protocol: $0.key, count: $0.value.count) }.sorted { $0.protocol < $1.protocol })
        let summary = RunSummary(
            runID: result.runID, direction: run?.request.direction, outcome: result.outcome.rawValue,
            resumed: result.resumed, stages: stages, quarantine: quarantine, events: events)
        if summary.showsMailboxTable(verbose: verbose) { printStages(stages) }
        for line in summary.lines() { print(line) }
        if let metrics = environment.metrics { record(stages, into: metrics) }
        let code = exitCode(result.outcome, stages: stages)
        if code == 78, let refusal = stages.first?.error { CLIEnvironment.writeError(refusal) }
        return code
    }

    /// The exit code of a run's outcome: 78 (a configuration error) rather than 4 when nothing could run because
    /// Exchange refused every mailbox of the run.
    static func exitCode(_ outcome: SnapshotOutcome, stages: [StageRecord]) -> Int32 {
        switch outcome {
        case .completed, .inProgressElsewhere: return 0
        case .windowEnded: return 3
        case .completedWithErrors:
            let refused = stages.allSatisfy {
                $0.status == .failed && $0.error?.hasPrefix(MailboxSourceError.refusalPrefix) == true
            }
            return !stages.isEmpty && refused ? 78 : 4
        }
    }

    /// Per stage (over every mailbox and kind): items written (created, updated, deleted), quarantined items plus
    /// failed stages, retried stage attempts, and the wall-clock span from the first start to the last finish; and the
    /// run's items by what happened to them (``ItemTally``), the figures of its summary.
    static func record(_ stages: [StageRecord], into metrics: RunMetrics) {
        for (name, records) in Dictionary(grouping: stages, by: \.stage.rawValue) {
            metrics.record(
                stage: name, items: Int(records.reduce(0) { $0 + $1.tally.written }),
                errors: Int(records.reduce(0) { $0 + $1.failed + ($1.status == .failed ? 1 : 0) }),
                retries: records.reduce(0) { $0 + max($1.attempts - 1, 0) }, seconds: span(records))
        }
        metrics.setRunItems(
            stages.reduce(ItemTally()) { $0 + $1.tally }.named.map { (change: $0.name, count: $0.count) })
    }

    /// The wall-clock span of stages from the first start to the last finish; with `now`, a stage still running
    /// counts until then. Nil when none started (or, without `now`, none finished).
    static func span(_ stages: [StageRecord], runningUntil now: Date? = nil) -> TimeInterval? {
        guard let start = stages.compactMap(\.startedAt).min() else { return nil }
        let ends = stages.compactMap { $0.finishedAt ?? ($0.startedAt == nil ? nil : now) }
        return ends.max().map { $0.timeIntervalSince(start) }
    }

    /// The protocol each mailbox of the run was reached by (the run log's protocol events; the last one counts),
    /// as `graph: a@x, b@x; ews: c@x`; nil when the log names none.
    static func protocols(_ events: [RunStore.Event]) -> String? {
        let reached = reachedBy(events)
        if reached.isEmpty { return nil }
        return reached.sorted { $0.key < $1.key }
            .map { "\($0.key): \($0.value.sorted().joined(separator: ", "))" }.joined(separator: "; ")
    }

    /// The run's mailboxes by the protocol that reached them (the last protocol event of each mailbox counts).
    static func reachedBy(_ events: [RunStore.Event]) -> [String: [String]] {
        var reached: [String: String] = [:]
        for event in events where event.event == MailboxSourceRouter.protocolEvent {
            if let mailbox = event.mailbox { reached[mailbox.lowercased()] = event.message }
        }
        return Dictionary(grouping: reached.keys, by: { reached[$0]! })
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
            if stage.tally.unchanged > 0 { parts.append("=\(stage.tally.unchanged) unchanged") }
            if stage.failed > 0 { parts.append("\(stage.failed) quarantined") }
            if let start = stage.startedAt, let end = stage.finishedAt {
                parts.append(String(format: "%.1fs", end.timeIntervalSince(start)))
            }
            if let error = stage.error { parts.append("error: \(LogRedaction.scrub(error))") }
            print(
                "    \(stage.stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(parts.joined(separator: ", "))"
            )
        }
    }
}

import Foundation
import Synchronization

/// What one snapsync run reports to the textfile collector: items, errors and retries per stage (counters,
/// accumulated across runs in the file), stage and run durations, the exit code and the last run and last success
/// times (gauges), each labelled with the `command` (`snapshot-inbound`, `sync`, ...) and, per stage, `stage`.
///
/// Thread-safe: stages running concurrently may record into one instance. At the end the CLI calls
/// ``write(to:exitCode:finishedAt:)``, which merges with what the file already holds (other commands' samples stay,
/// counters add up, `snapsync_last_success_timestamp_seconds` only moves on exit code 0).
public final class RunMetrics: Sendable {
    /// The metric families this type writes, in file order.
    public enum Family: String, CaseIterable, Sendable {
        case items = "snapsync_items_total"
        case errors = "snapsync_errors_total"
        case retries = "snapsync_retries_total"
        case runs = "snapsync_runs_total"
        case stageDuration = "snapsync_stage_duration_seconds"
        case runDuration = "snapsync_run_duration_seconds"
        case runItems = "snapsync_run_items"
        case runMailboxes = "snapsync_run_mailboxes"
        case lastExitCode = "snapsync_last_run_exit_code"
        case lastRun = "snapsync_last_run_timestamp_seconds"
        case lastSuccess = "snapsync_last_success_timestamp_seconds"

        /// The family's HELP line.
        public var help: String {
            switch self {
            case .items: "Items written to the target side (created, updated or deleted), by command and stage."
            case .errors: "Items that failed (quarantined or parked) and failed stages, by command and stage."
            case .retries: "Retried requests and items, by command and stage."
            case .runs: "Finished runs, by command and exit code (see the README's exit-code table)."
            case .stageDuration: "Duration of the stage in its latest run, in seconds."
            case .runDuration: "Duration of the latest run, in seconds."
            case .runItems:
                "Items of the latest run by what happened to them (read, created, updated, deleted, unchanged, quarantined), each counted once."
            case .runMailboxes: "Mailboxes of the latest run by the protocol that reached them (ews, graph)."
            case .lastExitCode: "Exit code of the latest run."
            case .lastRun: "Unix time the latest run finished."
            case .lastSuccess: "Unix time the latest run that exited 0 finished."
            }
        }

        /// The family's TYPE.
        public var kind: MetricFamily.Kind {
            switch self {
            case .items, .errors, .retries, .runs: .counter
            default: .gauge
            }
        }
    }

    private struct StageFigures {
        var items = 0
        var errors = 0
        var retries = 0
        var duration: Double?
    }

    /// The `command` label of every sample.
    public let command: String
    private let startedAt: Date
    /// The figures recorded so far, in the order their stages first reported.
    private struct Figures {
        var stageOrder: [String] = []
        var stages: [String: StageFigures] = [:]
        var runItems: [(change: String, count: Int64)] = []
        var runMailboxes: [(protocol: String, count: Int)] = []
    }
    private let figures = Mutex(Figures())

    /// Metrics of a run of `command` that started at `startedAt`.
    public init(command: String, startedAt: Date = Date()) {
        self.command = command
        self.startedAt = startedAt
    }

    /// The latest run's mailboxes by the protocol that reached them.
    public func setRunMailboxes(_ mailboxes: [(protocol: String, count: Int)]) {
        figures.withLock { $0.runMailboxes = mailboxes }
    }

    /// Counts `count` items written by `stage`.
    public func addItems(_ count: Int, stage: String) { update(stage) { $0.items += count } }
    /// Counts `count` failed items (or one failed stage) in `stage`.
    public func addErrors(_ count: Int, stage: String) { update(stage) { $0.errors += count } }
    /// Counts `count` retries in `stage`.
    public func addRetries(_ count: Int, stage: String) { update(stage) { $0.retries += count } }
    /// Records how long `stage` took in this run.
    public func setDuration(_ seconds: Double, stage: String) { update(stage) { $0.duration = seconds } }

    /// Sets the latest run's items by what happened to them (`read`, `created`, ...), in the order given.
    public func setRunItems(_ items: [(change: String, count: Int64)]) { figures.withLock { $0.runItems = items } }

    /// Adds one stage's figures at once (e.g. from the run's stage records); a nil duration leaves it unset.
    public func record(stage: String, items: Int, errors: Int = 0, retries: Int = 0, seconds: Double? = nil) {
        update(stage) { figures in
            figures.items += items
            figures.errors += errors
            figures.retries += retries
            if let seconds { figures.duration = seconds }
        }
    }

    private func update(_ stage: String, _ change: (inout StageFigures) -> Void) {
        figures.withLock { figures in
            if figures.stages[stage] == nil {
                figures.stageOrder.append(stage)
                figures.stages[stage] = StageFigures()
            }
            change(&figures.stages[stage]!)
        }
    }

    /// This run's families merged into `previous` (the file's current content).
    public func families(exitCode: Int32, finishedAt: Date, previous: [MetricFamily]) -> [MetricFamily] {
        let (order, figures, items, mailboxes) = self.figures.withLock {
            ($0.stageOrder, $0.stages, $0.runItems, $0.runMailboxes)
        }
        let commandLabel = MetricLabel(name: "command", value: command)
        func stageLabels(_ stage: String) -> [MetricLabel] { [commandLabel, MetricLabel(name: "stage", value: stage)] }
        let finished = (finishedAt.timeIntervalSince1970 * 1000).rounded() / 1000

        var current: [Family: [MetricSample]] = [:]
        for stage in order {
            let figure = figures[stage]!
            current[.items, default: []].append(MetricSample(labels: stageLabels(stage), value: Double(figure.items)))
            current[.errors, default: []].append(MetricSample(labels: stageLabels(stage), value: Double(figure.errors)))
            current[.retries, default: []].append(
                MetricSample(labels: stageLabels(stage), value: Double(figure.retries)))
            if let duration = figure.duration {
                current[.stageDuration, default: []].append(MetricSample(labels: stageLabels(stage), value: duration))
            }
        }
        current[.runItems] = items.map {
            MetricSample(
                labels: [commandLabel, MetricLabel(name: "change", value: $0.change)], value: Double($0.count))
        }
        current[.runMailboxes] = mailboxes.map {
            MetricSample(
                labels: [commandLabel, MetricLabel(name: "protocol", value: $0.protocol)], value: Double($0.count))
        }
        current[.runs] = [
            MetricSample(
                labels: [commandLabel, MetricLabel(name: "exit_code", value: "\(exitCode)")],
                value: 1)
        ]
        current[.runDuration] = [
            MetricSample(
                labels: [commandLabel],
                value: max(0, finishedAt.timeIntervalSince(startedAt)))
        ]
        current[.lastExitCode] = [MetricSample(labels: [commandLabel], value: Double(exitCode))]
        current[.lastRun] = [MetricSample(labels: [commandLabel], value: finished)]
        if exitCode == 0 {
            current[.lastSuccess] = [MetricSample(labels: [commandLabel], value: finished)]
        }

        var result: [MetricFamily] = []
        for family in Family.allCases {
            var samples = previous.first { $0.name == family.rawValue }?.samples ?? []
            for sample in current[family] ?? [] {
                if let position = samples.firstIndex(where: { $0.hasSameLabels(as: sample) }) {
                    samples[position].value =
                        family.kind == .counter
                        ? samples[position].value + sample.value
                        : sample.value
                } else {
                    samples.append(sample)
                }
            }
            if !samples.isEmpty {
                result.append(
                    MetricFamily(name: family.rawValue, help: family.help, kind: family.kind, samples: samples))
            }
        }
        let ours = Set(Family.allCases.map(\.rawValue))
        return result + previous.filter { !ours.contains($0.name) }
    }

    /// Merges this run into `file` (see ``families(exitCode:finishedAt:previous:)``) and replaces it atomically.
    public func write(to file: MetricsTextfile, exitCode: Int32, finishedAt: Date = Date()) throws {
        try file.update { previous in families(exitCode: exitCode, finishedAt: finishedAt, previous: previous) }
    }
}

import Foundation
import Observability
import SyncCore
import SyncStore

/// What the end of a run shows, a screen at most whatever the number of mailboxes: the outcome, the items by what
/// happened to them (per kind), time and items/s per stage, the slowest mailboxes, failures grouped by reason with
/// one example each, and the commands to run next. Built from the run's stored stages, quarantine and events. Pure:
/// ``lines(verbose:)`` renders it.
struct RunSummary {
    /// One stage over every mailbox: its items, the time the workers spent in it (summed) and items per second of that.
    struct StageFigure: Hashable {
        var stage: SnapshotStage
        var items: Int64
        var seconds: TimeInterval
        var rate: Double? { seconds > 0 ? Double(items) / seconds : nil }
    }

    /// A mailbox and how long it took, from its first stage's start to its last stage's finish.
    struct MailboxTime: Hashable {
        var mailbox: String
        var seconds: TimeInterval
        var read: Int64
    }

    /// Failures sharing a reason: quarantined items (by code) or failed stages (by the kind of their error).
    struct FailureGroup: Hashable {
        enum Kind: Hashable { case quarantined, stageFailed, event(String) }
        var kind: Kind
        var reason: String
        var count: Int64
        var example: String
        /// The command that fixes or explains the example.
        var command: String?
    }

    static let slowestShown = 5
    static let failureGroupsShown = 5
    /// Up to this many mailboxes the per-mailbox table is printed without `--verbose`.
    static let mailboxTableLimit = 20

    var runID: Int64
    var direction: SnapshotDirection?
    var outcome: String
    var resumed = false
    var mailboxes: Int
    var mailboxesDone: Int
    var mailboxesFailed: Int
    var seconds: TimeInterval?
    var totals: ItemTally
    var byKind: [(kind: ItemKind, tally: ItemTally)]
    var stages: [StageFigure]
    var slowest: [MailboxTime]
    var failures: [FailureGroup]
    /// Groups of failures not shown (beyond ``failureGroupsShown``).
    var moreFailureGroups: Int
    var analyzes: Int

    init(
        runID: Int64, direction: SnapshotDirection?, outcome: String, resumed: Bool = false,
        stages records: [StageRecord],
        quarantine: [RunStore.QuarantineGroup] = [], events: [RunStore.Event] = [], now: Date = Date()
    ) {
        self.runID = runID
        self.direction = direction
        self.outcome = outcome
        self.resumed = resumed
        let byMailbox = Dictionary(grouping: records, by: \.mailbox)
        mailboxes = byMailbox.count
        mailboxesFailed = byMailbox.values.filter { $0.contains { $0.status == .failed } }.count
        mailboxesDone = byMailbox.values.filter { $0.allSatisfy { $0.status.isSettled } }.count
        seconds = RunReport.span(records, runningUntil: now)
        totals = records.reduce(ItemTally()) { $0 + $1.tally }
        byKind = ItemKind.allCases.compactMap { kind -> (kind: ItemKind, tally: ItemTally)? in
            let kindRecords = records.filter { $0.kind == kind }
            return kindRecords.isEmpty ? nil : (kind, kindRecords.reduce(ItemTally()) { $0 + $1.tally })
        }
        stages = SnapshotStage.allCases.compactMap { stage in
            let stageRecords = records.filter { $0.stage == stage }
            guard !stageRecords.isEmpty else { return nil }
            return StageFigure(
                stage: stage, items: stageRecords.reduce(0) { $0 + $1.items },
                seconds: stageRecords.reduce(0) { $0 + (RunReport.elapsed($1, now: now) ?? 0) })
        }
        slowest = Array(
            byMailbox.compactMap { mailbox, records in
                RunReport.span(records, runningUntil: now).map {
                    MailboxTime(mailbox: mailbox, seconds: $0, read: records.reduce(ItemTally()) { $0 + $1.tally }.read)
                }
            }.sorted { ($0.seconds, $1.mailbox) > ($1.seconds, $0.mailbox) }.prefix(Self.slowestShown))
        var failures: [FailureGroup] = quarantine.map { group in
            FailureGroup(
                kind: .quarantined, reason: group.code, count: group.count,
                example: "\(group.mailbox) \(group.kind.rawValue)" + (group.itemID.map { " item \($0)" } ?? "")
                    + ": " + RunReport.shortened(group.reason, to: 80),
                command: "snapsync runs show \(runID) --mailbox \(group.mailbox)")
        }
        let failedStages = records.filter { $0.status == .failed }
        for (reason, group) in Dictionary(grouping: failedStages, by: { RunReport.errorKind($0.error ?? "failed") }) {
            let first = group.min { ($0.mailbox, $0.kind.rawValue) < ($1.mailbox, $1.kind.rawValue) }!
            failures.append(
                FailureGroup(
                    kind: .stageFailed, reason: reason, count: Int64(group.count),
                    example: "\(first.mailbox) \(first.kind.rawValue) \(first.stage.rawValue)",
                    command: "snapsync rerun \(runID) --stage \(first.stage.rawValue) --mailbox \(first.mailbox)"
                        + (Set(group.map(\.kind)).count == 1 && byKind.count > 1
                            ? " --kind \(first.kind.rawValue)" : "")))
        }
        // What the run log says beyond ANALYZEs and the stage failures above (a mass deletion refused is such a failure).
        let notes = events.filter { !["analyze", "mass-delete-refused"].contains($0.event) }
        for (event, group) in Dictionary(grouping: notes, by: \.event) {
            let first = group[0]
            failures.append(
                FailureGroup(
                    kind: .event(event), reason: event, count: Int64(group.count),
                    example: "\(first.mailbox ?? "-") \(first.stage ?? "-"): "
                        + RunReport.shortened(first.message, to: 100),
                    command: nil))
        }
        failures.sort { ($0.count, $1.reason) > ($1.count, $0.reason) }
        moreFailureGroups = max(failures.count - Self.failureGroupsShown, 0)
        self.failures = Array(failures.prefix(Self.failureGroupsShown))
        analyzes = events.filter { $0.event == "analyze" }.count
    }

    /// Whether the per-mailbox table goes above the summary.
    func showsMailboxTable(verbose: Bool) -> Bool { verbose || mailboxes <= Self.mailboxTableLimit }

    /// The commands to run next: the resume when a window ended or the run is unfinished, a rerun for each of the first two failed stage
    /// reasons, the details of the largest quarantine reason's mailbox, and the run's report.
    var nextCommands: [String] {
        // A window ended (the run's outcome), or the run is unfinished (its stored status, in `runs show`).
        var commands = outcome == "window_ended" || outcome == "running" ? ["snapsync resume \(runID)"] : []
        commands += failures.compactMap { $0.kind == .stageFailed ? $0.command : nil }.prefix(2)
        if let quarantined = failures.first(where: { $0.kind == .quarantined }), let command = quarantined.command {
            commands.append(command)
        }
        commands.append("snapsync runs show \(runID) --html run-\(runID).html")
        var seen = Set<String>()
        return commands.filter { seen.insert($0).inserted }
    }

    /// The summary's lines (no trailing newline), at most about 35 whatever the number of mailboxes and failures.
    func lines() -> [String] {
        var lines: [String] = []
        var head = "run \(runID)\(resumed ? " (resumed)" : ""): \(outcome), "
        if let direction { head += "\(direction.rawValue), " }
        head +=
            "\(mailboxes) mailbox\(mailboxes == 1 ? "" : "es") (\(mailboxesDone) done"
            + (mailboxesFailed > 0 ? ", \(mailboxesFailed) failed" : "")
            + (mailboxes - mailboxesDone - mailboxesFailed > 0
                ? ", \(mailboxes - mailboxesDone - mailboxesFailed) unfinished" : "") + ")"
        if let seconds { head += " in " + RunReport.duration(seconds) }
        lines.append(head)
        let columns = ItemTally().named.map { $0.name }
        var table = [["items"] + columns]
        for (kind, tally) in byKind { table.append([kind.rawValue] + tally.named.map { "\($0.count)" }) }
        if byKind.count != 1 { table.append(["total"] + totals.named.map { "\($0.count)" }) }
        lines += Self.aligned(table)
        if !stages.isEmpty {
            var rows = [["stage", "items", "time", "items/s"]]
            for figure in stages {
                rows.append([
                    figure.stage.rawValue, "\(figure.items)", RunReport.duration(figure.seconds),
                    figure.rate.map { String(format: "%.1f", $0) } ?? "-",
                ])
            }
            lines += Self.aligned(rows)
            lines.append("  (time: summed over the mailboxes; items/s: per worker)")
        }
        if slowest.count > 1 {
            lines.append("slowest mailboxes:")
            lines += Self.aligned(
                slowest.map { [$0.mailbox, RunReport.duration($0.seconds), "\($0.read) items read"] })
        }
        if !failures.isEmpty {
            lines.append("failures:")
            for failure in failures {
                let what =
                    switch failure.kind {
                    case .quarantined: "item\(failure.count == 1 ? "" : "s") quarantined"
                    case .stageFailed: "stage\(failure.count == 1 ? "" : "s") failed"
                    case .event: "event\(failure.count == 1 ? "" : "s")"
                    }
                lines.append("  \(failure.count) \(what): \(failure.reason)")
                lines.append("    e.g. \(failure.example)")
            }
            if moreFailureGroups > 0 {
                lines.append(
                    "  and \(moreFailureGroups) more reason\(moreFailureGroups == 1 ? "" : "s"): snapsync runs show \(runID)"
                )
            }
        }
        if analyzes > 0 { lines.append("\(analyzes) ANALYZE(s) between stages") }
        lines.append("next:")
        lines += nextCommands.map { "  " + $0 }
        return lines.map { LogRedaction.scrub($0) }
    }

    /// Rows of cells as lines: the first column left-aligned, the others right-aligned, two spaces of indent.
    static func aligned(_ rows: [[String]]) -> [String] {
        guard let count = rows.map(\.count).max() else { return [] }
        let widths = (0..<count).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line =
                "  "
                + row.enumerated().map { column, cell in
                    let pad = String(repeating: " ", count: widths[column] - cell.count)
                    return column == 0 ? cell + pad : pad + cell
                }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }
}

extension StageRecord {
    /// This stage's figures, each item counted once over the run (``ItemTally``).
    var tally: ItemTally {
        ItemTally(stage: stage, items: items, created: created, updated: updated, deleted: deleted, failed: failed)
    }
}

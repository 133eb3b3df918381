import Foundation
import Pipeline
import SyncCore
@testable import SyncStore
@testable import snapsync
import Testing

/// The end of a run: one screen whatever the number of mailboxes, each item counted once, failures grouped by reason,
/// and the commands to run next.
@Suite struct RunSummaryTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    func stage(
        _ mailbox: String, _ kind: ItemKind, _ stage: SnapshotStage, _ status: StageStatus = .done,
        items: Int64 = 0, created: Int64 = 0, updated: Int64 = 0, deleted: Int64 = 0, failed: Int64 = 0,
        from start: Double = 0, to end: Double = 1, error: String? = nil
    ) -> StageRecord {
        StageRecord(
            mailbox: mailbox, kind: kind, stage: stage, status: status, cursor: nil, items: items, created: created,
            updated: updated, deleted: deleted, failed: failed, total: nil, attempts: 1, error: error,
            startedAt: t0.addingTimeInterval(start), finishedAt: t0.addingTimeInterval(end))
    }

    /// An inbound mailbox folder of 600 items: 500 created while paged, 100 staged, of which the merge updated 30 and
    /// left 68 as they were, 2 copies quarantined by the match; 5 CRM rows deleted by the reconcile.
    func inboundFolder(_ mailbox: String, _ kind: ItemKind = .tasks, seconds: Double = 10) -> [StageRecord] {
        [
            stage(mailbox, kind, .baseline, items: 600, from: 0, to: 1),
            stage(mailbox, kind, .extract, items: 600, created: 500, from: 1, to: seconds - 3),
            stage(mailbox, kind, .match, items: 100, failed: 2, from: seconds - 3, to: seconds - 2),
            stage(mailbox, kind, .merge, items: 98, created: 0, updated: 30, from: seconds - 2, to: seconds - 1),
            stage(mailbox, kind, .reconcile, items: 5, deleted: 5, from: seconds - 1, to: seconds),
            stage(mailbox, kind, .finalize, from: seconds, to: seconds),
        ]
    }

    @Test func anItemIsCountedOnceWhateverTheStagesItPasses() {
        let tally = inboundFolder("a@example.com").reduce(ItemTally()) { $0 + $1.tally }
        #expect(tally == ItemTally(read: 600, created: 500, updated: 30, deleted: 5, unchanged: 68, quarantined: 2))
        // Outbound: the push reads 200 CRM rows, creates 10, updates 20, quarantines 1; the rest is unchanged.
        let push = stage("a@example.com", .tasks, .push, items: 200, created: 10, updated: 20, failed: 1).tally
        #expect(push == ItemTally(read: 200, created: 10, updated: 20, unchanged: 169, quarantined: 1))
        #expect(push.written == 30)
        #expect(
            stage("a@example.com", .tasks, .delete, items: 4, deleted: 3, failed: 1).tally
                == ItemTally(deleted: 3, quarantined: 1))
    }

    @Test func aThousandMailboxesFitOnAScreen() {
        var stages: [StageRecord] = []
        for index in 0..<1000 {
            let mailbox = String(format: "user%04d@example.com", index)
            stages += inboundFolder(mailbox, .appointments, seconds: Double(10 + index % 97))
            stages += inboundFolder(mailbox, .tasks)
        }
        stages[16] = stage(
            "user0001@example.com", .appointments, .reconcile, .failed, from: 5, to: 6,
            error: "mass delete refused: Exchange returned 3 appointments for 600 linked CRM rows")
        let quarantine = [
            RunStore.QuarantineGroup(
                code: "ErrorCorruptData", count: 3000, mailbox: "user0000@example.com", kind: .tasks,
                itemID: "AAMk1", reason: "the item cannot be read"),
            RunStore.QuarantineGroup(
                code: "invalidRecurrence", count: 1000, mailbox: "user0002@example.com", kind: .appointments,
                itemID: "AAMk2", reason: "RRULE FREQ=SECONDLY is not supported"),
        ]
        let summary = RunSummary(
            runID: 7, direction: .inbound, outcome: "completed_with_errors", stages: stages,
            quarantine: quarantine, events: [], now: t0.addingTimeInterval(200))
        let lines = summary.lines()
        #expect(lines.count <= 40, "\(lines.joined(separator: "\n"))")
        #expect(!summary.showsMailboxTable(verbose: false))
        #expect(summary.showsMailboxTable(verbose: true))
        #expect(lines[0] == "run 7: completed_with_errors, inbound, 1000 mailboxes (999 done, 1 failed) in 1 min 46 s")
        #expect(
            summary.totals
                == ItemTally(
                    read: 1_200_000, created: 1_000_000, updated: 60_000, deleted: 9_995, unchanged: 136_000,
                    quarantined: 4_000))
        #expect(lines.contains { $0.hasPrefix("  total") && $0.contains("1200000") })
        // The five slowest mailboxes, slowest first: 106 s for the mailboxes with index % 97 == 96, in address order.
        #expect(
            summary.slowest.map(\.mailbox) == [
                "user0096@example.com", "user0193@example.com", "user0290@example.com",
                "user0387@example.com", "user0484@example.com",
            ])
        #expect(lines.contains("  user0096@example.com  1 min 46 s  1200 items read"))
        #expect(summary.failures.map(\.reason) == ["ErrorCorruptData", "invalidRecurrence", "mass delete refused"])
        #expect(lines.contains("  3000 items quarantined: ErrorCorruptData"))
        #expect(lines.contains("    e.g. user0000@example.com tasks item AAMk1: the item cannot be read"))
        #expect(lines.contains("  1 stage failed: mass delete refused"))
        #expect(
            summary.nextCommands == [
                "snapsync rerun 7 --stage reconcile --mailbox user0001@example.com --kind appointments",
                "snapsync runs show 7 --mailbox user0000@example.com",
                "snapsync runs show 7 --html run-7.html",
            ])
        #expect(lines.suffix(3) == summary.nextCommands.map { "  " + $0 })
    }

    @Test func perStageTimeIsSummedOverMailboxesWithItsRate() {
        let stages = inboundFolder("a@example.com") + inboundFolder("b@example.com")
        let summary = RunSummary(runID: 1, direction: .inbound, outcome: "completed", stages: stages, now: t0)
        let extract = summary.stages.first { $0.stage == .extract }
        #expect(extract?.items == 1200)
        #expect(extract?.seconds == 12)  // 6 s in each mailbox
        #expect(extract?.rate == 100)
        #expect(summary.failures.isEmpty)
        #expect(summary.nextCommands == ["snapsync runs show 1 --html run-1.html"])
        #expect(summary.showsMailboxTable(verbose: false))  // 2 mailboxes: the table goes above the summary
    }

    @Test func manyFailureReasonsAreCappedAndAWindowEndSuggestsTheResume() {
        var stages: [StageRecord] = []
        for index in 0..<8 {
            stages.append(stage("m\(index)@example.com", .tasks, .extract, .failed, error: "reason \(index): detail"))
        }
        stages.append(stage("z@example.com", .tasks, .merge, .pending))
        let summary = RunSummary(
            runID: 3, direction: .inbound, outcome: "window_ended", stages: stages,
            events: [
                RunStore.Event(
                    at: t0, mailbox: "z@example.com", stage: "extract", event: "interrupted",
                    message: "Exchange: ErrorServerBusy")
            ], now: t0)
        #expect(summary.failures.count == RunSummary.failureGroupsShown)
        #expect(summary.moreFailureGroups == 4)
        #expect(summary.lines().contains("  and 4 more reasons: snapsync runs show 3"))
        #expect(summary.nextCommands.first == "snapsync resume 3")
        #expect(summary.nextCommands.count == 4)  // the resume, two reruns, the report
        #expect(summary.lines()[0].contains("(0 done, 8 failed, 1 unfinished)"))
    }

    @Test func aRunWhoseEveryMailboxExchangeRefusedExitsAsAConfigurationError() {
        let refused = "configuration error: Exchange refuses mailbox b@example.com: ErrorAccessDenied: ..."
        let refusedStages = [
            stage("b@example.com", .contacts, .extract, .failed, error: refused),
            stage("b@example.com", .tasks, .extract, .failed, error: refused),
        ]
        #expect(RunReport.exitCode(.completedWithErrors, stages: refusedStages) == 78)
        #expect(
            RunReport.exitCode(
                .completedWithErrors, stages: refusedStages + [stage("a@example.com", .contacts, .extract)]) == 4,
            "another mailbox ran: the run completed with errors")
        #expect(
            RunReport.exitCode(
                .completedWithErrors,
                stages: [stage("a@example.com", .contacts, .extract, .failed, error: "EWS FindItem: timeout")]) == 4)
        #expect(RunReport.exitCode(.completed, stages: []) == 0)
        #expect(RunReport.exitCode(.windowEnded, stages: refusedStages) == 3)
    }
}

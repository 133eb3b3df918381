import Foundation
import Testing
@testable import SyncCore

@Suite struct AnalyzePolicyTests {
    let policy = AnalyzePolicy(threshold: 0.10, minimumChangedRows: 500)

    @Test func neverAnalyzedTableWithABulkLoadIsAnalyzed() {
        #expect(policy.shouldAnalyze(TableActivity(table: "crm.appointments", rowsAtAnalyze: -1, changedSince: 20_000)))
    }

    @Test func changesAboveTheThresholdTriggerAndBelowDoNot() {
        #expect(policy.shouldAnalyze(TableActivity(table: "t", rowsAtAnalyze: 100_000, changedSince: 10_001)))
        #expect(!policy.shouldAnalyze(TableActivity(table: "t", rowsAtAnalyze: 100_000, changedSince: 9_999)))
    }

    @Test func tinyChangesNeverTrigger() {
        #expect(!policy.shouldAnalyze(TableActivity(table: "t", rowsAtAnalyze: -1, changedSince: 10)))
        #expect(
            policy.tablesToAnalyze([
                TableActivity(table: "a", rowsAtAnalyze: 0, changedSince: 600),
                TableActivity(table: "b", rowsAtAnalyze: 1_000_000, changedSince: 600),
            ]) == ["a"])
    }
}

@Suite struct MassDeleteGuardTests {
    @Test func refusesWhenFewerThanHalfTheLinkedItemsArePresent() {
        let guardrail = MassDeleteGuard()
        #expect(
            guardrail.decide(linked: 100, present: 40, wouldDelete: 60, allowMassDelete: false)
                == .refuse(linked: 100, present: 40, wouldDelete: 60))
        #expect(guardrail.decide(linked: 100, present: 40, wouldDelete: 60, allowMassDelete: true) == .proceed)
        #expect(guardrail.decide(linked: 100, present: 60, wouldDelete: 40, allowMassDelete: false) == .proceed)
        #expect(guardrail.decide(linked: 4, present: 0, wouldDelete: 4, allowMassDelete: false) == .proceed)
    }
}

@Suite struct OutboundPlannerTests {
    let task = CRMTask(id: UUID(), ownerID: UUID(), subject: "s", updatedAt: Date(timeIntervalSince1970: 0), version: 3)

    @Test func unlinkedRowsAreCreatedChangedRowsUpdatedAndSyncedRowsLeftAlone() {
        let record = MailboxRecord.task(task)
        #expect(
            OutboundPlanner.action(for: OutboundCandidate(record: record, version: 3, link: nil)) == .create(record))
        let link = OutboundCandidate.Link(itemID: "AAA", changeKey: "CK", syncedVersion: 2)
        #expect(
            OutboundPlanner.action(for: OutboundCandidate(record: record, version: 3, link: link))
                == .update(MailboxItemRef(id: "AAA", changeKey: "CK"), record))
        let synced = OutboundCandidate.Link(itemID: "AAA", changeKey: "CK", syncedVersion: 3)
        #expect(OutboundPlanner.action(for: OutboundCandidate(record: record, version: 3, link: synced)) == .none)
        #expect(
            OutboundPlanner.action(for: OutboundCandidate(record: record, version: 3, link: synced), force: true)
                == .update(MailboxItemRef(id: "AAA", changeKey: "CK"), record))
    }
}

@Suite struct RunWindowTests {
    let utc = TimeZone(identifier: "UTC")!
    let now = Date(timeIntervalSince1970: 1_764_072_000)  // 2025-11-25 12:00:00 UTC

    @Test func untilIsTheNextWallClockTime() throws {
        #expect(
            try RunWindow.parse(until: "13:30", maxDuration: nil, now: now, timeZone: utc).deadline
                == now.addingTimeInterval(5400))
        #expect(
            try RunWindow.parse(until: "06:00", maxDuration: nil, now: now, timeZone: utc).deadline
                == now.addingTimeInterval(18 * 3600))
    }

    @Test func maxDurationAndTheEarlierDeadlineWins() throws {
        #expect(try RunWindow.seconds(of: "1h30m") == 5400)
        #expect(try RunWindow.seconds(of: "45s") == 45)
        #expect(
            try RunWindow.parse(until: "13:30", maxDuration: "2h", now: now, timeZone: utc).deadline
                == now.addingTimeInterval(5400))
        #expect(throws: RunWindow.ParseError.self) { try RunWindow.parse(until: "25:00", maxDuration: nil, now: now) }
        #expect(throws: RunWindow.ParseError.self) { try RunWindow.seconds(of: "2x") }
    }
}

@Suite struct DateRangeTests {
    @Test func aSeriesIsInWhenItsRangeOverlaps() throws {
        let day: TimeInterval = 86_400
        let from = Date(timeIntervalSince1970: 100 * day), to = Date(timeIntervalSince1970: 110 * day)
        let range = SnapshotDateRange(from: from, to: to)
        let rule = try RecurrenceRule(rrule: "FREQ=WEEKLY;COUNT=10")
        let seriesStart = Date(timeIntervalSince1970: 50 * day)
        #expect(range.overlaps(start: seriesStart, end: rule.latestEnd(seriesStart: seriesStart, duration: 3600)))
        let short = try RecurrenceRule(rrule: "FREQ=DAILY;COUNT=3")
        #expect(!range.overlaps(start: seriesStart, end: short.latestEnd(seriesStart: seriesStart, duration: 3600)))
        #expect(range.overlaps(start: seriesStart, end: nil))
        #expect(!range.overlaps(start: to, end: nil))
    }
}

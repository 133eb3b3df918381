import Foundation
import Pipeline
import PipelineFakes
import SyncCore
import SyncStore
import Testing

/// The stages of a snapshot, in memory: no PostgreSQL, no HTTP.
@Suite struct SnapshotStageLoopTests {
    @Test func anInboundSnapshotCarriesEveryItemIntoTheCRMAndEndsEveryStage() async throws {
        var fixture = PipelineFixture()
        fixture.appointmentsInExchange(3)
        fixture.tasksInExchange(2)
        let result = try await fixture.runner.run(fixture.options(.inbound, [.appointments, .tasks]))
        #expect(result.outcome == .completed)
        #expect(fixture.crmSubjects(.appointments) == fixture.exchangeSubjects(.appointments))
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
        #expect(fixture.store.links(of: fixture.owner, kind: .appointments).count == 3)
        let stages = try await fixture.store.stages(runID: result.runID, mailbox: nil)
        #expect(stages.count == 2 * SnapshotStage.stages(for: .inbound).count)
        #expect(stages.allSatisfy { $0.status == .done }, "\(stages.map { "\($0.stage) \($0.status)" })")
        // finalize keeps the baseline's sync state for live sync
        #expect(try await fixture.store.folderState(mailbox: fixture.owner.smtpAddress, kind: .tasks).state != nil)
    }

    @Test func anInboundSnapshotMatchesAndMergesTheItemsCRMRowsClaim() async throws {
        var fixture = PipelineFixture()
        try await fixture.syncedTasksEditedInExchange(5)
        let result = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        #expect(result.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
        #expect(fixture.crmSubjects(.tasks).allSatisfy { $0.hasSuffix(" (edited)") })
        let merge = try #require(
            try await fixture.store.stages(runID: result.runID, mailbox: nil).first { $0.stage == .merge })
        #expect(merge.updated == 5 && merge.created == 0)
    }

    @Test func anOutboundSnapshotCreatesEachCRMRowOnceAndARerunChangesNothing() async throws {
        var fixture = PipelineFixture()
        let tasks = fixture.tasksInCRM(5)
        let first = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        #expect(first.outcome == .completed)
        #expect(fixture.exchangeSubjects(.tasks) == tasks.map(\.subject).sorted())
        #expect(
            Set(fixture.source.items(in: fixture.owner.smtpAddress, kind: .tasks).compactMap(\.stamp))
                == Set(tasks.map(\.id)))
        #expect(fixture.store.links(of: fixture.owner, kind: .tasks).count == 5)

        let creates = fixture.source.callCount(.create), updates = fixture.source.callCount(.update)
        let second = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        #expect(second.outcome == .completed)
        #expect(second.runID != first.runID)
        #expect(fixture.source.callCount(.create) == creates)
        #expect(fixture.source.callCount(.update) == updates)
    }

    @Test func anOutboundSnapshotDeletesTheItemsOfRowsThatLeftTheMailbox() async throws {
        var fixture = PipelineFixture()
        let tasks = fixture.tasksInCRM(3)
        _ = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        fixture.store.update { $0.rows[.tasks]?[tasks[0].id] = nil }
        let result = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        #expect(result.outcome == .completed)
        #expect(fixture.exchangeSubjects(.tasks) == tasks.dropFirst().map(\.subject).sorted())
        #expect(fixture.store.links(of: fixture.owner, kind: .tasks).count == 2)
    }

    @Test func anUnreadableItemIsQuarantinedAndTheRunGoesOn() async throws {
        var fixture = PipelineFixture()
        let refs = fixture.tasksInExchange(3)
        fixture.source.makeUnreadable([refs[1].id])
        let result = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        #expect(result.outcome == .completedWithErrors)
        #expect(fixture.crmSubjects(.tasks).count == 2)
        let quarantined = fixture.store.state.quarantine
        #expect(quarantined.map(\.item.itemID) == [refs[1].id])
        #expect(quarantined.map(\.direction) == [.inbound])
    }

    @Test func onlyTheItemsInTheDateRangeReachTheCRM() async throws {
        var fixture = PipelineFixture()
        let start = SampleRecords.epoch
        fixture.appointmentsInExchange(5, start: start)
        // days 1 and 2 of 0...4
        let range = SnapshotDateRange(
            from: start.addingTimeInterval(86_400 - 60), to: start.addingTimeInterval(2 * 86_400 + 60))
        let result = try await fixture.runner.run(fixture.options(.inbound, [.appointments], range: range))
        #expect(result.outcome == .completed)
        let inRange = fixture.source.items(in: fixture.owner.smtpAddress, kind: .appointments).dropFirst().prefix(2)
        #expect(fixture.crmSubjects(.appointments) == inRange.map(\.record.subject).sorted())
    }

    @Test func aWindowThatEndedLeavesTheRunToResume() async throws {
        var fixture = PipelineFixture()
        fixture.tasksInExchange(3)
        var options = fixture.options(.inbound, [.tasks])
        options.window = RunWindow(deadline: Date().addingTimeInterval(-1))
        let stopped = try await fixture.runner.run(options)
        #expect(stopped.outcome == .windowEnded)
        #expect(fixture.crmSubjects(.tasks).isEmpty)
        #expect(fixture.store.state.events.contains { $0.event == "window" })

        let resumed = try await fixture.runner.resume(runID: nil, options: fixture.options(.inbound, [.tasks]))
        #expect(resumed.runID == stopped.runID)
        #expect(resumed.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
    }

    @Test func anOutageStopsTheRunAtItsLastCommittedBatchAndAResumeFinishesIt() async throws {
        var fixture = PipelineFixture()
        fixture.tasksInExchange(6)
        fixture.source.fail(.items, call: 2)
        await #expect(throws: PipelineError.self) { try await fixture.runner.run(fixture.options(.inbound, [.tasks])) }
        #expect(fixture.crmSubjects(.tasks).count == 2)  // the first page
        let run = try #require(try await fixture.store.latestUnfinishedRun())
        let resumed = try await fixture.runner.resume(runID: run.id, options: fixture.options(.inbound, [.tasks]))
        #expect(resumed.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
    }
}

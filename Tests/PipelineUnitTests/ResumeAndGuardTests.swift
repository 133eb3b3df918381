import Foundation
import Pipeline
import PipelineFakes
import SyncCore
import SyncStore
import Testing

/// A process killed in the middle of any stage leaves a run that a resume finishes with nothing lost or doubled;
/// the mass-delete guard.
@Suite struct ResumeAndGuardTests {
    static let inboundCrashes: [InMemorySyncStore.CrashPoint] = [
        .init(.baseline), .init(.extract), .init(.extract, batch: 2), .init(.match), .init(.merge), .init(.reconcile),
        .init(.finalize),
    ]

    @Test(arguments: inboundCrashes)
    func anInboundSnapshotKilledInAnyStageIsResumedWithNothingLostOrDoubled(
        crash: InMemorySyncStore.CrashPoint
    ) async throws {
        var fixture = PipelineFixture()
        // Linked rows whose items changed: every item is staged, so that match and merge have work.
        try await fixture.syncedTasksEditedInExchange(5)
        let options = fixture.options(.inbound, [.tasks])
        fixture.store.crash(at: crash)
        _ = try? await fixture.runner.run(options)
        #expect(fixture.store.crashed)
        fixture.store.restart()

        let run = try #require(try await fixture.store.latestUnfinishedRun())
        let resumed = try await fixture.runner.resume(runID: run.id, options: options)
        #expect(resumed.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
        #expect(fixture.crmSubjects(.tasks).allSatisfy { $0.hasSuffix(" (edited)") })
        #expect(fixture.store.links(of: fixture.owner, kind: .tasks).count == 5)
        #expect(try await fixture.store.folderState(mailbox: fixture.owner.smtpAddress, kind: .tasks).state != nil)
    }

    static let outboundCrashes: [InMemorySyncStore.CrashPoint] = [.init(.push), .init(.push, batch: 2), .init(.delete)]

    @Test(arguments: outboundCrashes)
    func anOutboundSnapshotKilledInAnyStageIsResumedWithNothingLostOrDoubled(
        crash: InMemorySyncStore.CrashPoint
    ) async throws {
        var fixture = PipelineFixture()
        // An earlier snapshot linked a row deleted since, so that the delete stage has an item to delete.
        let gone = fixture.tasksInCRM(1)[0]
        _ = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        fixture.store.update { $0.rows[.tasks]?[gone.id] = nil }
        let tasks = fixture.tasksInCRM(5)

        fixture.store.crash(at: crash)
        _ = try? await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        #expect(fixture.store.crashed)
        fixture.store.restart()

        let run = try #require(try await fixture.store.latestUnfinishedRun())
        let resumed = try await fixture.runner.resume(runID: run.id, options: fixture.options(.outbound, [.tasks]))
        #expect(resumed.outcome == .completed)
        let items = fixture.source.items(in: fixture.owner.smtpAddress, kind: .tasks)
        #expect(
            items.compactMap(\.stamp).sorted { $0.uuidString < $1.uuidString }
                == tasks.map(\.id).sorted { $0.uuidString < $1.uuidString })
        #expect(fixture.store.links(of: fixture.owner, kind: .tasks).count == 5)
        #expect(fixture.store.state.intents.isEmpty)
    }

    @Test func aFullSnapshotFromExchangeKilledInItsCleanStageIsResumed() async throws {
        var fixture = PipelineFixture()
        fixture.tasksInCRM(3)  // not in Exchange: the clean removes them
        fixture.tasksInExchange(4)
        fixture.store.crash(at: .init(.cleanCRM))
        _ = try? await fixture.runner.run(fixture.options(.fullFromExchange, [.tasks]))
        #expect(fixture.store.crashed)
        fixture.store.restart()

        let resumed = try await fixture.runner.resume(runID: nil, options: fixture.options(.fullFromExchange, [.tasks]))
        #expect(resumed.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
        #expect(fixture.crmSubjects(.tasks).count == 4)
    }

    @Test(arguments: [1, 2, 3])
    func aFullSnapshotFromTheCRMKilledInItsCleanStageIsResumed(batch: Int) async throws {
        var fixture = PipelineFixture()
        fixture.tasksInExchange(3)  // not in the CRM: the clean removes them
        let tasks = fixture.tasksInCRM(4)
        fixture.store.crash(at: .init(.cleanExchange, batch: batch))
        _ = try? await fixture.runner.run(fixture.options(.fullFromCRM, [.tasks]))
        #expect(fixture.store.crashed)
        fixture.store.restart()

        let resumed = try await fixture.runner.resume(runID: nil, options: fixture.options(.fullFromCRM, [.tasks]))
        #expect(resumed.outcome == .completed)
        let items = fixture.source.items(in: fixture.owner.smtpAddress, kind: .tasks)
        #expect(
            items.compactMap(\.stamp).sorted { $0.uuidString < $1.uuidString }
                == tasks.map(\.id).sorted { $0.uuidString < $1.uuidString })
        #expect(items.count == 4)
    }

    @Test func aReconcileThatWouldDeleteMostLinkedRowsIsRefusedUntilApproved() async throws {
        var fixture = PipelineFixture()
        let refs = fixture.tasksInExchange(12)
        _ = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        #expect(fixture.crmSubjects(.tasks).count == 12)
        for ref in refs.prefix(10) { fixture.source.remove(ref.id, from: fixture.owner.smtpAddress, kind: .tasks) }

        let refused = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        #expect(refused.outcome == .completedWithErrors)
        #expect(fixture.crmSubjects(.tasks).count == 12, "nothing deleted")
        let message = try #require(fixture.store.state.events.first { $0.event == "mass-delete-refused" }?.message)
        #expect(
            message.contains(
                "snapsync rerun \(refused.runID) --stage reconcile --mailbox \(fixture.owner.smtpAddress) --kind tasks --allow-mass-delete"
            ))

        var approval = fixture.options(.inbound, [.tasks])
        approval.request.requestedBy = "admin"
        let approved = try await fixture.runner.rerun(
            runID: refused.runID, stage: .reconcile, mailbox: fixture.owner.smtpAddress,
            allowMassDelete: true, options: approval)
        #expect(approved.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
        #expect(fixture.crmSubjects(.tasks).count == 2)
    }

    @Test func aFewDeletionsPassTheGuard() async throws {
        var fixture = PipelineFixture()
        let refs = fixture.tasksInExchange(12)
        _ = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        fixture.source.remove(refs[0].id, from: fixture.owner.smtpAddress, kind: .tasks)
        let result = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        #expect(result.outcome == .completed)
        #expect(fixture.crmSubjects(.tasks) == fixture.exchangeSubjects(.tasks))
    }

    @Test func anApprovalNeedsTheMailboxItApproves() async throws {
        let fixture = PipelineFixture()
        await #expect(throws: PipelineError.self) {
            try await fixture.runner.rerun(
                runID: 1, stage: .reconcile, mailbox: nil, allowMassDelete: true,
                options: fixture.options(.inbound, [.tasks]))
        }
    }
}

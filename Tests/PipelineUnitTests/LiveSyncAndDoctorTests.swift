import Foundation
import Pipeline
import PipelineFakes
import SyncCore
import SyncStore
import Testing

/// Live sync's conflict resolution and the doctor's plans, in memory.
@Suite struct LiveSyncAndDoctorTests {
    /// A task synced by an inbound snapshot, then changed on both sides: in the CRM (a new version) and in Exchange.
    func bothSidesChanged() async throws -> (PipelineFixture, crmID: UUID) {
        var fixture = PipelineFixture()
        let ref = fixture.tasksInExchange(1)[0]
        _ = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        guard case .task(var task) = try #require(fixture.store.rows(.tasks, of: fixture.owner).first) else {
            throw Unexpected()
        }
        task.subject = "changed in the CRM"
        task.version += 1
        task.updatedAt = Date().addingTimeInterval(-3_600)
        fixture.store.put(.task(task))
        fixture.source.edit(ref.id, in: fixture.owner.smtpAddress, kind: .tasks, modified: Date()) { record in
            if case .task(var exchange) = record {
                exchange.subject = "changed in Exchange"
                record = .task(exchange)
            }
        }
        return (fixture, task.id)
    }

    struct Unexpected: Error {}

    func pass(_ fixture: PipelineFixture, _ policy: ConflictPolicy) async throws -> LiveSyncReport {
        var options = LiveSyncOptions()
        options.conflictPolicies = [.tasks: policy]
        return try await LiveSync(source: fixture.source, logger: fixture.logger, options: options).runOnce(
            store: fixture.store)
    }

    @Test func whenTheCRMWinsItsRowStaysAndIsQueuedForExchange() async throws {
        let (fixture, crmID) = try await bothSidesChanged()
        let report = try await pass(fixture, .crmWins)
        #expect(report.conflicts == 1)
        #expect(fixture.crmSubjects(.tasks) == ["changed in the CRM"])
        #expect(fixture.store.state.outbox.map(\.crmID) == [crmID])
        #expect(fixture.store.state.conflicts.map(\.winner) == ["crm"])
    }

    @Test func whenExchangeWinsItsChangeReachesTheCRM() async throws {
        let (fixture, _) = try await bothSidesChanged()
        let report = try await pass(fixture, .exchangeWins)
        #expect(report.conflicts == 1)
        #expect(report.pulled == 1)
        #expect(fixture.crmSubjects(.tasks) == ["changed in Exchange"])
        #expect(fixture.store.state.outbox.isEmpty)
        #expect(fixture.store.state.conflicts.map(\.winner) == ["exchange"])
    }

    @Test func theNewestChangeWinsByDefault() async throws {
        let (fixture, _) = try await bothSidesChanged()  // Exchange changed after the CRM
        _ = try await pass(fixture, .newestWins)
        #expect(fixture.crmSubjects(.tasks) == ["changed in Exchange"])
    }

    /// The usual case: the CRM's change is queued (by its triggers) while the item changed in Exchange too. Delivering
    /// it must not overwrite Exchange's change unseen: the pass resolves the conflict by the policy and records it.
    @Test func aQueuedCRMChangeDoesNotOverwriteANewerExchangeChange() async throws {
        let (fixture, crmID) = try await bothSidesChanged()  // Exchange changed after the CRM
        fixture.store.enqueue(.tasks, [crmID])
        let report = try await pass(fixture, .newestWins)
        #expect(report.conflicts == 1)
        #expect(fixture.crmSubjects(.tasks) == ["changed in Exchange"])
        #expect(fixture.exchangeSubjects(.tasks) == ["changed in Exchange"])
        #expect(fixture.store.state.conflicts.map(\.winner) == ["exchange"])
        // The next passes have nothing left to resolve or to write.
        _ = try await pass(fixture, .newestWins)
        let last = try await pass(fixture, .newestWins)
        #expect(last.conflicts == 0)
        #expect(fixture.exchangeSubjects(.tasks) == ["changed in Exchange"])
        #expect(fixture.store.state.conflicts.count == 1)
    }

    @Test func aQueuedCRMChangeThatWinsItsConflictReachesExchange() async throws {
        let (fixture, crmID) = try await bothSidesChanged()
        fixture.store.enqueue(.tasks, [crmID])
        let report = try await pass(fixture, .crmWins)
        #expect(report.conflicts == 1)
        #expect(fixture.store.state.conflicts.map(\.winner) == ["crm"])
        // Delivered once the conflict is recorded: in the same pass's retry or the next pass, not overwritten unseen.
        _ = try await pass(fixture, .crmWins)
        #expect(fixture.crmSubjects(.tasks) == ["changed in the CRM"])
        #expect(fixture.exchangeSubjects(.tasks) == ["changed in the CRM"])
        #expect(fixture.store.state.outbox.isEmpty)
        #expect(fixture.store.state.conflicts.count == 1)
    }

    @Test func aSyncStateExchangeRejectsMarksTheFolderForASnapshot() async throws {
        var fixture = PipelineFixture()
        fixture.tasksInExchange(1)
        _ = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        fixture.source.restoreFromBackup()
        let report = try await LiveSync(source: fixture.source, logger: fixture.logger).runOnce(store: fixture.store)
        #expect(report.foldersNeedingSnapshot.contains("\(fixture.owner.smtpAddress) tasks"))
        #expect(try await fixture.store.folderState(mailbox: fixture.owner.smtpAddress, kind: .tasks).needsSnapshot)
    }

    @Test func nothingIsDoneWhileSyncIsSwitchedOff() async throws {
        let (fixture, _) = try await bothSidesChanged()
        try await fixture.store.setSyncEnabled(false, mailbox: nil, actor: "test", note: nil)
        let changes = fixture.source.callCount(.changes)
        let report = try await pass(fixture, .exchangeWins)
        #expect(report.delivered == 0 && report.pulled == 0 && report.conflicts == 0)
        #expect(fixture.source.callCount(.changes) == changes)
        #expect(fixture.crmSubjects(.tasks) == ["changed in the CRM"])
    }

    @Test func theDoctorPrescribesAnInboundSnapshotWhenExchangeRejectsTheStoredSyncState() async throws {
        var fixture = PipelineFixture()
        fixture.tasksInExchange(1)
        _ = try await fixture.runner.run(fixture.options(.inbound, [.tasks]))
        fixture.source.restoreFromBackup()
        let doctor = RecoveryDoctor(database: fixture.store, source: fixture.source, logger: fixture.logger)
        let facts = try await doctor.gatherFacts()
        let diagnosis = RecoveryDiagnosis(facts)
        #expect(diagnosis.findings.map(\.scenario).contains(.exchangeRestored), "\(diagnosis.findings)")
        #expect(
            diagnosis.plan.contains(.snapshot(.inbound, mailboxes: [fixture.owner.smtpAddress])), "\(diagnosis.plan)")
    }

    @Test func theDoctorFindsDuplicateCopiesAndItsFixKeepsTheLinkedOne() async throws {
        var fixture = PipelineFixture()
        let tasks = fixture.tasksInCRM(1)
        _ = try await fixture.runner.run(fixture.options(.outbound, [.tasks]))
        let linked = try #require(fixture.store.links(of: fixture.owner, kind: .tasks)[tasks[0].id])
        fixture.source.add(.task(tasks[0]), to: fixture.owner.smtpAddress, stamp: tasks[0].id)  // created twice

        let doctor = RecoveryDoctor(database: fixture.store, source: fixture.source, logger: fixture.logger)
        let diagnosis = RecoveryDiagnosis(try await doctor.gatherFacts())
        let steps = diagnosis.plan.filter { if case .removeDuplicates = $0 { true } else { false } }
        #expect(steps == [.removeDuplicates(mailboxes: [fixture.owner.smtpAddress])], "\(diagnosis.plan)")

        let outcomes = try await doctor.fix(steps, actor: "test")
        #expect(outcomes.map(\.succeeded) == [true])
        #expect(fixture.source.items(in: fixture.owner.smtpAddress, kind: .tasks).map(\.ref.id) == [linked.ref.id])
    }
}

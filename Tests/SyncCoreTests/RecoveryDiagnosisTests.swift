import Foundation
import Testing
@testable import SyncCore

/// One test per situation of the recovery contract: the facts doctor would gather, the scenario it names,
/// and the prescribed steps in the contract's order.
@Suite struct RecoveryDiagnosisTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    let a = "alice@example.com"
    let b = "bob@example.com"

    func at(_ hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    /// Sync switched on globally at t0, a completed inbound and outbound snapshot at t0+1h.
    func synced(
        _ mailbox: String, exchange: ExchangeProbe = .answered(itemCounts: [:], rejectedSyncStates: [])
    ) -> MailboxFacts {
        MailboxFacts(
            mailbox: mailbox, lastInbound: CompletedSnapshot(runID: 1, startedAt: at(1)),
            lastOutbound: CompletedSnapshot(runID: 2, startedAt: at(1)), crmRows: 10,
            links: [.appointments: 5, .tasks: 5], exchange: exchange)
    }

    func facts(
        _ mailboxes: [MailboxFacts], on: Bool = true, journal extra: [SwitchTransition] = [],
        outbox: OutboxFacts = OutboxFacts(), runs: [UnfinishedRun] = []
    ) -> RecoveryFacts {
        RecoveryFacts(
            now: at(10), globalSyncEnabled: on,
            journal: [SwitchTransition(at: t0, mailbox: nil, enabled: true)] + extra,
            mailboxes: mailboxes, outbox: outbox, unfinishedRuns: runs)
    }

    func only(_ diagnosis: RecoveryDiagnosis) throws -> RecoveryFinding {
        #expect(diagnosis.findings.count == 1, "\(diagnosis.findings)")
        return try #require(diagnosis.findings.first)
    }

    @Test func healthyWhenInStep() {
        let diagnosis = RecoveryDiagnosis(facts([synced(a), synced(b)]))
        #expect(diagnosis.findings.isEmpty)
        #expect(diagnosis.isHealthy)
        #expect(diagnosis.plan.isEmpty)
    }

    @Test func scenario1NewEmptyCRM() throws {
        let finding = try only(RecoveryDiagnosis(facts([MailboxFacts(mailbox: a, crmRows: 0)])))
        #expect(finding.scenario == .newEmptyCRM)
        #expect(finding.steps == [.snapshot(.inbound, mailboxes: [a])])
    }

    @Test func scenario2FirstSync() throws {
        let diagnosis = RecoveryDiagnosis(
            facts([MailboxFacts(mailbox: a, crmRows: 3), MailboxFacts(mailbox: b, crmRows: 7)]))
        let finding = try only(diagnosis)
        #expect(finding.scenario == .firstSync)
        #expect(finding.mailboxes == [a, b])
        #expect(finding.steps == [.snapshot(.outbound, mailboxes: [a, b]), .snapshot(.inbound, mailboxes: [a, b])])
        #expect(diagnosis.plan == finding.steps)  // what doctor prints is what --fix runs
        #expect(!diagnosis.isHealthy)
    }

    @Test func scenario2NotForOnboardedMailbox() {
        // Bulk onboarding ran an initial snapshot: nothing left to do.
        #expect(RecoveryDiagnosis(facts([synced(a)])).findings.isEmpty)
    }

    @Test func scenario3ExchangeDownSyncOn() throws {
        let diagnosis = RecoveryDiagnosis(
            facts(
                [synced(a, exchange: .unreachable("connection refused"))],
                outbox: OutboxFacts(pending: 12, retrying: 12, oldest: at(9))))
        let finding = try only(diagnosis)
        #expect(finding.scenario == .exchangeDown)
        #expect(finding.steps.allSatisfy { !$0.isAction })
        #expect(finding.details.joined().contains("12 pending"))
        #expect(diagnosis.isHealthy)  // action: none
    }

    @Test func scenario4ExchangeDownSyncWasOff() throws {
        let diagnosis = RecoveryDiagnosis(
            facts(
                [synced(a, exchange: .unreachable("connection refused"))], on: false,
                journal: [SwitchTransition(at: at(5), mailbox: nil, enabled: false)]))
        let finding = try only(diagnosis)
        #expect(finding.scenario == .exchangeDownSyncWasOff)
        #expect(finding.steps == [.enableSync(mailbox: nil), .snapshot(.outbound, mailboxes: [a])])
        #expect(finding.waitsForExchange)
        // Switching on now; the outbound snapshot when Exchange is back.
        #expect(diagnosis.plan == [.enableSync(mailbox: nil)])
        #expect(diagnosis.deferred == [.snapshot(.outbound, mailboxes: [a])])
    }

    @Test func scenario5CRMDownSyncOn() throws {
        let finding = try only(RecoveryDiagnosis(.postgresDown(now: t0, exchangeReachable: true)))
        #expect(finding.scenario == .crmDown)
        #expect(finding.steps.allSatisfy { !$0.isAction })
    }

    @Test func scenario6CRMDownSyncWasOff() throws {
        // Back up: sync was switched off while the CRM was down, so no CRM change since.
        var mailbox = synced(a)
        mailbox.crmChangesSinceOff = 0
        let finding = try only(
            RecoveryDiagnosis(
                facts([mailbox], on: false, journal: [SwitchTransition(at: at(5), mailbox: nil, enabled: false)])))
        #expect(finding.scenario == .crmDownSyncWasOff)
        #expect(finding.steps == [.enableSync(mailbox: nil), .snapshot(.inbound, mailboxes: [a])])
    }

    @Test func scenario7BothDown() throws {
        let finding = try only(RecoveryDiagnosis(.postgresDown(now: t0, exchangeReachable: false)))
        #expect(finding.scenario == .bothDown)
        #expect(finding.steps.allSatisfy { !$0.isAction })
    }

    @Test func scenario8SyncWasOffBothUp() throws {
        var mailbox = synced(a)
        mailbox.crmChangesSinceOff = 4
        let diagnosis = RecoveryDiagnosis(
            facts(
                [mailbox, synced(b)], on: false, journal: [SwitchTransition(at: at(5), mailbox: nil, enabled: false)]))
        let eight = diagnosis.findings.filter { $0.scenario == .syncWasOff }
        #expect(eight.count == 1)
        // Order matters: switch on, outbound (CRM changes first), then inbound.
        #expect(eight.first?.steps.first == .enableSync(mailbox: nil))
        #expect(diagnosis.plan.first == .enableSync(mailbox: nil))
        let outbound = try #require(
            diagnosis.plan.firstIndex { if case .snapshot(.outbound, _) = $0 { true } else { false } })
        let inbound = try #require(
            diagnosis.plan.firstIndex { if case .snapshot(.inbound, _) = $0 { true } else { false } })
        #expect(outbound < inbound)
    }

    @Test func scenario8SwitchedBackOnWithoutSnapshots() throws {
        var mailbox = synced(a)
        mailbox.crmChangesSinceOff = 1
        let journal = [
            SwitchTransition(at: at(5), mailbox: nil, enabled: false),
            SwitchTransition(at: at(6), mailbox: nil, enabled: true),
        ]
        let finding = try only(RecoveryDiagnosis(facts([mailbox], journal: journal)))
        #expect(finding.scenario == .syncWasOff)
        #expect(finding.steps == [.snapshot(.outbound, mailboxes: [a]), .snapshot(.inbound, mailboxes: [a])])
        // Once both snapshots ran after switching back on, it is resolved.
        mailbox.lastOutbound = CompletedSnapshot(runID: 3, startedAt: at(7))
        mailbox.lastInbound = CompletedSnapshot(runID: 4, startedAt: at(8))
        #expect(RecoveryDiagnosis(facts([mailbox], journal: journal)).findings.isEmpty)
    }

    @Test func scenario8OneMailboxSwitchedOff() throws {
        var mailbox = synced(a)
        mailbox.ownSwitch = false
        mailbox.crmChangesSinceOff = 2
        let diagnosis = RecoveryDiagnosis(
            facts([mailbox, synced(b)], journal: [SwitchTransition(at: at(5), mailbox: a, enabled: false)]))
        let finding = try only(diagnosis)
        #expect(finding.scenario == .syncWasOff)
        #expect(
            finding.steps == [
                .enableSync(mailbox: a), .snapshot(.outbound, mailboxes: [a]), .snapshot(.inbound, mailboxes: [a]),
            ])
    }

    @Test func scenario9ExchangeRestored() throws {
        var marked = synced(a)
        marked.foldersNeedingSnapshot = [
            FolderNeedingSnapshot(kind: .appointments, reason: "Exchange rejected the sync state")
        ]
        let probed = synced(b, exchange: .answered(itemCounts: [:], rejectedSyncStates: [.tasks]))
        let finding = try only(RecoveryDiagnosis(facts([marked, probed])))
        #expect(finding.scenario == .exchangeRestored)
        #expect(finding.steps == [.snapshot(.inbound, mailboxes: [a, b])])
    }

    @Test func scenario9WithSyncAlsoOff() throws {
        var mailbox = synced(a, exchange: .answered(itemCounts: [:], rejectedSyncStates: [.appointments]))
        mailbox.crmChangesSinceOff = 1
        let finding = try only(
            RecoveryDiagnosis(
                facts([mailbox], on: false, journal: [SwitchTransition(at: at(5), mailbox: nil, enabled: false)])))
        #expect(finding.scenario == .exchangeRestored)
        #expect(
            finding.steps == [
                .enableSync(mailbox: nil), .snapshot(.outbound, mailboxes: [a]), .snapshot(.inbound, mailboxes: [a]),
            ])
    }

    @Test func scenario10CRMRestoredWithSyncOnNeedsNothing() {
        // The restored database's sync states are older but valid, sync stayed on: Exchange re-delivers; nothing to do.
        var mailbox = synced(a)
        mailbox.exchange = .answered(itemCounts: [.appointments: 5, .tasks: 5], rejectedSyncStates: [])
        #expect(RecoveryDiagnosis(facts([mailbox])).isHealthy)
    }

    @Test func scenario11CRMDataLost() throws {
        var mailbox = synced(a)
        mailbox.orphanLinks = [.appointments: 5]
        let finding = try only(RecoveryDiagnosis(facts([mailbox])))
        #expect(finding.scenario == .dataLost)
        #expect(finding.steps == [.snapshot(.fullFromExchange, mailboxes: [a])])
    }

    @Test func scenario11ExchangeDataLost() throws {
        let finding = try only(
            RecoveryDiagnosis(
                facts([
                    synced(a, exchange: .answered(itemCounts: [.appointments: 0, .tasks: 5], rejectedSyncStates: []))
                ])))
        #expect(finding.scenario == .dataLost)
        #expect(finding.steps == [.snapshot(.fullFromCRM, mailboxes: [a])])
    }

    @Test func parkedItems() throws {
        let diagnosis = RecoveryDiagnosis(
            facts([synced(a)], outbox: OutboxFacts(parked: 2, parkedReasons: ["ErrorInvalidRecipients: bad address"])))
        let finding = try only(diagnosis)
        #expect(finding.scenario == .parkedItems)
        #expect(finding.details.contains { $0.contains("ErrorInvalidRecipients") })
        #expect(diagnosis.plan == [.retryParked])
        #expect(!diagnosis.isHealthy)
    }

    @Test func unfinishedRun() throws {
        let diagnosis = RecoveryDiagnosis(
            facts(
                [synced(a)],
                runs: [
                    UnfinishedRun(id: 7, direction: .inbound, createdAt: at(2)),
                    UnfinishedRun(id: 8, direction: .outbound, createdAt: at(3), activeMailboxes: 1),
                ]))
        #expect(diagnosis.findings.map(\.scenario) == [.unfinishedRun, .unfinishedRun])
        #expect(diagnosis.plan == [.resume(runID: 7)])  // run 8 is in progress elsewhere
    }

    @Test func duplicatesArePrescribedDedupeBeforeAnySnapshot() throws {
        var duplicated = synced(a)
        duplicated.duplicateItems = [.tasks: 10, .appointments: 2]
        let finding = try only(RecoveryDiagnosis(facts([duplicated, synced(b)])))
        #expect(finding.scenario == .duplicates)
        #expect(finding.mailboxes == [a])
        #expect(
            finding.details == [
                "\(a): 2 extra appointments item(s), 10 extra tasks item(s) carry the CRM id of another item of the folder; the linked copy is kept"
            ])
        #expect(finding.steps.map(\.description) == ["snapsync dedupe --mailbox \(a)"])

        // With sync switched off meanwhile and a run left unfinished: resume, remove the copies, then the snapshots.
        let offAndDuplicated = RecoveryDiagnosis(
            facts(
                [duplicated], on: false, journal: [SwitchTransition(at: at(3), mailbox: nil, enabled: false)],
                runs: [UnfinishedRun(id: 7, direction: .outbound, createdAt: at(2))]))
        #expect(
            offAndDuplicated.plan.filter { if case .enableSync = $0 { false } else { true } }
                == [
                    .resume(runID: 7), .removeDuplicates(mailboxes: [a]), .snapshot(.outbound, mailboxes: [a]),
                    .snapshot(.inbound, mailboxes: [a]),
                ])
    }

    @Test func deactivatedAndNeverOnNeedNothing() {
        var deactivated = synced(a)
        deactivated.ownSwitch = false
        let diagnosis = RecoveryDiagnosis(
            facts(
                [deactivated],
                journal: [
                    SwitchTransition(at: at(5), mailbox: a, enabled: false, note: SwitchTransition.deactivatedNote)
                ]))
        #expect(diagnosis.findings.map(\.scenario) == [.syncNotOn])
        #expect(diagnosis.isHealthy)
        let fresh = RecoveryFacts(now: t0, globalSyncEnabled: false, mailboxes: [MailboxFacts(mailbox: b)])
        #expect(RecoveryDiagnosis(fresh).findings.map(\.scenario) == [.syncNotOn])
        #expect(RecoveryDiagnosis(fresh).isHealthy)
    }

    @Test func mergedPlanRunsOneSnapshotPerDirectionInContractOrder() {
        var off = synced(a)
        off.crmChangesSinceOff = 1
        off.ownSwitch = false
        var restored = synced(b)
        restored.foldersNeedingSnapshot = [FolderNeedingSnapshot(kind: .tasks, reason: nil)]
        let diagnosis = RecoveryDiagnosis(
            facts(
                [off, restored], journal: [SwitchTransition(at: at(5), mailbox: a, enabled: false)],
                runs: [UnfinishedRun(id: 3, direction: .inbound, createdAt: at(4))]))
        #expect(
            diagnosis.plan == [
                .enableSync(mailbox: a), .resume(runID: 3), .snapshot(.outbound, mailboxes: [a]),
                .snapshot(.inbound, mailboxes: [a, b]),
            ])
    }

    @Test func switchHistoryReplaysGlobalAndOwnSwitches() {
        let journal = [
            SwitchTransition(at: at(0), mailbox: nil, enabled: true),
            SwitchTransition(at: at(1), mailbox: a, enabled: false),
            SwitchTransition(at: at(2), mailbox: nil, enabled: false),
            SwitchTransition(at: at(3), mailbox: a, enabled: true),
            SwitchTransition(at: at(4), mailbox: nil, enabled: true),
        ]
        let history = SwitchHistory(mailbox: a, journal: journal, globalNow: true, ownNow: true)
        #expect(history.isOn && history.wasEverOn)
        #expect(history.lastSwitchedOff == at(1))
        #expect(history.switchedBackOn == at(4))
        let other = SwitchHistory(mailbox: b, journal: journal, globalNow: true, ownNow: nil)
        #expect(other.lastSwitchedOff == at(2))
        #expect(other.switchedBackOn == at(4))
    }

    @Test func aMailboxWhoseEWSIsBlockedIsSwitchedToGraphFirstThenSnapshotInbound() throws {
        var facts = facts([synced(a, exchange: .ewsBlocked("EWS is blocked")), synced(b)])
        facts.graphConfigured = true
        let diagnosis = RecoveryDiagnosis(facts)
        let finding = try only(diagnosis)
        #expect(finding.scenario == .ewsBlocked)
        #expect(finding.mailboxes == [a])
        #expect(finding.steps == [.setProtocol(mailbox: a, .graph), .snapshot(.inbound, mailboxes: [a])])
        #expect(diagnosis.plan == finding.steps)
        #expect("\(finding.steps[0])" == "snapsync mailbox set-protocol \(a) graph")

        facts.graphConfigured = false
        let manual = try only(RecoveryDiagnosis(facts))
        #expect(manual.scenario == .ewsBlocked)
        #expect(manual.steps.allSatisfy { !$0.isAction })
        #expect("\(manual.steps)".contains("set-protocol"))
    }

    @Test func protocolSwitchesComeBeforeEveryOtherStep() {
        let plan = RecoveryDiagnosis.merge([
            .enableSync(mailbox: nil), .snapshot(.inbound, mailboxes: [b]), .setProtocol(mailbox: b, .graph),
            .setProtocol(mailbox: a, .graph), .resume(runID: 3),
        ])
        #expect(
            plan == [
                .setProtocol(mailbox: a, .graph), .setProtocol(mailbox: b, .graph), .enableSync(mailbox: nil),
                .resume(runID: 3), .snapshot(.inbound, mailboxes: [b]),
            ])
    }
}

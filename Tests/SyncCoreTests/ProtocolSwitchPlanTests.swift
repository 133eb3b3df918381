import Foundation
import Testing
@testable import SyncCore

/// `snapsync mailbox set-protocol`'s decision, made before any call: what is translated, which folders get a new
/// baseline, and when the switch is refused.
@Suite struct ProtocolSwitchPlanTests {
    let mailbox = "ada@example.com"
    let both: Set<ExchangeProtocol> = [.ews, .graph]

    func facts(links: Int = 3, tasksNeedSnapshot: Bool = false, runs: [Int64] = []) -> MailboxProtocolFacts {
        MailboxProtocolFacts(
            linkedItemIDs: [.tasks: (0..<links).map { "ews-\($0)" }, .contacts: ["ews-c"]],
            folders: [
                .appointments: .init(state: "ews-state-a", needsSnapshot: false),
                .tasks: .init(state: "ews-state-t", needsSnapshot: tasksNeedSnapshot),
            ], unfinishedRuns: runs)
    }

    @Test func aSwitchTranslatesEveryLinkAndTakesNewBaselinesForTheTrackedFolders() throws {
        let plan = ProtocolSwitchPlan.decide(
            mailbox: mailbox, to: .graph, facts: facts(), defaultProtocol: .ews, configured: both)
        guard case .switchOver(let change) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(change.from == .ews && change.to == .graph)
        #expect(change.translations == [.tasks: [["ews-0", "ews-1", "ews-2"]], .contacts: [["ews-c"]]])
        #expect(change.baselines == [.appointments, .tasks])
        #expect(change.stillNeedingSnapshot.isEmpty)
    }

    @Test func aFolderNeedingASnapshotKeepsItsMarkInsteadOfABaseline() throws {
        let plan = ProtocolSwitchPlan.decide(
            mailbox: mailbox, to: .graph, facts: facts(tasksNeedSnapshot: true), defaultProtocol: .ews,
            configured: both)
        guard case .switchOver(let change) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(change.baselines == [.appointments])
        #expect(change.stillNeedingSnapshot == [.tasks])
    }

    @Test func theProtocolInUseIsUnchangedWhetherAssignedOrTheDefault() {
        #expect(
            ProtocolSwitchPlan.decide(
                mailbox: mailbox, to: .ews, facts: facts(), defaultProtocol: .ews, configured: both) == .unchanged)
        var assigned = facts()
        assigned.assigned = .graph
        #expect(
            ProtocolSwitchPlan.decide(
                mailbox: mailbox, to: .graph, facts: assigned, defaultProtocol: .ews, configured: both) == .unchanged)
        guard
            case .switchOver(let back) = ProtocolSwitchPlan.decide(
                mailbox: mailbox, to: .ews, facts: assigned, defaultProtocol: .ews, configured: both)
        else {
            Issue.record("graph to ews is a switch")
            return
        }
        #expect(back.from == .graph && back.to == .ews)
    }

    @Test func refusedWithoutTheTargetsSettingsWithoutGraphToTranslateOrDuringAnUnfinishedRun() {
        func reason(_ plan: ProtocolSwitchPlan) -> String? { if case .refused(let r) = plan { r } else { nil } }
        let unconfigured = ProtocolSwitchPlan.decide(
            mailbox: mailbox, to: .graph, facts: facts(), defaultProtocol: .ews, configured: [.ews])
        #expect(reason(unconfigured)?.contains("graph is not configured") == true)
        #expect(reason(unconfigured)?.contains(mailbox) == true)
        var onGraph = facts()
        onGraph.assigned = .graph
        let noTranslator = ProtocolSwitchPlan.decide(
            mailbox: mailbox, to: .ews, facts: onGraph, defaultProtocol: .graph, configured: [.ews])
        #expect(reason(noTranslator)?.contains("needs Graph") == true)
        let running = ProtocolSwitchPlan.decide(
            mailbox: mailbox, to: .graph, facts: facts(runs: [12]), defaultProtocol: .ews, configured: both)
        #expect(reason(running)?.contains("snapsync resume 12") == true)
    }

    @Test func idsGoInBatchesOfAThousandAndMissingTranslationsAreNamed() {
        let ids = (0..<2_345).map { "id\($0)" }
        let batches = ProtocolSwitchPlan.batches(ids)
        #expect(batches.map(\.count) == [1000, 1000, 345])
        #expect(batches.flatMap { $0 } == ids)
        #expect(ProtocolSwitchPlan.untranslated(["a", "b", "c"], ["a": "A", "c": ""]) == ["b", "c"])
    }
}

import Foundation
import SyncCore
import Testing

/// Live sync's decisions over a batch of Exchange changes: snapsync's own writes are not read back, a change of an
/// item whose CRM row also changed is resolved by the folder's policy, and a deletion never removes a row the CRM
/// changed since (unless Exchange wins).
@Suite struct LiveSyncPullPlanTests {
    let owner = UUID()
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func item(_ id: String, modified: Date?) -> MailboxItem {
        MailboxItem(
            ref: MailboxItemRef(id: id, changeKey: "\(id)-new"), crmID: nil, lastModified: modified,
            record: .task(CRMTask(id: UUID(), ownerID: owner, subject: "task \(id)", updatedAt: t0, version: 1)))
    }

    @Test func ownWritesComeBackWithTheStoredChangeKeyAndAreNotRead() {
        let crm = UUID()
        let links: [String: LiveSyncPullPlan.Link] = ["a": (crm, "a-1", 3), "b": (UUID(), "b-1", 1)]
        let changed = [
            MailboxItemRef(id: "a", changeKey: "a-1"), MailboxItemRef(id: "b", changeKey: "b-2"),
            MailboxItemRef(id: "c", changeKey: "c-1"),
        ]
        #expect(LiveSyncPullPlan.itemsToRead(changed, links: links).map(\.id) == ["b", "c"])
    }

    @Test(arguments: [(ConflictPolicy.crmWins, false, false), (.exchangeWins, true, true), (.newestWins, true, false)])
    func aConflictIsResolvedByThePolicy(policy: ConflictPolicy, exchangeNewerWins: Bool, exchangeOlderWins: Bool) {
        let newer = UUID(), older = UUID(), untouched = UUID()
        let links: [String: LiveSyncPullPlan.Link] = [
            "newer": (newer, "x", 1), "older": (older, "x", 1), "same": (untouched, "x", 4),
        ]
        // The CRM changed both conflicting rows (version 2) at t0; Exchange changed "newer" after it, "older" before.
        let rows: [UUID: LiveSyncPullPlan.Row] = [newer: (2, t0), older: (2, t0), untouched: (4, t0)]
        let items = [
            item("newer", modified: t0.addingTimeInterval(60)), item("older", modified: t0.addingTimeInterval(-60)),
            item("same", modified: t0), item("fresh", modified: nil),
        ]
        let decision = LiveSyncPullPlan.decide(items: items, deleted: [], links: links, rows: rows, policy: policy)
        let applied = Set(decision.items.map(\.ref.id))
        #expect(applied.contains("same") && applied.contains("fresh"))
        #expect(applied.contains("newer") == exchangeNewerWins)
        #expect(applied.contains("older") == exchangeOlderWins)
        #expect(decision.crmWins.count + decision.exchangeWins.count == 2)
        #expect(Set(decision.exchangeWins.map(\.itemID)) == applied.intersection(["newer", "older"]))
    }

    @Test(arguments: ConflictPolicy.allCases)
    func aDeletionRemovesOnlyRowsTheCRMDidNotChange(policy: ConflictPolicy) {
        let kept = UUID(), changed = UUID()
        let links: [String: LiveSyncPullPlan.Link] = ["kept": (kept, "x", 5), "changed": (changed, "x", 5)]
        let rows: [UUID: LiveSyncPullPlan.Row] = [kept: (5, t0), changed: (6, t0)]
        let decision = LiveSyncPullPlan.decide(
            items: [], deleted: ["kept", "changed", "unknown"], links: links, rows: rows,
            policy: policy)
        if policy == .exchangeWins {
            #expect(Set(decision.deleting) == [kept, changed])
            #expect(decision.relinking.isEmpty && decision.crmWins.isEmpty)
        } else {
            #expect(decision.deleting == [kept])
            #expect(decision.relinking == [changed])
            #expect(decision.crmWins.map(\.crmID) == [changed])
        }
    }
}

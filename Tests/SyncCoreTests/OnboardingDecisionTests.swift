import Foundation
import Testing
@testable import SyncCore

@Suite struct OnboardingDecisionTests {
    let alice = OnboardingDecision.CRMUser(id: UUID(), login: "alice", mailbox: nil)

    @Test func rowsAreActivatedDeactivatedOrSkippedAtTheLimit() {
        #expect(OnboardingDecision.decide(OnboardingRow(mailbox: "a@x", userLogin: "a"), maxAttempts: 5) == .activate)
        #expect(
            OnboardingDecision.decide(
                OnboardingRow(mailbox: "a@x", userLogin: "a", activate: false, attempts: 4), maxAttempts: 5)
                == .deactivate)
        #expect(
            OnboardingDecision.decide(
                OnboardingRow(mailbox: "a@x", userLogin: "a", attempts: 5, lastError: "boom"), maxAttempts: 5)
                == .skip(attempts: 5, lastError: "boom"))
    }

    @Test func linkSetsAnEmptyMailboxAndRefusesConflicts() {
        #expect(
            OnboardingDecision.link(mailbox: "a@x", login: "alice", user: alice, holder: nil)
                == .setMailbox(userID: alice.id))
        var linked = alice
        linked.mailbox = "A@X"
        #expect(
            OnboardingDecision.link(mailbox: "a@x", login: "alice", user: linked, holder: linked)
                == .alreadyLinked(userID: alice.id))
        guard
            case .refuse(let missing) = OnboardingDecision.link(mailbox: "a@x", login: "ghost", user: nil, holder: nil)
        else {
            Issue.record("an unknown login must be refused"); return
        }
        #expect(missing.contains("ghost"))
        let bob = OnboardingDecision.CRMUser(id: UUID(), login: "bob", mailbox: "a@x")
        guard
            case .refuse(let taken) = OnboardingDecision.link(mailbox: "a@x", login: "alice", user: alice, holder: bob)
        else {
            Issue.record("a mailbox of another user must be refused"); return
        }
        #expect(taken.contains("bob"))
        linked.mailbox = "other@x"
        guard case .refuse = OnboardingDecision.link(mailbox: "a@x", login: "alice", user: linked, holder: nil) else {
            Issue.record("a user with another mailbox must be refused"); return
        }
    }

    @Test func windowCoversWholeDaysAroundToday() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z
        #expect(OnboardingDecision.window(now: now, daysPast: nil, daysFuture: nil) == nil)
        let window = try #require(OnboardingDecision.window(now: now, daysPast: 30, daysFuture: 90))
        #expect(window.from.map(ISO8601.format) == "2023-10-15T00:00:00Z")
        #expect(window.to.map(ISO8601.format) == "2024-02-13T00:00:00Z")
        #expect(window.contains(now))
        // The same day gives the same window, so a rerun resumes the same snapshot run.
        #expect(OnboardingDecision.window(now: now.addingTimeInterval(3600), daysPast: 30, daysFuture: 90) == window)
    }
}

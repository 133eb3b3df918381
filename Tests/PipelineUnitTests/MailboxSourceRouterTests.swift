import Foundation
import Logging
import Pipeline
import PipelineFakes
import SyncCore
import SyncStore
import Testing

/// A hybrid deployment's one source: each mailbox's calls go to its protocol's source, in memory.
@Suite struct MailboxSourceRouterTests {
    let onPremises = InMemoryMailboxSource()
    let online = InMemoryMailboxSource()
    let ada = MailboxOwner(smtpAddress: "ada@example.com", userID: UUID())
    let bob = MailboxOwner(smtpAddress: "bob@example.com", userID: UUID())
    struct NotATask: Error {}

    func task(_ subject: String, owner: MailboxOwner) -> MailboxRecord {
        var samples = SampleRecords(seed: 3)
        var task = samples.task(ownerID: owner.userID, index: 0)
        task.subject = subject
        return .task(task)
    }

    @Test func eachMailboxIsReachedByItsOwnProtocolOrTheDefault() async throws {
        onPremises.add(task("on premises", owner: ada), to: ada.smtpAddress)
        online.add(task("online", owner: bob), to: bob.smtpAddress)
        let router = MailboxSourceRouter(
            sources: [.ews: onPremises, .graph: online], defaultProtocol: .ews, assignments: ["BOB@example.com": .graph]
        )
        #expect(router.protocolOf(ada.smtpAddress) == .ews)
        #expect(router.protocolOf(bob.smtpAddress) == .graph)
        #expect(try await router.allItemRefs(in: ada, kind: .tasks, pageSize: 10).count == 1)
        let bobs = try await router.allItemRefs(in: bob, kind: .tasks, pageSize: 10)
        let items = try await router.items(bobs, in: bob, kind: .tasks).map { try $0.get() }
        guard case .task(let read) = try #require(items.first).record else { throw NotATask() }
        #expect(read.subject == "online")
        _ = try await router.create([task("created", owner: ada)], in: ada)
        #expect(try await onPremises.allItemRefs(in: ada, kind: .tasks, pageSize: 10).count == 2)
        #expect(try await online.allItemRefs(in: ada, kind: .tasks, pageSize: 10).isEmpty)

        router.assign(.graph, to: ada.smtpAddress)
        #expect(try await router.allItemRefs(in: ada, kind: .tasks, pageSize: 10).isEmpty)
    }

    @Test func aMailboxWhoseProtocolHasNoSettingsGetsAnErrorNamingIt() async throws {
        let router = MailboxSourceRouter(
            sources: [.ews: onPremises], defaultProtocol: .ews, assignments: [bob.smtpAddress: .graph])
        #expect(router.configured == [.ews])
        let error = await #expect(throws: MailboxSourceError.self) {
            _ = try await router.itemRefs(in: bob, kind: .tasks, after: nil, pageSize: 10)
        }
        #expect(error?.code == "ProtocolNotConfigured")
        #expect(error?.kind == .mailboxRefused, "a configuration error: queued live-sync changes wait for it")
        #expect(error?.message.contains(bob.smtpAddress) == true)
        #expect(error?.isSourceWide == false)
        // The other mailboxes go on.
        #expect(try await router.allItemRefs(in: ada, kind: .tasks, pageSize: 10).isEmpty)
    }

    @Test func idsOfOneProtocolAreAnsweredAsTheyAreAndOthersNeedATranslator() async throws {
        let router = MailboxSourceRouter(sources: [.ews: onPremises], defaultProtocol: .ews)
        #expect(try await router.translateItemIDs(["a", "b"], from: .ews, to: .ews, in: ada) == ["a": "a", "b": "b"])
        await #expect(throws: MailboxSourceError.self) {
            _ = try await router.translateItemIDs(["a"], from: .ews, to: .graph, in: ada)
        }
    }

    @Test func aSwitchOfAMailboxWithoutLinksRecordsItsProtocolAndJournalsIt() async throws {
        let store = InMemorySyncStore()
        let owner = store.addUser("cid@example.com")
        let router = MailboxSourceRouter(sources: [.ews: onPremises, .graph: online], defaultProtocol: .ews)
        let switcher = ProtocolSwitcher(
            database: store, router: router, logger: .init(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let outcome = try await switcher.setProtocol(.graph, mailbox: owner.smtpAddress, actor: "test")
        #expect(outcome.switched && outcome.translatedLinks == 0 && outcome.baselines.isEmpty)
        #expect(store.state.protocols == [owner.smtpAddress: .graph])
        #expect(store.state.protocolJournal.map(\.protocol) == [.graph])
        #expect(router.protocolOf(owner.smtpAddress) == .graph)
        let again = try await switcher.setProtocol(.graph, mailbox: owner.smtpAddress, actor: "test")
        #expect(!again.switched)
        await #expect(throws: PipelineError.self) {
            _ = try await switcher.setProtocol(.graph, mailbox: "nobody@example.com", actor: "test")
        }
    }
}

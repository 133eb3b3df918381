import Foundation
import Postgres
import SyncCore
import SyncStore
import Testing
import TestSupport

/// The pipeline's road to PostgreSQL against a real server: every scope closes its connection, whether its body
/// returns or throws, and an outage is told apart from a wrong setting.
@Suite struct SyncDatabaseTests {
    struct Failure: Error {}

    /// The other sessions of the test's database, once the server has seen the closed ones end.
    func otherSessions(_ conninfo: String) async throws -> Int {
        let monitor = try await PostgresConnection.connect(conninfo, logger: TestDatabase.quietLogger)
        var count = 0
        for _ in 0..<50 {
            count = try await monitor.query(
                """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)[0].decode(Int.self, at: 0)
            if count == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await monitor.close()
        return count
    }

    @Test func aScopeClosesItsConnectionWhenItsBodyReturnsOrThrows() async throws {
        try await TestDatabase.with { conninfo in
            let database = SyncDatabase(conninfo: conninfo, logger: TestDatabase.quietLogger)
            let owners = try await database.withConnection { store in try await store.mailboxOwners(nil) }
            #expect(owners.isEmpty)
            await #expect(throws: Failure.self) {
                try await database.withConnection { store in
                    _ = try await store.isSyncEnabled()
                    throw Failure()
                }
            }
            await #expect(throws: Failure.self) {
                let answer: Reachability<Int> = try await database.withConnectionIfReachable { _ in throw Failure() }
                Issue.record("expected the body's error, got \(answer)")
            }
            #expect(try await otherSessions(conninfo) == 0)
        }
    }

    @Test func aDatabaseThatDoesNotAnswerIsUnreachableAndAWrongSettingIsAnError() async throws {
        let down = SyncDatabase(
            conninfo: "host=127.0.0.1 port=1 dbname=crm connect_timeout=2", logger: TestDatabase.quietLogger)
        let answer = try await down.withConnectionIfReachable { _ in 1 }
        guard case .unreachable(let reason) = answer else {
            Issue.record("expected unreachable, got \(answer)")
            return
        }
        #expect(!reason.isEmpty)

        let wrong = SyncDatabase(
            conninfo: "host=127.0.0.1 port=1 dbname=crm nonsense=1", logger: TestDatabase.quietLogger)
        await #expect(throws: PostgresError.self) { _ = try await wrong.withConnectionIfReachable { _ in 1 } }
    }

    @Test func aBatchWhoseLeaseWasTakenOverIsRolledBack() async throws {
        try await TestDatabase.with { conninfo in
            let database = SyncDatabase(conninfo: conninfo, logger: TestDatabase.quietLogger)
            _ = try await database.withPostgres { db in
                try await db.execute(
                    "INSERT INTO crm.users (id, login, display_name, mailbox) VALUES ($1, 'ada', 'Ada', 'ada@example.com')",
                    [UUID()])
            }
            try await database.withConnection { store in
                let owners = try await store.mailboxOwners(nil)
                let request = RunRequest(
                    direction: .inbound, kinds: [.tasks], mailboxes: nil, dateRange: nil, requestedBy: "test")
                let run = try await store.openRun(request, owners: owners).run
                let claim = try #require(
                    try await store.claimMailbox(runID: run.id, worker: "w1", lease: .seconds(60), mailbox: nil))
                _ = try await store.startStage(
                    runID: run.id, mailbox: claim.owner.smtpAddress, kind: .tasks, stage: .baseline)
                let checkpoint = StageCheckpoint(kind: .tasks, stage: .baseline, cursor: "state-1")
                let counts = try await store.commit(
                    .counts(StageCounts(items: 3)), checkpoint: checkpoint, claim: claim, lease: .seconds(60))
                #expect(counts?.items == 3)

                var stolen = claim
                stolen.leaseOwner = "w2"  // another worker's claim: its lease renewal fails
                let lost = try await store.commit(
                    .counts(StageCounts(items: 5)),
                    checkpoint: StageCheckpoint(
                        kind: .tasks, stage: .baseline,
                        cursor: "state-2"),
                    claim: stolen, lease: .seconds(60))
                #expect(lost == nil)
                let stage = try #require(
                    try await store.stages(runID: run.id, mailbox: nil).first { $0.stage == .baseline })
                #expect(stage.cursor == "state-1")
                #expect(stage.items == 3)
                #expect(stage.status == .running)
            }
        }
    }

    /// Live sync applies pulled changes only while the folder still has the sync state they were read from. After a
    /// protocol switch or an inbound snapshot replaced it, a pass that read from the old state writes nothing: not its
    /// changes, not its state. A protocol switch likewise commits only over the states it was decided from.
    @Test func changesReadFromASyncStateThatWasReplacedAreNotApplied() async throws {
        try await TestDatabase.with { conninfo in
            let database = SyncDatabase(conninfo: conninfo, logger: TestDatabase.quietLogger)
            let userID = UUID()
            _ = try await database.withPostgres { db in
                try await db.execute(
                    "INSERT INTO crm.users (id, login, display_name, mailbox) VALUES ($1, 'ada', 'Ada', 'ada@example.com')",
                    [userID])
            }
            let owner = MailboxOwner(smtpAddress: "ada@example.com", userID: userID)
            func pulled(from: String?, to: String) -> PulledChanges {
                PulledChanges(
                    mailbox: owner, kind: .tasks, items: [], deleting: [], relinking: [], crmWins: [], exchangeWins: [],
                    policy: "newest-wins",
                    quarantined: [QuarantinedItem(itemID: "item-\(to)", crmID: nil, code: "Test", reason: "read")],
                    syncState: to, readFrom: from)
            }
            func quarantined() async throws -> [String] {
                try await database.withPostgres { db in
                    try await db.query("SELECT item_id FROM sync.quarantine ORDER BY id").map {
                        try $0.decode(String.self, at: 0)
                    }
                }
            }
            try await database.withConnection { store in
                try await store.apply(pulled(from: nil, to: "ews-1"))  // read outside the folder's sync: no check
                try await store.apply(pulled(from: "ews-1", to: "ews-2"))
                #expect(try await store.folderState(mailbox: owner.smtpAddress, kind: .tasks).state == "ews-2")
                // A switch to Graph replaces the state with a baseline; a pass still reading through EWS ends.
                _ = try await database.withPostgres { db in
                    try await db.execute(
                        "UPDATE sync.folder_states SET sync_state = 'graph-1' WHERE mailbox = $1 AND kind = 'tasks'",
                        [owner.smtpAddress])
                }
                await #expect {
                    try await store.apply(pulled(from: "ews-2", to: "ews-3"))
                } throws: { ($0 as? SyncStoreError)?.code == .syncStateChanged }
                #expect(try await store.folderState(mailbox: owner.smtpAddress, kind: .tasks).state == "graph-1")
                #expect(try await quarantined() == ["item-ews-1", "item-ews-2"])
                try await store.apply(pulled(from: "graph-1", to: "graph-2"))
                #expect(try await quarantined() == ["item-ews-1", "item-ews-2", "item-graph-2"])

                // The reverse: a switch decided from a state that a pass has since replaced changes nothing.
                let stale = ProtocolSwitchCommit(
                    mailbox: owner.smtpAddress, protocol: .ews, folderStates: [.tasks: "ews-9"],
                    replacing: [.tasks: "graph-1"], actor: "test", note: nil)
                await #expect {
                    try await store.commitProtocolSwitch(stale)
                } throws: { ($0 as? SyncStoreError)?.code == .syncStateChanged }
                var facts = try await store.mailboxProtocolFacts(mailbox: owner.smtpAddress)
                #expect(facts.assigned == nil && facts.folders[.tasks]?.state == "graph-2")
                var current = stale
                current.replacing = [.tasks: "graph-2"]
                try await store.commitProtocolSwitch(current)
                facts = try await store.mailboxProtocolFacts(mailbox: owner.smtpAddress)
                #expect(facts.assigned == .ews && facts.folders[.tasks]?.state == "ews-9")
            }
        }
    }
}

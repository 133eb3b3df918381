import EWS
import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

extension PipelineTestEnvironment {
    func liveSync(_ options: LiveSyncOptions = LiveSyncOptions()) -> LiveSync {
        LiveSync(source: source, logger: logger, options: options)
    }

    func pass(_ options: LiveSyncOptions = LiveSyncOptions()) async throws -> LiveSyncReport {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        let report = try await liveSync(options).runOnce(store: SyncConnection(db, logger: logger))
        await db.close()
        return report
    }

    func sql(_ statement: String, _ binds: [any PostgresEncodable] = []) async throws {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        try await db.execute(statement, binds)
        await db.close()
    }

    func setSync(_ enabled: Bool, mailbox: String? = nil) async throws {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        try await LiveSyncStore.setEnabled(enabled, mailbox: mailbox, actor: "test", note: nil, db: db)
        await db.close()
    }
}

@Suite(.serialized) struct LiveSyncTests {
    static let mailboxes = ["kim@example.com", "lou@example.com"]

    @Test(arguments: ExchangeProtocol.allCases)
    func crmChangesQueueWhileExchangeIsDownAndArriveExactlyOnceAfterwards(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 20, appointmentsPerUser: 10, tasksPerUser: 10)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            try await env.setSync(true)
            try await env.simulator.control.goDown()
            // Every task edited; those not completed also get a new percentage (To Do keeps it in an extension).
            try await env.sql(
                """
                UPDATE crm.tasks SET subject = subject || ' (edited)',
                    percent_complete = CASE WHEN status = 'completed' THEN percent_complete ELSE 35 END,
                    version = version + 1, updated_at = now()
                """)
            try await env.sql(
                "DELETE FROM crm.appointments WHERE id IN (SELECT id FROM crm.appointments ORDER BY id LIMIT 3)")
            try await env.sql(
                "UPDATE crm.contacts SET company = 'Renamed AG', version = version + 1 WHERE id IN (SELECT id FROM crm.contacts ORDER BY id LIMIT 5)"
            )
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 20 + 3 + 5)
            let down = try await env.pass()
            #expect(down.exchangeUnavailable)
            #expect(down.delivered == 0)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox WHERE NOT parked") == 28)  // nothing lost
            try await env.simulator.control.comeUp()
            try await env.sql("UPDATE sync.outbox SET next_attempt_at = now()")  // the backoff has passed
            let up = try await env.pass()
            #expect(up.delivered == 28)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(3))")
            #expect(try await env.count("SELECT count(*) FROM crm.tasks WHERE percent_complete = 35") > 0)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func exchangeChangesArePulledFromTheStoredSyncStateAndConflictsResolvedNewestWins(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            for (index, mailbox) in Self.mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(7 + index), appointments: 10, tasks: 10))
            }
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            #expect(try await env.pass().pulled == 0)  // nothing changed since the snapshot's baseline

            let owner = env.owners[0]
            let refs = try await env.source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 100).refs
            let items = try await env.source.items(Array(refs.prefix(2)), in: owner, kind: .tasks).map { try $0.get() }
            for item in items {
                guard case .task(var task) = item.record else { continue }
                task.subject = "Changed in Outlook"
                _ = try await env.source.update([MailboxUpdate(ref: item.ref, record: .task(task))], in: owner)
            }
            _ = try await env.source.delete([refs[5]], in: owner, kind: .tasks)
            let report = try await env.pass()
            #expect(report.pulled == 3)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Changed in Outlook'") == 2)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 19)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)  // pulled changes are not echoed back
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)
        }
    }

    /// The CRM changes a task (its trigger queues it) while Outlook changes the same task later: delivering the CRM's
    /// change must not overwrite Outlook's unseen. The conflict is decided newest-wins, recorded, and both sides end
    /// with Outlook's change.
    @Test(arguments: ExchangeProtocol.allCases)
    func aQueuedCRMChangeDoesNotOverwriteANewerOutlookChangeUnseen(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailboxes[0], seed: 7, tasks: 5))
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            let owner = env.owners[0]
            let ref = try #require(
                try await env.source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 10).refs.first)
            try await env.sql(
                """
                UPDATE crm.tasks SET body = 'Changed in the CRM', version = version + 1,
                    updated_at = now() - interval '1 hour'
                WHERE id = (SELECT crm_id FROM sync.links WHERE item_id = $1)
                """, [ref.id])
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 1)
            let item = try #require(try await env.source.items([ref], in: owner, kind: .tasks).first).get()
            guard case .task(var task) = item.record else { Issue.record("not a task"); return }
            task.subject = "Changed in Outlook"
            _ = try await env.source.update([MailboxUpdate(ref: item.ref, record: .task(task))], in: owner)

            let report = try await env.pass()
            #expect(report.conflicts == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.conflicts WHERE winner = 'exchange'") == 1)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Changed in Outlook'") == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            let after = try #require(try await env.source.items([ref], in: owner, kind: .tasks).first).get()
            guard case .task(let kept) = after.record else { Issue.record("not a task"); return }
            #expect(kept.subject == "Changed in Outlook", "Outlook's change is not overwritten")
            let next = try await env.pass()
            #expect(next.conflicts == 0 && next.delivered == 0)
            #expect(try await env.differences(kinds: [.tasks]).isEmpty)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aRestoredMailboxRejectsItsSyncStateAndItsFoldersNeedAnInboundSnapshot(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: Self.mailboxes[0], seed: 1, appointments: 5, tasks: 5))
            try env.simulator.control.backup(name: "before", mailbox: Self.mailboxes[0])
            // Work happens in the mailbox after the backup, and the snapshot's sync state includes it.
            let owner = env.owners[0]
            for kind in [ItemKind.appointments, .tasks] {
                let ref = try await env.source.itemRefs(in: owner, kind: kind, after: nil, pageSize: 10).refs[0]
                _ = try await env.source.delete([ref], in: owner, kind: kind)
            }
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            try env.simulator.control.restore(name: "before", mailbox: Self.mailboxes[0])
            let report = try await env.pass()
            #expect(report.foldersNeedingSnapshot.contains("\(Self.mailboxes[0]) tasks"))
            #expect(try await env.count("SELECT count(*) FROM sync.folder_states WHERE needs_snapshot") == 2)
            #expect(
                try await env.runner().run(env.options(.inbound, mailboxes: [Self.mailboxes[0]])).outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM sync.folder_states WHERE needs_snapshot") == 0)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func whileSyncIsOffNothingIsCapturedOrRead(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 5, appointmentsPerUser: 2, tasksPerUser: 2)
            try await env.sql("UPDATE crm.tasks SET subject = 'x'")
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            env.simulator.control.resetCounters()
            _ = try await env.pass()
            #expect(env.simulator.control.counters().values.reduce(0, +) == 0)
            try await env.setSync(true)
            try await env.setSync(false, mailbox: Self.mailboxes[1])
            try await env.sql("UPDATE crm.tasks SET subject = 'y'")
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 2)  // only the first mailbox's tasks
            #expect(try await env.count("SELECT count(*) FROM sync.journal") == 2)
        }
    }
}

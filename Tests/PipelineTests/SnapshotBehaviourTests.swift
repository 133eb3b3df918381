import EWS
import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

@Suite(.serialized) struct SnapshotBehaviourTests {
    static let mailboxes = ["gina@example.com", "hugo@example.com", "ida@example.com", "jan@example.com"]

    func seedMailboxes(_ env: PipelineTestEnvironment, appointments: Int = 30, tasks: Int = 20) throws {
        for (index, mailbox) in Self.mailboxes.enumerated() {
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: mailbox, seed: UInt64(100 + index), appointments: appointments, tasks: tasks))
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func fullSnapshotsRestoreEachSideAfterTheOtherWasCorrupted(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            // Corrupt the CRM: change, delete and add rows.
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                "UPDATE crm.appointments SET subject = 'corrupted' WHERE id IN (SELECT id FROM crm.appointments ORDER BY id LIMIT 7)"
            )
            try await db.execute("DELETE FROM crm.tasks WHERE id IN (SELECT id FROM crm.tasks ORDER BY id LIMIT 5)")
            #expect(try await env.differences(kinds: [.appointments, .tasks]).count >= 12)
            var full = env.options(.fullFromExchange)
            full.workers = 2
            #expect(try await env.runner().run(full).outcome == .completed)
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120)

            // Corrupt Exchange: delete items of one mailbox; a full snapshot from the CRM restores them.
            let victim = env.owners[0]
            let refs = try await env.source.itemRefs(in: victim, kind: .tasks, after: nil, pageSize: 1000).refs
            _ = try await env.source.delete(Array(refs.prefix(8)), in: victim, kind: .tasks)
            #expect(try await env.differences(kinds: [.tasks]).count == 8)
            #expect(
                try await env.runner().run(env.options(.fullFromCRM, kinds: [.appointments, .tasks])).outcome
                    == .completed)
            // All-day appointments of a zone other than UTC are among them, at midnight of their zone as Exchange
            // keeps them: they travel through Graph as through EWS.
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointments WHERE is_all_day AND coalesce(lower(time_zone), 'utc') <> 'utc'"
                ) > 0)
            let after = try await env.differences(kinds: [.appointments, .tasks])
            #expect(after.isEmpty, "\(after.prefix(3))")
            await db.close()
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aDateFilteredInboundTouchesOnlyItsRange(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env)
            let everything = try await env.runner().run(env.options(.inbound))
            #expect(everything.outcome == .completed)
            let total = try await env.count("SELECT count(*) FROM crm.appointments")
            let median = try await env.count(
                "SELECT extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY starts_at))::int FROM crm.appointments WHERE recurrence IS NULL"
            )
            let from = Date(timeIntervalSince1970: Double(median))
            // Every CRM appointment outside the range is changed; inside it, every one. A ranged inbound
            // snapshot restores only those inside.
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute("UPDATE crm.appointments SET subject = subject || ' (local)', version = version + 1")
            await db.close()
            let range = SnapshotDateRange(from: from, to: nil)
            #expect(
                try await env.runner().run(env.options(.inbound, kinds: [.appointments], range: range)).outcome
                    == .completed)
            let restored = try await env.count(
                "SELECT count(*) FROM crm.appointments WHERE subject NOT LIKE '% (local)'")
            let untouched = try await env.count("SELECT count(*) FROM crm.appointments WHERE subject LIKE '% (local)'")
            #expect(restored > 0 && untouched > 0)
            #expect(restored + untouched == total)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointments WHERE subject LIKE '% (local)' AND starts_at >= $1 AND recurrence IS NULL",
                    [from]) == 0)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func dryRunCountsAndChangesNothing(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env, appointments: 10, tasks: 5)
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let lines = try await SnapshotDryRun(source: env.source).plan(
                env.options(.inbound).request, store: SyncConnection(db, logger: env.logger))
            #expect(lines.reduce(0) { $0 + $1.create } == 60)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 0)
            #expect(try await env.count("SELECT count(*) FROM sync.runs") == 0)
            await db.close()
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aRunStoppedByItsWindowResumesToTheSameEndState(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env, appointments: 60, tasks: 40)
            env.simulator.control.setFaults(FaultConfiguration(latencyMilliseconds: 20))
            var options = env.options(.inbound)
            options.pageSize = 10
            options.fetchBatchSize = 10
            options.workers = 1
            options.window = RunWindow(deadline: Date().addingTimeInterval(0.4))
            let first = try await env.runner().run(options)
            #expect(first.outcome == .windowEnded)
            env.simulator.control.resetFaults()
            options.window = .unlimited
            let second = try await env.runner().run(options)
            #expect(second.runID == first.runID)
            #expect(second.resumed)
            #expect(second.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 240)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 160)
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func twoRunnersShareOneRunWithoutProcessingAMailboxTwice(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env)
            var options = env.options(.inbound)
            options.workers = 2
            var a = options, b = options
            a.workerName = "host-a"
            b.workerName = "host-b"
            async let first = env.runner().run(a)
            async let second = env.runner().run(b)
            let results = try await [first, second]
            #expect(results[0].runID == results[1].runID)
            #expect(try await env.count("SELECT count(*) FROM sync.run_mailboxes WHERE claims <> 1") == 0)
            #expect(try await env.count("SELECT count(*) FROM sync.run_stages WHERE attempts <> 1") == 0)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120)
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func faultsDuringARunChangeNothingInTheEndState(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 30, appointmentsPerUser: 15, tasksPerUser: 15)
            env.simulator.control.setFaults(
                .throttlingAndLostResponses(
                    sourceProtocol, unavailable: 3, busyEveryNth: 7, busyBackOffMilliseconds: 20, throttled: 10, lost: 2
                ))
            let result = try await env.runner().run(env.options(.outbound))
            env.simulator.control.resetFaults()
            #expect(result.outcome == .completed)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(3))")  // no duplicates, nothing missing
        }
    }

    /// An inbound snapshot, then 25 of the second mailbox's 30 appointments deleted in Exchange (and
    /// `newAppointments` created), then an inbound snapshot of appointments whose reconcile refuses the deletion.
    func inboundRefusingAMassDeletion(
        _ env: PipelineTestEnvironment, newAppointments: Int = 0
    ) async throws
        -> (victim: MailboxOwner, refused: SnapshotResult)
    {
        try seedMailboxes(env)
        #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
        let victim = env.owners[1]
        let refs = try await env.source.itemRefs(in: victim, kind: .appointments, after: nil, pageSize: 1000).refs
        _ = try await env.source.delete(Array(refs.prefix(25)), in: victim, kind: .appointments)
        if newAppointments > 0 {
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: victim.smtpAddress, seed: 777, appointments: newAppointments))
        }
        let refused = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
        #expect(refused.outcome == .completedWithErrors)
        return (victim, refused)
    }

    /// A merge that committed and is then rerun by hand (`snapsync rerun RUN --stage merge`, here after the
    /// reconcile stage refused a mass deletion) merges the same staging again: its new rows, inserted without a
    /// conflict check on the first attempt, are found and kept, never inserted twice.
    @Test(arguments: ExchangeProtocol.allCases)
    func rerunningACommittedMergeCreatesNoDuplicates(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            let (victim, refused) = try await inboundRefusingAMassDeletion(env, newAppointments: 12)
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE owner_id = $1", [victim.userID]) == 30
                    + 12)

            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            #expect(
                try await RunStore.resetStages(runID: refused.runID, mailbox: victim.smtpAddress, from: .merge, db: db)
                    == 3)
            try await RunStore.approveMassDelete(
                runID: refused.runID, mailboxes: [victim.smtpAddress], kinds: [.appointments],
                approvedBy: "test", db: db)
            await db.close()
            #expect(
                try await env.runner().resume(
                    runID: refused.runID, options: env.options(.inbound, kinds: [.appointments])
                ).outcome
                    == .completed)
            #expect(
                try await env.count(
                    """
                    SELECT attempts FROM sync.run_stages WHERE run_id = $1 AND mailbox = $2 AND kind = 'appointments' AND stage = 'merge'
                    """, [refused.runID, victim.smtpAddress]) == 2)
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE owner_id = $1", [victim.userID]) == 5
                    + 12)
            let differences = try await env.differences(kinds: [.appointments])
            #expect(differences.isEmpty, "\(differences.prefix(3))")
        }
    }

    /// Two mailboxes' reconciles refuse a mass deletion (25 of 30 appointments gone from each in Exchange). The
    /// administrator checks one and approves it: `snapsync rerun RUN --stage reconcile --mailbox A --allow-mass-delete`.
    /// A's rows go; B, which nobody checked, keeps all 30 and its reconcile stays refused, untouched by the rerun,
    /// until an approval names B.
    @Test(arguments: ExchangeProtocol.allCases)
    func approvingOneMailboxsMassDeletionLeavesTheOtherMailboxsRows(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedMailboxes(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            let checked = env.owners[1], unchecked = env.owners[2]
            for owner in [checked, unchecked] {
                let refs = try await env.source.itemRefs(in: owner, kind: .appointments, after: nil, pageSize: 1000)
                    .refs
                _ = try await env.source.delete(Array(refs.prefix(25)), in: owner, kind: .appointments)
            }
            let refused = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
            #expect(refused.outcome == .completedWithErrors)
            let rowsOf = "SELECT count(*) FROM crm.appointments WHERE owner_id = $1"
            let reconcileOf = """
                SELECT attempts FROM sync.run_stages WHERE run_id = $1 AND mailbox = $2 AND kind = 'appointments' AND stage = 'reconcile'
                  AND status = 'failed'
                """

            let rerun = try await env.runner().rerun(
                runID: refused.runID, stage: .reconcile, mailbox: checked.smtpAddress,
                allowMassDelete: true, options: env.options(.inbound, kinds: [.appointments]))
            #expect(rerun.outcome == .completedWithErrors)  // the unchecked mailbox's reconcile is still refused
            #expect(try await env.count(rowsOf, [checked.userID]) == 5)
            #expect(try await env.count(rowsOf, [unchecked.userID]) == 30)
            // not attempted again
            #expect(try await env.count(reconcileOf, [refused.runID, unchecked.smtpAddress]) == 1)
            #expect(
                try await env.count(
                    """
                    SELECT claims FROM sync.run_mailboxes WHERE run_id = $1 AND mailbox = $2
                    """, [refused.runID, unchecked.smtpAddress]) == 1)

            // A later `resume` of the run does not delete the unchecked mailbox's rows either: its approval is not B's.
            _ = try await env.runner().resume(
                runID: refused.runID, options: env.options(.inbound, kinds: [.appointments]))
            #expect(try await env.count(rowsOf, [unchecked.userID]) == 30)

            // An approval that names no mailbox is refused before anything runs (usage error).
            let snapsync = KillAndResumeTests()
            #expect(
                try await snapsync.snapsync(
                    env, ["rerun", "\(refused.runID)", "--stage", "reconcile", "--allow-mass-delete"]) == 64)
            #expect(try await env.count(rowsOf, [unchecked.userID]) == 30)
            // Approved by name (the administrator's command), the unchecked mailbox's reconcile deletes.
            #expect(
                try await snapsync.snapsync(
                    env,
                    [
                        "rerun", "\(refused.runID)", "--stage", "reconcile", "--mailbox", unchecked.smtpAddress,
                        "--kind", "appointments", "--allow-mass-delete",
                    ]) == 0)
            #expect(try await env.count(rowsOf, [unchecked.userID]) == 5)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120 - 50)
        }
    }

    /// `rerun --mailbox A` while another mailbox of the run is still pending (its window ended, say): the rerun
    /// answers for A, whose reconcile is refused again without an approval, so it reports errors (exit 4), not
    /// "in progress elsewhere" (exit 0); the pending mailbox is left for `resume`.
    @Test(arguments: ExchangeProtocol.allCases)
    func aRerunOfOneMailboxReportsThatMailboxsOutcome(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            let (victim, refused) = try await inboundRefusingAMassDeletion(env)
            let waiting = env.owners[3]
            try await env.sql(
                "UPDATE sync.run_mailboxes SET status = 'pending' WHERE run_id = $1 AND mailbox = $2",
                [refused.runID, waiting.smtpAddress])
            try await env.sql(
                "UPDATE sync.runs SET status = 'running', finished_at = NULL WHERE id = $1", [refused.runID])
            let again = try await env.runner().rerun(
                runID: refused.runID, stage: .reconcile, mailbox: victim.smtpAddress,
                allowMassDelete: false, options: env.options(.inbound, kinds: [.appointments]))
            #expect(again.outcome == .completedWithErrors)
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE owner_id = $1", [victim.userID]) == 30)
            #expect(
                try await env.count(
                    "SELECT claims FROM sync.run_mailboxes WHERE run_id = $1 AND mailbox = $2",
                    [refused.runID, waiting.smtpAddress]) == 1)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aMailboxReturningFarFewerItemsIsNotReconciledByDeleting(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            let (_, refused) = try await inboundRefusingAMassDeletion(env)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.run_events WHERE run_id = $1 AND event = 'mass-delete-refused'",
                    [refused.runID]) == 1)
            var allowed = env.options(.inbound, kinds: [.appointments])
            allowed.request.allowMassDelete = true
            #expect(try await env.runner().run(allowed).outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 95)
        }
    }
}

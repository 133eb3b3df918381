import EWS
import ExchangeSimulator
import Foundation
import HTTP
import Pipeline
import Postgres
import SyncCore
import SyncStore
import TestSupport
import Testing

/// A CreateItem batch Exchange applied but whose links were never committed: the answer could not be decoded,
/// the answer was lost and the stamp look-up got HTTP 503, or the process was killed while the request was in
/// flight. Then each command an administrator could run next (the same command, `rerun --stage push`, another
/// `--mailbox` scope, `resume`), then an outbound snapshot: Exchange holds every CRM record once, and in the end
/// both sides agree. Through EWS and through Graph (a `$batch` of creates stands for a CreateItem).
@Suite(.serialized) struct CreateRecoveryTests {
    static let mailboxes = ["olga@example.com", "piet@example.com"]
    static let tasksPerUser = 30

    /// What an administrator (or cron) runs after the failed or killed run.
    enum Next: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sameCommand, rerunPush, otherMailboxScope, resume
        var testDescription: String { rawValue }
    }

    /// `snapshot outbound --kind tasks --workers 1 --batch-size 10` (or `--mailbox` the victim).
    func options(_ env: PipelineTestEnvironment, only mailbox: MailboxOwner? = nil) -> SnapshotOptions {
        var options = env.options(.outbound, kinds: [.tasks], mailboxes: mailbox.map { [$0.smtpAddress] })
        options.batchSize = 10
        options.workers = 1
        return options
    }

    /// Runs `next`; nil when it stopped because Exchange did not answer (the run stays unfinished: exit 69).
    func run(
        _ next: Next, after runID: Int64, victim: MailboxOwner, env: PipelineTestEnvironment,
        source: (any MailboxSource)? = nil
    ) async throws -> SnapshotResult? {
        let runner = env.runner(source: source)
        return try await untilExchangeIsUnavailable {
            switch next {
            case .sameCommand: return try await runner.run(options(env))
            case .rerunPush:
                return try await runner.rerun(
                    runID: runID, stage: .push, mailbox: victim.smtpAddress, allowMassDelete: false,
                    options: options(env))
            case .otherMailboxScope: return try await runner.run(options(env, only: victim))
            case .resume: return try await runner.resume(runID: runID, options: options(env))
            }
        }
    }

    /// The result of `body`, or nil when the run stopped because Exchange did not answer.
    func untilExchangeIsUnavailable(_ body: () async throws -> SnapshotResult) async throws -> SnapshotResult? {
        do {
            return try await body()
        } catch let error as PipelineError where error.code == .sourceUnavailable {
            return nil
        }
    }

    /// The victim's tasks Exchange holds, and how many CRM ids are on more than one of them.
    func tasksInExchange(
        _ env: PipelineTestEnvironment, _ owner: MailboxOwner
    ) async throws -> (items: Int, duplicated: Int) {
        let differences = try await env.differences(kinds: [.tasks])
        let refs = try await env.source.allItemRefs(in: owner, kind: .tasks, pageSize: 1000)
        return (
            refs.count,
            differences.filter { $0.mailbox == owner.smtpAddress && $0.problem == .duplicateInExchange }.count
        )
    }

    func expectConverges(_ env: PipelineTestEnvironment) async throws {
        #expect(try await env.runner().run(options(env)).outcome == .completed)
        let differences = try await env.differences(kinds: [.tasks])
        #expect(differences.isEmpty, "\(differences.prefix(3))")
        for owner in env.owners { #expect(try await tasksInExchange(env, owner).items == Self.tasksPerUser) }
    }

    /// Seeds the CRM's tasks and puts a fault proxy in front of the simulator; `body` gets the victim (the first
    /// mailbox, whose create the test breaks), the proxy and a mailbox source reaching Exchange through it.
    func withProxy(
        _ env: PipelineTestEnvironment,
        _ body: (MailboxOwner, ExchangeFaultProxy, any MailboxSource) async throws -> Void
    ) async throws {
        try await seedCRM(env, contacts: 0, appointmentsPerUser: 0, tasksPerUser: Self.tasksPerUser)
        let proxy = try await ExchangeFaultProxy.start(for: env)
        let (source, http) = try proxy.makeSource(env)
        defer { http.shutdown() }
        try await body(env.owners[0], proxy, source)
        try await proxy.shutdown()
    }

    /// Runs `snapsync ARGS` through the proxy, which holds the answer of the victim's first CreateItem, and kills it
    /// (`kill -9`) once Exchange holds the `created` items that request applied.
    func killWhileACreateIsInFlight(
        _ env: PipelineTestEnvironment, _ arguments: [String], victim: MailboxOwner,
        proxy: ExchangeFaultProxy, created: Int
    ) async throws {
        proxy.ledger.inject(.holdAnswer, operation: "CreateItem", mailbox: victim.smtpAddress, count: 1)
        let process = try KillAndResumeTests().start(env, arguments, endpoint: proxy.endpoint)
        let deadline = Date().addingTimeInterval(60)
        while try await tasksInExchange(env, victim).items < created && Date() < deadline && process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(proxy.ledger.count("CreateItem", mailbox: victim.smtpAddress, .holdAnswer) == 1)
        await process.kill()
        #expect(try await tasksInExchange(env, victim).items == created)
        #expect(try await env.count("SELECT count(*) FROM sync.links WHERE mailbox = $1", [victim.smtpAddress]) == 0)
    }

    /// The outbound snapshot the fault breaks: the victim's first batch (10 tasks) is in Exchange and no link
    /// knows it; the run ends with errors or, when `unavailable`, stops because Exchange does not answer the
    /// look-up and stays unfinished. Returns the run.
    func runBrokenByTheFault(
        _ env: PipelineTestEnvironment, through source: any MailboxSource, victim: MailboxOwner,
        unavailable: Bool = false
    ) async throws -> Int64 {
        let failed = try await untilExchangeIsUnavailable { try await env.runner(source: source).run(options(env)) }
        if unavailable {
            #expect(failed == nil)
            #expect(try await env.count("SELECT count(*) FROM sync.runs WHERE status = 'running'") == 1)
        } else {
            #expect(failed?.outcome == .completedWithErrors)
        }
        #expect(try await tasksInExchange(env, victim).items == 10)
        #expect(try await env.count("SELECT count(*) FROM sync.links WHERE mailbox = $1", [victim.smtpAddress]) == 0)
        return Int64(try await env.count("SELECT max(id)::int FROM sync.runs"))
    }

    /// Runs `next`; the victim's mailbox holds each record once; a plain outbound snapshot then ends in sync.
    func runThenConverge(
        _ next: Next, after runID: Int64, victim: MailboxOwner, env: PipelineTestEnvironment,
        source: (any MailboxSource)? = nil
    ) async throws {
        _ = try await run(next, after: runID, victim: victim, env: env, source: source)
        #expect(try await tasksInExchange(env, victim).duplicated == 0)
        try await expectConverges(env)
    }

    /// The first batch of the victim's (10 tasks) is applied by Exchange; its answer is cut in half.
    @Test(arguments: ExchangeProtocol.allCases, Next.allCases)
    func anUndecodableCreateAnswerIsNotCreatedAgain(_ sourceProtocol: ExchangeProtocol, next: Next) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await withProxy(env) { victim, proxy, source in
                proxy.ledger.inject(.corruptAnswer, operation: "CreateItem", mailbox: victim.smtpAddress, count: 1)
                let runID = try await runBrokenByTheFault(env, through: source, victim: victim)
                #expect(proxy.ledger.count("CreateItem", mailbox: victim.smtpAddress, .corruptAnswer) == 1)
                try await runThenConverge(next, after: runID, victim: victim, env: env, source: source)
            }
        }
    }

    /// The first batch of the victim's is applied, its answer lost, and the stamp look-up that follows gets 503.
    /// While the look-up still gets 503 the next command creates nothing in the victim's mailbox; once it answers,
    /// the next command links what the lost batch created.
    @Test(arguments: ExchangeProtocol.allCases, Next.allCases)
    func aLostCreateWhoseLookUpFailedIsNotCreatedAgain(_ sourceProtocol: ExchangeProtocol, next: Next) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await withProxy(env) { victim, proxy, source in
                proxy.ledger.inject(.loseAnswer, operation: "CreateItem", mailbox: victim.smtpAddress, count: 1)
                proxy.ledger.inject(.unavailable, operation: "FindItem", mailbox: victim.smtpAddress)
                let runID = try await runBrokenByTheFault(env, through: source, victim: victim, unavailable: true)
                // Through EWS the run looks the lost create up at once; through Graph the lost answer of the `$batch`
                // stops it, and the next command's look-up is the first.
                if sourceProtocol == .ews {
                    #expect(proxy.ledger.count("FindItem", mailbox: victim.smtpAddress, .unavailable) > 0)
                }

                // Exchange still refuses the look-up: nothing is created in the victim's mailbox.
                let creates = proxy.ledger.count("CreateItem", mailbox: victim.smtpAddress, .forward)
                #expect(try await run(next, after: runID, victim: victim, env: env, source: source) == nil)
                #expect(proxy.ledger.count("FindItem", mailbox: victim.smtpAddress, .unavailable) > 0)
                #expect(proxy.ledger.count("CreateItem", mailbox: victim.smtpAddress, .forward) == creates)
                let untouched = try await tasksInExchange(env, victim)
                #expect(untouched.items == 10 && untouched.duplicated == 0)

                proxy.ledger.clearFaults()
                try await runThenConverge(next, after: runID, victim: victim, env: env, source: source)
            }
        }
    }

    /// `snapsync snapshot outbound` is killed (`kill -9`) while Exchange has applied the victim's first CreateItem
    /// batch and not answered it yet.
    @Test(arguments: ExchangeProtocol.allCases, Next.allCases)
    func aCreateInFlightWhenKilledIsNotCreatedAgain(_ sourceProtocol: ExchangeProtocol, next: Next) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await withProxy(env) { victim, proxy, _ in
                try await killWhileACreateIsInFlight(
                    env, ["snapshot", "outbound", "--kind", "tasks", "--workers", "1", "--batch-size", "10"],
                    victim: victim, proxy: proxy, created: 10)
                let runID = Int64(try await env.count("SELECT max(id)::int FROM sync.runs"))
                try await runThenConverge(next, after: runID, victim: victim, env: env)
            }
        }
    }

    /// A series whose exceptions Exchange refused is deleted again; when Exchange refuses that delete too, the master
    /// stays with its CRM id stamped. The batch's intent stays open, so the next run links and rewrites that master
    /// instead of creating the series a second time.
    @Test(arguments: ExchangeProtocol.allCases)
    func aSeriesLeftBehindByARefusedRollbackIsNotCreatedAgain(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 0, appointmentsPerUser: 10, tasksPerUser: 0)  // two series each
            let victim = env.owners[0]
            let proxy = try await ExchangeFaultProxy.start(for: env)
            let (source, http) = try proxy.makeSource(env)
            defer { http.shutdown() }
            // the moved occurrence
            proxy.ledger.inject(.unavailable, operation: "UpdateItem", mailbox: victim.smtpAddress)
            // the cancelled one, the rollback
            proxy.ledger.inject(.unavailable, operation: "DeleteItem", mailbox: victim.smtpAddress)
            var options = env.options(.outbound, kinds: [.appointments])
            options.workers = 1
            // Exchange does not answer the rollback: the run stops as unavailable and stays unfinished.
            #expect(try await untilExchangeIsUnavailable { try await env.runner(source: source).run(options) } == nil)
            let masters = try await env.source.allItemRefs(in: victim, kind: .appointments, pageSize: 1000).count
            #expect(masters == 10)  // the two series' masters could not be deleted again

            proxy.ledger.clearFaults()
            #expect(try await env.runner(source: source).run(options).outcome == .completed)
            #expect(try await env.source.allItemRefs(in: victim, kind: .appointments, pageSize: 1000).count == 10)
            let differences = try await env.differences(kinds: [.appointments])
            #expect(differences.isEmpty, "\(differences.prefix(3))")
            try await proxy.shutdown()
        }
    }

    /// `snapsync sync run --once` is killed while Exchange has applied the outbox's CreateItem and not answered it:
    /// its entries were never marked as tried, so nothing but the create intent tells the next pass to look first.
    @Test(arguments: ExchangeProtocol.allCases)
    func anOutboxCreateInFlightWhenKilledIsNotCreatedAgain(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.setSync(true)  // the CRM's tasks are queued as creates
            try await withProxy(env) { victim, proxy, _ in
                // The pass sends the victim's 30 creates at once: in one CreateItem, or in `$batch`es of 20 of which
                // the first is held.
                try await killWhileACreateIsInFlight(
                    env, ["sync", "run", "--once"], victim: victim, proxy: proxy,
                    created: sourceProtocol == .ews ? Self.tasksPerUser : 20)
                #expect(try await env.count("SELECT count(*) FROM sync.outbox WHERE attempts > 0") == 0)

                // the killed pass's claim has expired
                try await env.sql("UPDATE sync.outbox SET next_attempt_at = now()")
                _ = try await env.pass()
                #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
                let held = try await tasksInExchange(env, victim)
                #expect(held.items == Self.tasksPerUser && held.duplicated == 0)
                let differences = try await env.differences(kinds: [.tasks])
                #expect(differences.isEmpty, "\(differences.prefix(3))")
            }
        }
    }

    /// Copies an older build created twice: `doctor` reports them and prescribes `snapsync dedupe`, which deletes the
    /// extra copies and keeps the linked one (or, when no copy is linked, the first, which it links).
    @Test(arguments: ExchangeProtocol.allCases)
    func doctorReportsDuplicatesAndDedupeRemovesTheExtraCopies(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 0, appointmentsPerUser: 0, tasksPerUser: Self.tasksPerUser)
            #expect(try await env.runner().run(options(env)).outcome == .completed)
            let victim = env.owners[0]
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let records = try await db.run { db in try CRMStore.records(.tasks, mailbox: victim, db: db) }
            let twice = records.values.map(\.record).sorted { $0.id.uuidString < $1.id.uuidString }.prefix(6)
            // Four linked records get a second copy; two lose their link and get a second copy too (a create applied
            // twice whose links never committed).
            _ = try await env.source.create(Array(twice), in: victim)
            let unlinked = twice.suffix(2).map(\.id)
            try await db.execute(
                "DELETE FROM sync.links WHERE mailbox = $1 AND crm_id = ANY($2::uuid[])",
                [victim.smtpAddress, unlinked])
            #expect(try await tasksInExchange(env, victim).items == Self.tasksPerUser + 6)

            let diagnosis = try await env.diagnose()
            let finding = diagnosis.findings.first { $0.scenario == .duplicates }
            #expect(finding?.mailboxes == [victim.smtpAddress])
            #expect(
                finding?.details == [
                    "\(victim.smtpAddress): 6 extra tasks item(s) carry the CRM id of another item of the folder; the linked copy is kept"
                ])
            #expect(finding?.steps.map(\.description) == ["snapsync dedupe --mailbox \(victim.smtpAddress)"])
            #expect(diagnosis.plan.contains(.removeDuplicates(mailboxes: [victim.smtpAddress])))

            // The prescribed command, as an administrator types it.
            #expect(try await KillAndResumeTests().snapsync(env, ["dedupe", "--mailbox", victim.smtpAddress]) == 0)
            #expect(try await tasksInExchange(env, victim).items == Self.tasksPerUser)
            #expect(
                try await env.count("SELECT count(*) FROM sync.links WHERE mailbox = $1", [victim.smtpAddress])
                    == Self.tasksPerUser)
            let differences = try await env.differences(kinds: [.tasks])
            #expect(differences.isEmpty, "\(differences.prefix(3))")
            #expect(try await env.diagnose().findings.allSatisfy { $0.scenario != .duplicates })
            // `doctor --fix` carries the same step out.
            _ = try await env.source.create([twice[twice.startIndex]], in: victim)
            let again = try await env.diagnose()
            #expect(again.plan == [.removeDuplicates(mailboxes: [victim.smtpAddress])])
            try await env.fix(again)
            #expect(try await tasksInExchange(env, victim).items == Self.tasksPerUser)
            // Nothing is created again afterwards.
            #expect(try await env.runner().run(options(env)).outcome == .completed)
            #expect(try await tasksInExchange(env, victim).items == Self.tasksPerUser)
            await db.close()
        }
    }
}

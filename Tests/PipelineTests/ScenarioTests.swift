import EWS
import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing
import TestSupport

extension PipelineTestEnvironment {
    /// Nothing lost or doubled: per mailbox and kind, as many CRM rows belong in the mailbox as its folder holds
    /// items (each id once) and as there are links, and no item has two links.
    func expectNoDuplicates(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        for owner in owners {
            for kind in ItemKind.allCases {
                let (rows, links) = try await db.run { db in
                    (
                        try CRMStore.records(kind, mailbox: owner, db: db).count,
                        try LinkStore.count(mailbox: owner.smtpAddress, kind: kind, db: db)
                    )
                }
                let items = try await source.allItemRefs(in: owner, kind: kind, pageSize: 1000).map(\.id)
                let place = "\(owner.smtpAddress) \(kind.rawValue)"
                #expect(
                    Set(items).count == items.count, "\(place): an item listed twice", sourceLocation: sourceLocation)
                #expect(
                    rows == items.count, "\(place): \(rows) CRM rows, \(items.count) items",
                    sourceLocation: sourceLocation)
                #expect(links == rows, "\(place): \(links) links for \(rows) CRM rows", sourceLocation: sourceLocation)
            }
        }
        let itemsLinkedTwice = try await db.query(
            """
            SELECT count(*) FROM (SELECT 1 FROM sync.links GROUP BY mailbox, item_id HAVING count(*) > 1) twice
            """)[0].decode(Int.self, at: 0)
        await db.close()
        #expect(itemsLinkedTwice == 0, sourceLocation: sourceLocation)
    }
}

/// Recovery scenarios 1, 2, 5, 6, 7 and 10 of ../shared/docs/recovery-scenarios.md, end to end on a real
/// PostgreSQL and the simulator, through EWS and through Graph: create the situation, check that the doctor names it
/// and prescribes its action, apply the action, end in sync with nothing lost or doubled (and the doctor finding
/// nothing left to do).
@Suite(.serialized) struct ScenarioTests {
    static let mailboxes = ["sa@example.com", "sb@example.com"]
    /// A PostgreSQL nobody listens on: the CRM is down.
    static let crmDown = "host=127.0.0.1 port=1 dbname=crm connect_timeout=2"

    /// What the doctor finds while the CRM is down, asked about one mailbox (so it probes Exchange too).
    func diagnoseWithCRMDown(_ env: PipelineTestEnvironment) async throws -> RecoveryDiagnosis {
        let doctor = RecoveryDoctor(conninfo: Self.crmDown, source: env.source, logger: env.logger)
        let facts = try await doctor.gatherFacts(mailbox: Self.mailboxes[0])
        #expect(!facts.postgresReachable)
        return RecoveryDiagnosis(facts)
    }

    /// The doctor has nothing left to report.
    func expectDoctorFindsNothing(
        _ env: PipelineTestEnvironment, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let after = try await env.diagnose()
        #expect(after.findings.isEmpty, "\(after.findings)", sourceLocation: sourceLocation)
    }

    func seedExchange(_ env: PipelineTestEnvironment, items: Int = 20) throws {
        for (index, mailbox) in Self.mailboxes.enumerated() {
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: mailbox, seed: UInt64(500 + index), appointments: items, tasks: items))
        }
    }

    /// Changes a task's subject in Exchange (as a user in Outlook would).
    func editInExchange(_ env: PipelineTestEnvironment, subject: String, count: Int = 1) async throws {
        let owner = env.owners[0]
        let refs = try await env.source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 100).refs
        for item in try await env.source.items(Array(refs.prefix(count)), in: owner, kind: .tasks) {
            guard case .success(let item) = item, case .task(var task) = item.record else { continue }
            task.subject = subject
            _ = try await env.source.update([MailboxUpdate(ref: item.ref, record: .task(task))], in: owner)
        }
    }

    /// `snapsync sync run --once` against an unreachable database: the CRM is down.
    func syncPassWithCRMDown(_ env: PipelineTestEnvironment) async throws -> Int32 {
        let process = try KillAndResumeTests().start(env, ["sync", "run", "--once"], database: Self.crmDown)
        return await process.wait().status
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario01_newEmptyCRMWithSyncJustOn_inboundSnapshotInStagesWithAnalyze(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env, items: 400)
            try await env.setSync(true)
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.newEmptyCRM], "\(diagnosis.findings)")
            #expect(diagnosis.plan == [.snapshot(.inbound, mailboxes: Self.mailboxes)])
            var options = env.options(.inbound)
            options.analyzePolicy = AnalyzePolicy(threshold: 0.10, minimumChangedRows: 100)
            let result = try await env.runner().run(options)
            #expect(result.outcome == .completed)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.run_events WHERE run_id = $1 AND event = 'analyze'", [result.runID]) > 0)
            // the snapshot's writes are not echoed
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            try await env.expectInSync()
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 2 * 400)
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario02_bothUpSyncOnForTheFirstTime_inboundAndOutboundSnapshot(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env)
            try await seedCRM(env, contacts: 30, appointmentsPerUser: 10, tasksPerUser: 10)
            try await env.setSync(true)
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.firstSync], "\(diagnosis.findings)")
            // CRM records first, then Exchange's (as in scenario 8); what doctor prints is what --fix runs.
            #expect(
                diagnosis.findings.first?.steps == [
                    .snapshot(.outbound, mailboxes: Self.mailboxes),
                    .snapshot(.inbound, mailboxes: Self.mailboxes),
                ])
            #expect(diagnosis.plan == diagnosis.findings.first?.steps)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 2 * 20 + 2 * 10)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 2 * 20 + 2 * 10)
            try await env.expectInSync()
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario05_crmDownWithSyncOn_exchangeChangesArePulledWhenItIsBack(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            try await editInExchange(env, subject: "Changed while the CRM was down", count: 3)
            #expect(try await syncPassWithCRMDown(env) == 69)  // unavailable; nothing lost
            let diagnosis = try await diagnoseWithCRMDown(env)
            #expect(diagnosis.findings.map(\.scenario) == [.crmDown], "\(diagnosis.findings)")
            #expect(diagnosis.findings.first?.steps.allSatisfy { !$0.isAction } == true)  // action: none
            #expect(diagnosis.plan.isEmpty)
            // The CRM is back: still nothing to do, live sync catches up.
            let back = try await env.diagnose()
            #expect(back.isHealthy && back.plan.isEmpty, "\(back.findings)")
            let report = try await env.pass()
            #expect(report.pulled == 3)
            #expect(
                try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Changed while the CRM was down'")
                    == 3)
            try await env.expectInSync()
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario06_crmDownWithSyncOff_switchOnThenInboundSnapshot(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            try await env.setSync(false)  // switched off (e.g. for the CRM's outage): no CRM change since
            try await editInExchange(env, subject: "Changed while sync was off", count: 2)
            _ = try await env.source.delete(
                [
                    try await env.source.itemRefs(in: env.owners[1], kind: .appointments, after: nil, pageSize: 1).refs[
                        0]
                ],
                in: env.owners[1], kind: .appointments)
            #expect(try await env.pass().pulled == 0)  // sync off: Exchange is not read
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.crmDownSyncWasOff], "\(diagnosis.findings)")
            #expect(diagnosis.plan == [.enableSync(mailbox: nil), .snapshot(.inbound, mailboxes: Self.mailboxes)])
            try await env.setSync(true)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(
                try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Changed while sync was off'") == 2)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 2 * 20 - 1)
            try await env.expectInSync()
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario07_bothDown_bothCatchUpFromQueueAndSyncState(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            try await env.setSync(true)
            try await editInExchange(env, subject: "Exchange change before the outage")
            try await env.sql(
                "UPDATE crm.appointments SET location = 'Queued in the CRM', version = version + 1 WHERE id IN (SELECT id FROM crm.appointments ORDER BY id LIMIT 4)"
            )
            try await env.simulator.control.goDown()
            #expect(try await syncPassWithCRMDown(env) == 69)
            let diagnosis = try await diagnoseWithCRMDown(env)
            #expect(diagnosis.findings.map(\.scenario) == [.bothDown], "\(diagnosis.findings)")
            #expect(diagnosis.findings.first?.steps.allSatisfy { !$0.isAction } == true)  // action: none
            #expect(diagnosis.plan.isEmpty)
            #expect(try await env.pass().exchangeUnavailable)
            try await env.simulator.control.comeUp()
            // Both back: nothing to do, the queue and the sync states catch up.
            let back = try await env.diagnose()
            #expect(back.isHealthy && back.plan.isEmpty, "\(back.findings)")
            try await env.sql("UPDATE sync.outbox SET next_attempt_at = now()")
            let report = try await env.pass()
            #expect(report.delivered == 4)
            #expect(report.pulled == 1)
            try await env.expectInSync()
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario10_crmRestoredFromAnOlderBackup_exchangeRedeliversAndTheCRMConverges(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try seedExchange(env)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            let dump = FileManager.default.temporaryDirectory.appendingPathComponent(
                "snapsync-scenario10-\(UUID()).dump"
            ).path
            defer { try? FileManager.default.removeItem(atPath: dump) }
            #expect(try await Self.pgTool("pg_dump", ["-Fc", "-f", dump, "-d", env.conninfo]) == 0)
            // Work after the backup: Exchange edits pulled, CRM edits delivered.
            try await editInExchange(env, subject: "Edited after the backup", count: 2)
            try await env.sql(
                "UPDATE crm.appointments SET location = 'CRM edit after the backup', version = version + 1 WHERE id IN (SELECT id FROM crm.appointments ORDER BY id LIMIT 2)"
            )
            let before = try await env.pass()
            #expect(before.pulled == 2 && before.delivered == 2)
            // The CRM database is restored from the backup (sync was not switched off).
            let probe = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let name = try await probe.query("SELECT current_database()")[0].decode(String.self, at: 0)
            await probe.close()
            let admin = try await PostgresConnection.connect(
                try await TestDatabase.serverConninfo(), logger: env.logger)
            try await admin.executeScript("DROP DATABASE \(PostgresIdentifier(name)) WITH (FORCE)")
            try await admin.executeScript("CREATE DATABASE \(PostgresIdentifier(name)) TEMPLATE template0")
            await admin.close()
            #expect(try await Self.pgTool("pg_restore", ["-d", env.conninfo, dump]) == 0)
            #expect(
                try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Edited after the backup'") == 0)
            // Prescribed action: none. The restored (older, still valid) sync state makes Exchange re-deliver: the
            // doctor finds the restored CRM in step (no snapshot prescribed).
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.isEmpty, "\(diagnosis.findings)")
            #expect(diagnosis.plan.isEmpty)
            _ = try await env.pass()
            #expect(
                try await env.count("SELECT count(*) FROM crm.tasks WHERE subject = 'Edited after the backup'") == 2)
            try await env.expectInSync()
            try await env.expectNoDuplicates()
            try await expectDoctorFindsNothing(env)
        }
    }

    /// Runs a PostgreSQL client tool (`SNAPSYNC_PG_BIN`, the newest /usr/lib/postgresql/*/bin, or PATH).
    static func pgTool(_ tool: String, _ arguments: [String]) async throws -> Int32 {
        var candidates: [String] = []
        if let bin = ProcessInfo.processInfo.environment["SNAPSYNC_PG_BIN"] { candidates.append("\(bin)/\(tool)") }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("/usr/lib/postgresql/\(version)/bin/\(tool)")
        }
        candidates.append("/usr/bin/\(tool)")
        let path = try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "\(tool) not found")
        return try await ChildProcess.run(URL(fileURLWithPath: path), arguments).status
    }
}

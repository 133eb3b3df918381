import EWS
import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

extension PipelineTestEnvironment {
    func doctor() -> RecoveryDoctor { RecoveryDoctor(conninfo: conninfo, source: source, logger: logger) }

    func diagnose() async throws -> RecoveryDiagnosis { RecoveryDiagnosis(try await doctor().gatherFacts()) }

    /// `doctor --fix --yes`: carries the plan out; every step must succeed.
    func fix(_ diagnosis: RecoveryDiagnosis) async throws {
        let outcomes = try await doctor().fix(diagnosis.plan, actor: "test") {
            options($0.direction, mailboxes: $0.mailboxes)
        }
        #expect(outcomes.allSatisfy { $0.succeeded }, "\(outcomes)")
    }

    /// Seeds the CRM, runs an outbound then an inbound snapshot and switches sync on: both sides in step.
    func syncedBaseline() async throws {
        try await seedCRM(self, contacts: 6, appointmentsPerUser: 4, tasksPerUser: 4)
        #expect(try await runner().run(options(.outbound)).outcome == .completed)
        #expect(try await runner().run(options(.inbound)).outcome == .completed)
        try await setSync(true)
        let diagnosis = try await diagnose()
        #expect(diagnosis.findings.isEmpty, "\(diagnosis.findings)")
    }

    /// No difference between the CRM and the mailboxes.
    func expectInSync(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let found = try await differences()
        #expect(found.isEmpty, "\(found.prefix(5))", sourceLocation: sourceLocation)
    }
}

/// `snapsync doctor` end to end on a real PostgreSQL and the simulator, through EWS and through Graph: it names the
/// scenario and the prescribed action, and carrying the action out ends in sync. Through Graph, a mailbox restored
/// from a backup (scenario 9) shows as a delta link answered 410 `SyncStateNotFound`, EWS's
/// `ErrorInvalidSyncStateData`.
@Suite(.serialized) struct RecoveryDoctorTests {
    static let mailboxes = ["nina@example.com", "otto@example.com"]

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario3ExchangeDownWithSyncOnNeedsNothingAndLosesNothing(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            try await env.simulator.control.goDown()
            try await env.sql(
                "UPDATE crm.tasks SET subject = subject || ' (edited)', version = version + 1, updated_at = now()")
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.exchangeDown], "\(diagnosis.findings)")
            #expect(diagnosis.isHealthy)
            #expect(diagnosis.plan.isEmpty)
            #expect(diagnosis.findings.first?.details.joined().contains("8 pending") == true)
            try await env.simulator.control.comeUp()
            try await env.sql("UPDATE sync.outbox SET next_attempt_at = now()")
            #expect(try await env.pass().delivered == 8)
            try await env.expectInSync()
            let after = try await env.diagnose()
            #expect(after.findings.isEmpty, "\(after.findings)")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario4ExchangeDownWithSyncOffSwitchesOnThenOutboundWhenBack(_ sourceProtocol: ExchangeProtocol) async throws
    {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            try await env.setSync(false)
            try await env.simulator.control.goDown()
            try await env.sql(
                "UPDATE crm.tasks SET subject = subject || ' (offline)', version = version + 1, updated_at = now()")
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)  // never queued
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.exchangeDownSyncWasOff], "\(diagnosis.findings)")
            #expect(
                diagnosis.findings.first?.steps == [
                    .enableSync(mailbox: nil), .snapshot(.outbound, mailboxes: Self.mailboxes),
                ])
            #expect(diagnosis.plan == [.enableSync(mailbox: nil)])
            try await env.fix(diagnosis)
            #expect(try await env.count("SELECT count(*) FROM sync.settings WHERE enabled") == 1)
            try await env.simulator.control.comeUp()
            let back = try await env.diagnose()
            #expect(back.plan.contains(.snapshot(.outbound, mailboxes: Self.mailboxes)), "\(back.findings)")
            try await env.fix(back)
            try await env.expectInSync()
            let after = try await env.diagnose()
            #expect(after.findings.isEmpty, "\(after.findings)")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario8SyncWasOffSwitchesOnThenOutboundThenInbound(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            try await env.setSync(false)
            // Both sides change while sync is off: nothing is queued, nothing is pulled.
            try await env.sql(
                "UPDATE crm.tasks SET subject = subject || ' (crm)', version = version + 1, updated_at = now() WHERE owner_id = $1",
                [env.owners[0].userID])
            let owner = env.owners[1]
            let refs = try await env.source.itemRefs(in: owner, kind: .appointments, after: nil, pageSize: 10).refs
            let item = try #require(try await env.source.items([refs[0]], in: owner, kind: .appointments).first?.get())
            guard case .appointment(var appointment) = item.record else { Issue.record("not an appointment"); return }
            appointment.subject = "Moved in Outlook"
            _ = try await env.source.update(
                [MailboxUpdate(ref: item.ref, record: .appointment(appointment))], in: owner)
            _ = try await env.pass()  // sync is off: does nothing

            let diagnosis = try await env.diagnose()
            let eight = try #require(diagnosis.findings.first { $0.scenario == .syncWasOff }, "\(diagnosis.findings)")
            #expect(
                eight.steps == [
                    .enableSync(mailbox: nil), .snapshot(.outbound, mailboxes: [Self.mailboxes[0]]),
                    .snapshot(.inbound, mailboxes: [Self.mailboxes[0]]),
                ])
            // The other mailbox had no CRM change: switch on and inbound only (as after a CRM outage, scenario 6).
            let six = try #require(diagnosis.findings.first { $0.scenario == .crmDownSyncWasOff })
            #expect(six.steps == [.enableSync(mailbox: nil), .snapshot(.inbound, mailboxes: [Self.mailboxes[1]])])
            #expect(
                diagnosis.plan == [
                    .enableSync(mailbox: nil), .snapshot(.outbound, mailboxes: [Self.mailboxes[0]]),
                    .snapshot(.inbound, mailboxes: Self.mailboxes),
                ])
            try await env.fix(diagnosis)
            try await env.expectInSync()
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE subject = 'Moved in Outlook'") == 1)
            let after = try await env.diagnose()
            #expect(after.findings.isEmpty, "\(after.findings)")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario9MailboxRestoredFromBackupNeedsAnInboundSnapshotOfThatMailbox(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            let address = Self.mailboxes[0]
            try env.simulator.control.backup(name: "monday", mailbox: address)
            // Work after the backup reaches the CRM through live sync (the stored sync state moves past the backup).
            let owner = env.owners[0]
            let ref = try await env.source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 10).refs[0]
            _ = try await env.source.delete([ref], in: owner, kind: .tasks)
            #expect(try await env.pass().pulled == 1)
            try env.simulator.control.restore(name: "monday", mailbox: address)

            // No live-sync pass since the restore: the probe itself finds the rejected sync state.
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.exchangeRestored], "\(diagnosis.findings)")
            #expect(diagnosis.findings.first?.mailboxes == [address])
            #expect(diagnosis.plan == [.snapshot(.inbound, mailboxes: [address])])
            try await env.fix(diagnosis)
            try await env.expectInSync()
            let after = try await env.diagnose()
            #expect(after.findings.isEmpty, "\(after.findings)")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func scenario11CRMDataLostIsRestoredByAFullSnapshotFromExchange(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            // Rows lost behind snapsync's back (a bad script, a partial restore): nothing queued, links dangle.
            let owner = env.owners[0].userID.uuidString.lowercased()
            try await env.sql(
                """
                DO $$ BEGIN
                    PERFORM set_config('snapsync.origin', 'exchange', true);
                    DELETE FROM crm.appointments WHERE owner_id = '\(owner)';
                END $$
                """)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.map(\.scenario) == [.dataLost], "\(diagnosis.findings)")
            #expect(diagnosis.plan == [.snapshot(.fullFromExchange, mailboxes: [Self.mailboxes[0]])])
            try await env.fix(diagnosis)
            try await env.expectInSync()
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE owner_id = $1", [env.owners[0].userID])
                    == 4)
            let after = try await env.diagnose()
            #expect(after.findings.isEmpty, "\(after.findings)")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func parkedItemsAndUnfinishedRunsAreReportedWithTheirAction(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await env.syncedBaseline()
            try await env.sql(
                "UPDATE crm.tasks SET subject = 'parked', version = version + 1, updated_at = now() WHERE id = (SELECT min(id::text)::uuid FROM crm.tasks)"
            )
            try await env.sql(
                "UPDATE sync.outbox SET parked = true, attempts = 5, last_error = 'ErrorInvalidPropertyValue: rejected'"
            )
            let runID = try await env.count(
                "INSERT INTO sync.runs (direction, kinds, signature) VALUES ('inbound', '{tasks}', 'x') RETURNING id::int"
            )
            let diagnosis = try await env.diagnose()
            #expect(Set(diagnosis.findings.map(\.scenario)) == [.parkedItems, .unfinishedRun], "\(diagnosis.findings)")
            #expect(diagnosis.findings.contains { $0.details.contains { $0.contains("ErrorInvalidPropertyValue") } })
            #expect(diagnosis.plan == [.resume(runID: Int64(runID)), .retryParked])
        }
    }
}

/// `snapsync onboard` end to end.
@Suite(.serialized) struct OnboardingTests {
    func onboarding(_ env: PipelineTestEnvironment, window: SnapshotDateRange? = nil) -> Onboarding {
        var onboarding = Onboarding(conninfo: env.conninfo, source: env.source, logger: env.logger)
        onboarding.snapshotRange = window
        onboarding.snapshotOptions = { @Sendable request in
            var options = SnapshotOptions(request: request)
            options.workers = 1
            return options
        }
        return onboarding
    }

    @Test func anActivatedMailboxIsLinkedSwitchedOnSnapshottedInItsWindowAndItsRowDeleted() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["pia@example.com"]) { env in
            #expect(env.simulator.control.createMailbox("quinn@example.com"))
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: "quinn@example.com", seed: 3, appointments: 6, tasks: 6))
            let userID = UUID()
            try await env.sql("INSERT INTO crm.users (id, login, display_name) VALUES ($1, 'quinn', 'Quinn')", [userID])
            try await env.sql("INSERT INTO sync.onboarding (mailbox, user_login) VALUES ('quinn@example.com', 'quinn')")
            let window = OnboardingDecision.window(now: Date(), daysPast: 3650, daysFuture: 3650)
            let report = try await onboarding(env, window: window).run()
            #expect(report.activated == ["quinn@example.com"])
            #expect(report.failed.isEmpty)
            #expect(try await env.count("SELECT count(*) FROM sync.onboarding") == 0)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.users WHERE login = 'quinn' AND mailbox = 'quinn@example.com'") == 1)
            #expect(
                try await env.count("SELECT count(*) FROM sync.journal WHERE mailbox = 'quinn@example.com' AND enabled")
                    == 1)
            #expect(
                try await env.count(
                    """
                    SELECT count(DISTINCT r.direction) FROM sync.runs r JOIN sync.run_mailboxes m ON m.run_id = r.id
                    WHERE m.mailbox = 'quinn@example.com' AND r.status = 'completed' AND r.from_date IS NOT NULL
                    """) == 2)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks WHERE owner_id = $1", [userID]) == 6)
        }
    }

    @Test func aBadRowCountsAnAttemptKeepsItsReasonAndIsSkippedAtTheLimit() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["pia@example.com"]) { env in
            try await env.sql("INSERT INTO crm.users (id, login, display_name) VALUES ($1, 'rita', 'Rita')", [UUID()])
            try await env.sql(
                """
                INSERT INTO sync.onboarding (mailbox, user_login, attempts) VALUES
                    ('nobody@example.com', 'rita', 0), ('sam@example.com', 'ghost', 0), ('tom@example.com', 'tom', 5)
                """)
            let report = try await onboarding(env).run()
            #expect(report.activated.isEmpty)
            #expect(report.failed.map(\.mailbox) == ["nobody@example.com", "sam@example.com"])
            #expect(report.skipped.map(\.mailbox) == ["tom@example.com"])
            #expect(
                try await env.count("SELECT attempts FROM sync.onboarding WHERE mailbox = 'nobody@example.com'") == 1)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.onboarding WHERE mailbox = 'nobody@example.com' AND last_error LIKE '%mailbox test failed%'"
                ) == 1)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.onboarding WHERE mailbox = 'sam@example.com' AND last_error LIKE '%no CRM user has the login ghost%'"
                ) == 1)
            // not linked
            #expect(try await env.count("SELECT count(*) FROM crm.users WHERE login = 'rita' AND mailbox IS NULL") == 1)
            #expect(try await env.count("SELECT attempts FROM sync.onboarding WHERE mailbox = 'tom@example.com'") == 5)
            // A mailbox that belongs to another user is refused.
            try await env.sql("INSERT INTO sync.onboarding (mailbox, user_login) VALUES ('pia@example.com', 'rita')")
            let again = try await onboarding(env).run()
            #expect(
                again.failed.first { $0.mailbox == "pia@example.com" }?.error?.contains("belongs to the CRM user user0")
                    == true)
            #expect(
                try await env.count("SELECT attempts FROM sync.onboarding WHERE mailbox = 'nobody@example.com'") == 2)
        }
    }

    @Test func aDeactivatedMailboxHasItsSyncSwitchedOffJournaled() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["pia@example.com", "uma@example.com"]) { env in
            try await env.setSync(true)
            try await env.sql(
                "INSERT INTO sync.onboarding (mailbox, user_login, activate) VALUES ('uma@example.com', 'user1', false)"
            )
            let report = try await onboarding(env).run()
            #expect(report.deactivated == ["uma@example.com"])
            #expect(try await env.count("SELECT count(*) FROM sync.onboarding") == 0)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.mailbox_settings WHERE mailbox = 'uma@example.com' AND NOT enabled") == 1
            )
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.journal WHERE mailbox = 'uma@example.com' AND NOT enabled AND note = $1",
                    [SwitchTransition.deactivatedNote]) == 1)
            let diagnosis = try await env.diagnose()
            #expect(diagnosis.findings.first { $0.mailboxes == ["uma@example.com"] }?.scenario == .syncNotOn)
        }
    }
}

import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import Testing

/// 10,000 CRM changes while Exchange is down for part of the time and throttles for another part: after it
/// recovers, every change is in Exchange exactly once.
@Suite(.serialized) struct LiveSyncSoakTests {
    static let mailboxes = ["soak1@example.com", "soak2@example.com", "soak3@example.com"]

    @Test(arguments: ExchangeProtocol.allCases)
    func tenThousandChangesThroughAnOutageAndThrottlingArriveExactlyOnce(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 150, appointmentsPerUser: 100, tasksPerUser: 200)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            try await env.setSync(true)
            var changes = 0
            var round = 0
            /// One round of CRM work: updates of tasks and appointments, new tasks, deleted tasks, contact edits.
            func work() async throws {
                round += 1
                let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
                changes += try await db.execute(
                    """
                    UPDATE crm.tasks SET subject = 'Round \(round) ' || id, version = version + 1, updated_at = now()
                    WHERE id IN (SELECT id FROM crm.tasks ORDER BY md5(id::text || $1) LIMIT 250)
                    """, ["\(round)"])
                changes += try await db.execute(
                    """
                    UPDATE crm.appointments SET location = 'Room ' || $1, version = version + 1, updated_at = now()
                    WHERE id IN (SELECT id FROM crm.appointments ORDER BY md5(id::text || $1) LIMIT 100)
                    """, ["\(round)"])
                changes += try await db.execute(
                    """
                    INSERT INTO crm.tasks (id, owner_id, subject, status, percent_complete, importance, categories, updated_at, version)
                    SELECT gen_random_uuid(), id, 'New in round ' || $1, 'not_started', 0, 'normal', '{}', now(), 1
                    FROM crm.users, generate_series(1, 15)
                    """, ["\(round)"])
                changes += try await db.execute(
                    "DELETE FROM crm.tasks WHERE id IN (SELECT id FROM crm.tasks ORDER BY md5(id::text || $1) LIMIT 20)",
                    ["x\(round)"])
                changes += try await db.execute(
                    """
                    UPDATE crm.contacts SET job_title = 'Title ' || $1, version = version + 1
                    WHERE id IN (SELECT id FROM crm.contacts ORDER BY md5(id::text || $1) LIMIT 40)
                    """, ["\(round)"])
                await db.close()
            }
            func passes(_ count: Int) async throws {
                for _ in 0..<count {
                    _ = try await env.pass()
                    // skip the backoff waits
                    try await env.sql("UPDATE sync.outbox SET next_attempt_at = now() WHERE NOT parked")
                }
            }
            // Exchange down.
            try await env.simulator.control.goDown()
            while changes < 4000 { try await work(); try await passes(1) }
            #expect(try await env.count("SELECT count(*) FROM sync.outbox WHERE parked") == 0)
            try await env.simulator.control.comeUp()
            // Exchange throttling and failing part of the requests.
            env.simulator.control.setFaults(
                .throttlingAndLostResponses(
                    sourceProtocol, unavailable: 5, busyEveryNth: 3, busyBackOffMilliseconds: 5, throttled: 40, lost: 3)
            )
            while changes < 10_000 { try await work(); try await passes(1) }
            env.simulator.control.resetFaults()
            // Recovery: passes until the outbox is empty.
            for _ in 0..<20 where try await env.count("SELECT count(*) FROM sync.outbox") > 0 { try await passes(1) }
            #expect(changes >= 10_000)
            #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 0)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.count) differences: \(differences.prefix(3))")
        }
    }
}

import Foundation
import Logging
import Pipeline
import Postgres
import SyncCore
import Testing
import TestSupport

/// CRM values Exchange stores in another form: text with control characters XML cannot carry, a recurrence rule
/// spelled with its default `INTERVAL=1`. An outbound snapshot says what it dropped, `verify` compares the CRM as
/// Exchange stores it, and an inbound snapshot afterwards changes no row.
@Suite struct ExchangeStoredFormTests {
    static let mailbox = "stored@example.com"

    @Test(arguments: ExchangeProtocol.allCases)
    func controlCharactersAreDroppedVisiblyAndAnInboundAfterwardsChangesNoRow(
        _ sourceProtocol: ExchangeProtocol
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox], sourceProtocol: sourceProtocol) { env in
            let appointment = UUID(), task = UUID()
            let subject = "Budget\u{07} review", body = "Line one\u{1B}[0m\nLine two", taskSubject = "Call\u{0B} back"
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                """
                INSERT INTO crm.appointments (id, owner_id, subject, body, starts_at, ends_at, is_all_day, is_private, categories, ical_uid,
                                              updated_at, version)
                VALUES ($1, $2, $3, $4, '2026-12-07T09:00:00Z', '2026-12-07T10:00:00Z', false, false, '{}', 'uid-' || $1, now(), 1)
                """, [appointment, env.owners[0].userID, subject, body])
            try await db.execute(
                """
                INSERT INTO crm.tasks (id, owner_id, subject, status, percent_complete, importance, categories, updated_at, version)
                VALUES ($1, $2, $3, 'not_started', 0, 'normal', '{}', now(), 1)
                """, [task, env.owners[0].userID, taskSubject])
            await db.close()

            let logs = CapturedLogs()
            let runner = SnapshotRunner(conninfo: env.conninfo, source: env.source, logger: logs.logger())
            #expect(try await runner.run(env.options(.outbound)).outcome == .completed)
            let warnings = logs.entries.filter {
                $0.level == .warning && $0.message == "control characters removed: Exchange cannot store them"
            }
            #expect(
                Set(warnings.compactMap { $0.metadata["crm.id"] }) == [appointment.uuidString, task.uuidString],
                "\(logs.entries.map(\.fullText))")
            #expect(warnings.contains { $0.metadata["item.fields"] == "subject,body" })
            #expect(
                try await env.count(
                    "SELECT coalesce(sum((data->>'items')::int), 0) FROM sync.run_events WHERE event = 'control-characters'"
                ) == 2)

            // Exchange holds the text without them; compared as Exchange stores it, both sides agree.
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences)")

            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointments WHERE id = $1 AND version = 1 AND subject = $2 AND body = $3",
                    [appointment, subject, body]) == 1)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.tasks WHERE id = $1 AND version = 1 AND subject = $2",
                    [task, taskSubject]) == 1)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aRuleWithIntervalOneIsUnchangedByAnInboundAfterAnOutbound(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox], sourceProtocol: sourceProtocol) { env in
            let series = UUID()
            let rule = "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT=10"
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                """
                INSERT INTO crm.appointments (id, owner_id, subject, starts_at, ends_at, is_all_day, is_private, categories, ical_uid, recurrence,
                                              updated_at, version)
                VALUES ($1, $2, 'Weekly', '2026-12-07T09:00:00Z', '2026-12-07T09:30:00Z', false, false, '{}', 'uid-' || $1, $3, now(), 1)
                """, [series, env.owners[0].userID, rule])
            await db.close()
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences)")
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointments WHERE id = $1 AND version = 1 AND recurrence = $2",
                    [series, rule]) == 1)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 1)
        }
    }
}

import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import Testing

@Suite(.serialized) struct ScaleAndStatisticsTests {
    @Test func fiftyMailboxesInboundThenOutboundAreInSync() async throws {
        let mailboxes = (1...50).map { String(format: "m%02d@example.com", $0) }
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { env in
            for (index, mailbox) in mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(300 + index), appointments: 20, tasks: 10))
            }
            try await seedCRM(env, contacts: 100, appointmentsPerUser: 3, tasksPerUser: 3)
            var inbound = env.options(.inbound)
            inbound.workers = 4
            #expect(try await env.runner().run(inbound).outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments WHERE recurrence IS NOT NULL") >= 50 * 4)
            #expect(try await env.count("SELECT count(*) FROM crm.appointment_exceptions") > 0)
            #expect(try await env.count("SELECT count(*) FROM crm.appointment_attendees") > 0)
            var outbound = env.options(.outbound)
            outbound.workers = 4
            outbound.analyzePolicy = AnalyzePolicy(threshold: 0.1, minimumChangedRows: 100)
            // only the outbound's own writes count
            try await env.sql("UPDATE sync.table_activity SET changed_since = 0")
            let pushed = try await env.runner().run(outbound)
            #expect(pushed.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE kind = 'contacts'") == 200)
            // The links the push batches wrote reached the ANALYZE policy (counted per stage, not per batch).
            #expect(
                try await env.count(
                    """
                    SELECT count(*) FROM sync.run_events WHERE run_id = $1 AND event = 'analyze' AND data->>'table' = 'sync.links'
                    """, [pushed.runID]) > 0)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(3))")
        }
    }

    /// Both ways an inbound snapshot writes: the items created as they are paged (a blank CRM's), and, when the CRM
    /// rows are linked but differ (`resync`), every item staged, matched and merged.
    @Test(arguments: [false, true])
    func analyzeRunsBetweenStagesOfALargeLoadAndTheMergeSeesRealEstimates(resync: Bool) async throws {
        let mailboxes = (1...6).map { "stats\($0)@example.com" }
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { env in
            for (index, mailbox) in mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(900 + index), appointments: 1500, tasks: 600))
            }
            var options = env.options(.inbound)
            options.workers = 2
            if resync {
                #expect(try await env.runner().run(options).outcome == .completed)
                try await env.sql("UPDATE crm.appointments SET subject = subject || ' (CRM)', version = version + 1")
                try await env.sql("UPDATE crm.tasks SET subject = subject || ' (CRM)', version = version + 1")
                try await env.sql("ANALYZE")
            }
            let result = try await env.runner().run(options)
            #expect(result.outcome == .completed)
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            // ANALYZE ran between stages: the CRM tables and links as extracts or merges filled them, and (when
            // items are staged) the staging table once each folder was staged, before its merge joined it.
            let analyzed = try await db.query(
                """
                SELECT data->>'table', stage, min(id) FROM sync.run_events WHERE run_id = $1 AND event = 'analyze' GROUP BY 1, 2
                """, [result.runID]
            ).map { try ($0.decode(String.self, at: 0), $0.decode(String?.self, at: 1)) }
            #expect(analyzed.contains { $0.0 == "crm.appointments" })
            #expect(analyzed.contains { $0.0 == "sync.links" })
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments WHERE subject LIKE '% (CRM)'") == 0,
                "Exchange's content won")
            if !resync {
                #expect(!analyzed.contains { $0.0 == "sync.stage_appointments" }, "nothing was staged")
            } else {
                #expect(analyzed.contains { $0.0 == "sync.stage_appointments" && $0.1 == "match" })
                let firstStagingAnalyze = try await db.query(
                    """
                    SELECT min(at) FROM sync.run_events WHERE run_id = $1 AND event = 'analyze' AND data->>'table' = 'sync.stage_appointments'
                    """, [result.runID])[0].decode(Date.self, at: 0)
                let lastMerge = try await db.query(
                    """
                    SELECT max(started_at) FROM sync.run_stages WHERE run_id = $1 AND kind = 'appointments' AND stage = 'merge'
                    """, [result.runID])[0].decode(Date.self, at: 0)
                #expect(firstStagingAnalyze < lastMerge)
            }

            // The planner's estimates are the real sizes, not the guesses of a never-analyzed or empty table.
            let rows = try await env.count("SELECT count(*) FROM crm.appointments")
            #expect(rows == 9000)
            let plan = try await db.query(
                """
                EXPLAIN (FORMAT JSON) SELECT a.id FROM sync.links l JOIN crm.appointments a ON a.id = l.crm_id
                WHERE l.mailbox = $1 AND l.kind = 'appointments'
                """, [mailboxes[0]])[0].decode(String.self, at: 0)
            let estimated = try #require(Self.planRows(plan))
            #expect(estimated >= 500 && estimated <= 5000, "estimated \(estimated) rows for a mailbox of 1500")
            let reltuples = try await db.query(
                "SELECT reltuples::float8 FROM pg_class WHERE oid = 'crm.appointments'::regclass")[0].decode(
                    Double.self, at: 0)
            #expect(reltuples >= Double(rows) * 0.5)

            // The ANALYZEs between stages sampled at the interim target; the run ended with one at the server's
            // target, which the CRM's own queries are planned from (a histogram of 100 buckets, not 10).
            #expect(
                try await env.count(
                    """
                    SELECT count(*) FROM sync.run_events WHERE run_id = $1 AND event = 'analyze' AND data->>'table' = 'crm.appointments'
                      AND data->>'statistics_target' = '10'
                    """, [result.runID]) > 0)
            let last = try await db.query(
                """
                SELECT data->>'statistics_target' FROM sync.run_events
                WHERE run_id = $1 AND event = 'analyze' AND data->>'table' = 'crm.appointments' ORDER BY id DESC LIMIT 1
                """, [result.runID])[0].decode(String?.self, at: 0)
            #expect(last == nil)
            #expect(try await env.count("SELECT count(*) FROM sync.table_activity WHERE coarse") == 0)
            let buckets = try await env.count(
                """
                SELECT coalesce(array_length(histogram_bounds::text::text[], 1), 0) FROM pg_stats
                WHERE schemaname = 'crm' AND tablename = 'appointments' AND attname = 'starts_at'
                """)
            #expect(buckets > 11, "\(buckets) histogram bounds")
            await db.close()
        }
    }

    @Test func linkingAnAttendeeToAContactByEmailIsAnIndexLookupNotAScanOfEveryContact() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["lookup@example.com"]) { env in
            try await seedCRM(env, contacts: 5000, appointmentsPerUser: 0, tasksPerUser: 0)
            try await env.sql("ANALYZE crm.contacts")
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            // The inbound merge's lookup (InboundStore) for each of the three addresses, for an unknown address:
            // the case that walked the whole primary key before 0005.
            for column in ["email1", "email2", "email3"] {
                let plan = try await db.query(
                    """
                    EXPLAIN SELECT c.id FROM crm.contacts c WHERE lower(c.\(column)) = lower($1) ORDER BY c.id LIMIT 1
                    """, ["nobody@partner.example"]
                ).map { try $0.decode(String.self, at: 0) }.joined(separator: "\n")
                #expect(plan.contains("contacts_\(column)_lower"), "\(plan)")
                #expect(!plan.contains("contacts_pkey"), "\(plan)")
            }
            await db.close()
        }
    }

    /// The top node's "Plan Rows" of an `EXPLAIN (FORMAT JSON)` result.
    static func planRows(_ json: String) -> Double? {
        guard let data = json.data(using: .utf8),
            let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
            let plan = array.first?["Plan"] as? [String: Any]
        else { return nil }
        return (plan["Plan Rows"] as? NSNumber)?.doubleValue
    }
}

import EWS
import ExchangeSimulator
import Foundation
import HTTP
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

/// What the CRM wrote to Exchange comes back unchanged, and what Exchange holds twice does not become two CRM rows.
@Suite(.serialized) struct RoundTripTests {
    static let mailboxes = ["hugo@example.com", "iris@example.com"]

    /// Every row of every `crm` table, every column, as PostgreSQL prints the row, by table.
    static func crmRows(_ env: PipelineTestEnvironment) async throws -> [String: [String]] {
        let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
        let tables = try await db.query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'crm' ORDER BY 1"
        )
        .map { (row) throws(PostgresError) in try row.decode(String.self, at: 0) }
        var rows: [String: [String]] = [:]
        for table in tables {
            rows[table] = try await db.query(
                "SELECT r::text FROM \(PostgresIdentifier(schema: "crm", table)) r ORDER BY 1"
            )
            .map { (row) throws(PostgresError) in try row.decode(String.self, at: 0) }
        }
        await db.close()
        return rows
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func anOutboundThenInboundRoundTripChangesNoCRMRow(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 30, appointmentsPerUser: 25, tasksPerUser: 25)
            // The CRM links attendees to its contacts by address (as the inbound merge does).
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                """
                UPDATE crm.appointment_attendees a
                SET contact_id = (SELECT c.id FROM crm.contacts c WHERE lower(c.email1) = lower(a.email) ORDER BY c.id LIMIT 1)
                """)
            await db.close()
            // What the round trip carries: series with moved occurrences that have their own subject, cancelled
            // occurrences, attendees linked to contacts, tasks of every status.
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointment_exceptions WHERE NOT is_cancelled AND subject IS NOT NULL")
                    == 10)
            #expect(try await env.count("SELECT count(*) FROM crm.appointment_exceptions WHERE is_cancelled") == 10)
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointment_attendees WHERE contact_id IS NOT NULL") > 0)
            #expect(try await env.count("SELECT count(DISTINCT status) FROM crm.tasks") == TaskStatus.allCases.count)

            let outbound = try await env.runner().run(env.options(.outbound))
            #expect(outbound.outcome == .completed)
            let before = try await Self.crmRows(env)
            let inbound = try await env.runner().run(env.options(.inbound))
            #expect(inbound.outcome == .completed)
            let after = try await Self.crmRows(env)
            for table in before.keys.sorted() {
                let lost = Set(before[table] ?? []).subtracting(after[table] ?? []),
                    gained = Set(after[table] ?? []).subtracting(before[table] ?? [])
                #expect(
                    lost.isEmpty && gained.isEmpty,
                    "crm.\(table): \(lost.count) rows changed, e.g. \(lost.sorted().prefix(2)) became \(gained.sorted().prefix(2))"
                )
            }
            #expect(after == before)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointment_exceptions WHERE NOT is_cancelled AND subject IS NULL") == 0)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(5))")
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func aSecondItemCarryingAStampedCRMIdIsReportedNotImported(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailboxes[0]], sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 10, appointmentsPerUser: 57, tasksPerUser: 0)
            let outbound = try await env.runner().run(env.options(.outbound))
            #expect(outbound.outcome == .completed)
            let owner = env.owners[0]
            // A copy of one appointment in Exchange, carrying the same stamped CRM id (a copy made in Outlook, a
            // restore next to the original). It is made through EWS whatever the protocol under test: through Graph,
            // a create of the same record returns the original (its transactionId is the CRM id).
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let original = try await db.run { db in try CRMStore.records(.appointments, mailbox: owner, db: db) }.values
                .map(\.record).sorted { $0.id.uuidString < $1.id.uuidString }[0]
            let (ews, client) = try PipelineTestEnvironment.makeSource(endpoint: env.simulator.endpoint)
            _ = try await ews.create([original], in: owner)[0].get()
            client.shutdown()
            // The copy as the source under test names it: the stamped item no link holds.
            let linked = try await db.query("SELECT item_id FROM sync.links WHERE crm_id = $1", [original.id])[0]
                .decode(String.self, at: 0)
            await db.close()
            let stamped = try await env.source.stampedItems(in: owner, kind: .appointments)[original.id] ?? []
            #expect(stamped.count == 2, "\(stamped)")
            let copy = try #require(stamped.first { $0.id != linked })
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 57)

            for attempt in 1...2 {
                let inbound = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
                #expect(inbound.outcome == .completedWithErrors, "run \(attempt)")
                #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 57, "run \(attempt)")
                #expect(try await env.count("SELECT count(*) FROM sync.links WHERE item_id = $1", [copy.id]) == 0)
                #expect(
                    try await env.count(
                        """
                        SELECT count(*) FROM sync.quarantine WHERE run_id = $1 AND item_id = $2 AND crm_id = $3 AND code = 'DuplicateCRMId'
                        """, [inbound.runID, copy.id, original.id]) == 1, "run \(attempt)")
                #expect(
                    try await env.count("SELECT count(*) FROM sync.quarantine WHERE run_id = $1", [inbound.runID]) == 1)
            }
            #expect(try await env.count("SELECT count(*) FROM sync.quarantine WHERE resolved_at IS NULL") == 1)
            let differences = try await env.differences(kinds: [.appointments])
            #expect(
                differences.contains { $0.problem == .duplicateInExchange && $0.crmID == original.id }, "\(differences)"
            )
            let diagnosis = RecoveryDiagnosis(
                try await RecoveryDoctor(conninfo: env.conninfo, source: env.source, logger: env.logger).gatherFacts())
            let copies = diagnosis.findings.first { $0.scenario == .duplicates }
            #expect(copies?.mailboxes == [env.owners[0].smtpAddress], "\(diagnosis.findings)")
            #expect(
                copies?.details.contains { $0.contains("1 extra appointments item(s)") } == true,
                "\(diagnosis.findings)")
            #expect(copies?.needsAction == true)
        }
    }
}

import Foundation
import Postgres
import SyncCore
@testable import SyncStore
import Testing

/// The statements a snapshot runs once per mailbox reach the CRM tables through their indexes, so a mailbox
/// costs the same whether the CRM holds ten thousand rows or ten million. Before, the planner turned the links
/// of a merge and the outbound pages into scans of a whole CRM table per mailbox (seen with auto_explain in
/// `snapsync-bench pipeline`), and a snapshot slowed down as the CRM filled.
@Suite(.serialized) struct QueryPlanTests {
    static let mailboxes = (1...8).map { "plan\($0)@example.com" }

    @Test func perMailboxStatementsUseIndexesOnLargeCRMTables() async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes) { env in
            try await seedCRM(env, contacts: 2000, appointmentsPerUser: 1500, tasksPerUser: 1500)
            let owner = env.owners[0]
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            // One mailbox's folder staged and matched, with statistics taken as the pipeline takes them: the
            // state in which the links statement was planned as a hash join over a scan of all tasks.
            try await db.executeScript(
                "ANALYZE crm.tasks; ANALYZE crm.appointments; ANALYZE crm.coverage; ANALYZE crm.contacts")
            try await db.execute(
                """
                INSERT INTO sync.stage_tasks (run_id, mailbox, item_id, change_key, crm_id, owner_id, subject, status,
                                              percent_complete, importance, categories)
                SELECT 1, $1, 'item-' || id, 'ck', id, owner_id, subject, status, percent_complete, importance, categories
                FROM crm.tasks WHERE owner_id = $2
                """, [owner.smtpAddress, owner.userID])
            for table in InboundStore.stagingTables(.tasks) {
                try await db.executeScript(try #require(TableActivityStore.analyzeStatement(table, vacuum: true)))
            }

            let links = try await explain(
                InboundStore.linksFromStaging(.tasks), [Int64(1), owner.smtpAddress, "tasks"], db: db)
            #expect(links.contains("tasks_pkey"), "\(links)")
            #expect(!links.contains("Seq Scan on tasks"), "\(links)")

            let after = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
            for kind in ItemKind.allCases {
                let page = try await explain(
                    CRMStore.outboundPageSQL(kind), [owner.smtpAddress, owner.userID, after, 500], db: db)
                let index = [
                    "contacts": "coverage_pkey", "appointments": "appointments_owner_id_id",
                    "tasks": "tasks_owner_id_id",
                ][kind.rawValue]!
                #expect(page.contains(index), "\(kind): \(page)")
                if kind == .contacts {
                    // The keyset is a range of the user's coverage (contacts themselves may be hashed when few).
                    #expect(page.contains("contact_id > "), "\(page)")
                } else {
                    #expect(!page.contains("Seq Scan on \(kind.rawValue)"), "\(kind): \(page)")
                    #expect(!page.contains("\(kind.rawValue)_pkey on \(kind.rawValue)"), "\(kind): \(page)")
                }
            }
            try await db.execute("DELETE FROM sync.stage_tasks WHERE run_id = 1")
            await db.close()
        }
    }

    /// The text of `EXPLAIN statement` (planned, not run).
    func explain(_ statement: String, _ binds: [any PostgresEncodable], db: PostgresConnection) async throws -> String {
        try await db.query("EXPLAIN " + statement, binds).map { try $0.decode(String.self, at: 0) }.joined(
            separator: "\n")
    }
}

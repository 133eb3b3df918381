import ExchangeSimulator
import Foundation
import Pipeline
import SyncCore
import Testing

/// A mailbox Graph refuses (outside the app's RBAC scope: 403 "Access to OData is disabled", or not open to REST)
/// fails with a configuration error naming it, once per stage and never retried, while the other mailboxes of the
/// run are synced.
@Suite struct MailboxRefusalTests {
    static let mailboxes = ["inscope@example.com", "outofscope@example.com", "norest@example.com"]

    @Test func aRefusedMailboxFailsNamingItselfAndTheOthersAreSynced() async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: .graph) { env in
            for (index, mailbox) in Self.mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(70 + index), contacts: 0, appointments: 12, tasks: 8))
            }
            env.simulator.control.setGraphScope(
                clientId: GraphApp.demo.clientId, mailboxes: ["inscope@example.com", "norest@example.com"])
            env.simulator.control.setRESTEnabled(mailbox: "norest@example.com", false)

            let result = try await env.runner().run(env.options(.inbound))
            #expect(result.outcome == .completedWithErrors)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.appointments a JOIN crm.users u ON u.id = a.owner_id WHERE u.mailbox = $1",
                    ["inscope@example.com"]) == 12)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 8)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.run_stages WHERE mailbox = 'inscope@example.com' AND status <> 'done'")
                    == 0)
            for mailbox in Self.mailboxes.dropFirst() {
                let stages = try await env.count(
                    "SELECT count(*) FROM sync.run_stages WHERE mailbox = $1", [mailbox])
                let refused = try await env.count(
                    """
                    SELECT count(*) FROM sync.run_stages WHERE mailbox = $1 AND status = 'failed'
                    AND error LIKE 'configuration error: Exchange refuses mailbox ' || $1 || '%'
                    """, [mailbox])
                #expect(stages > 0 && refused == stages, "\(mailbox): \(refused) of \(stages) stages refused")
            }
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.run_stages WHERE error LIKE '%MailboxNotEnabledForRESTAPI%'") > 0)
        }
    }
}

import ExchangeSimulator
import Foundation
import Pipeline
import SyncCore
import Testing

@Suite(.serialized) struct InboundSnapshotTests {
    static let mailboxes = ["anna@example.com", "ben@example.com", "carla@example.com"]

    @Test(arguments: ExchangeProtocol.allCases)
    func inboundIntoABlankCRMIsInSyncAndARerunChangesNothing(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            for (index, mailbox) in Self.mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(index + 1), appointments: 40, tasks: 30))
            }
            let first = try await env.runner().run(env.options(.inbound))
            #expect(first.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 90)
            // The rows it created have time-ordered ids (UUID version 7), so they fill the ends of the id indexes.
            #expect(
                try await env.count(
                    """
                    SELECT count(*) FROM (SELECT id FROM crm.appointments UNION ALL SELECT id FROM crm.tasks) r
                    WHERE substr(id::text, 15, 1) = '7'
                    """) == 210)
            #expect(try await env.count("SELECT count(*) FROM sync.folder_states WHERE sync_state IS NOT NULL") == 6)
            let differences = try await env.differences(kinds: [.appointments, .tasks])
            #expect(differences.isEmpty, "\(differences.prefix(5))")

            let versions = try await env.count("SELECT sum(version)::int FROM crm.appointments")
            let second = try await env.runner().run(env.options(.inbound))
            #expect(second.outcome == .completed)
            #expect(second.runID != first.runID)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 120)
            #expect(try await env.count("SELECT sum(version)::int FROM crm.appointments") == versions)
        }
    }
}

import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

/// Seeds the CRM for the environment's users: contacts each covered by two users, appointments (with
/// series, exceptions and attendees that are CRM contacts) and tasks.
func seedCRM(
    _ env: PipelineTestEnvironment, contacts: Int, appointmentsPerUser: Int, tasksPerUser: Int, seed: UInt64 = 42
) async throws {
    var sample = SampleRecords(seed: seed)
    let people = (0..<contacts).map { sample.contact(index: $0) }
    let coverage = SampleRecords.coverage(of: people, by: env.owners.map(\.userID), perContact: 2)
    var appointments: [CRMAppointment] = []
    var tasks: [CRMTask] = []
    for owner in env.owners {
        for index in 0..<appointmentsPerUser {
            let invitees =
                people.isEmpty ? [] : [people[index % people.count].email1!, "external\(index)@partner.example"]
            appointments.append(sample.appointment(ownerID: owner.userID, index: index, attendeeEmails: invitees))
        }
        for index in 0..<tasksPerUser { tasks.append(sample.task(ownerID: owner.userID, index: index)) }
    }
    let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
    let (p, c, a, t) = (people, coverage, appointments, tasks)
    try await db.withTransaction { db in
        try CRMWriter.insert(contacts: p, db: db)
        try CRMWriter.insert(coverage: c, db: db)
        try CRMWriter.insert(appointments: a, db: db)
        try CRMWriter.insert(tasks: t, db: db)
    }
    await db.close()
}

@Suite(.serialized) struct OutboundSnapshotTests {
    static let mailboxes = ["dora@example.com", "emil@example.com", "fay@example.com"]

    @Test(arguments: ExchangeProtocol.allCases)
    func outboundIntoEmptyMailboxesIsInSyncAndFollowsCRMChanges(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 60, appointmentsPerUser: 25, tasksPerUser: 20)
            let first = try await env.runner().run(env.options(.outbound))
            #expect(first.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE kind = 'contacts'") == 120)
            var differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(5))")

            // CRM changes: an updated task, a deleted appointment, coverage removed for a contact.
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                "UPDATE crm.tasks SET subject = subject || ' (changed)', version = version + 1 WHERE id = (SELECT id FROM crm.tasks ORDER BY id LIMIT 1)"
            )
            try await db.execute(
                "DELETE FROM crm.appointments WHERE id = (SELECT id FROM crm.appointments ORDER BY id LIMIT 1)")
            try await db.execute(
                "DELETE FROM crm.coverage WHERE (user_id, contact_id) = (SELECT user_id, contact_id FROM crm.coverage ORDER BY 1, 2 LIMIT 1)"
            )
            await db.close()
            let second = try await env.runner().run(env.options(.outbound))
            #expect(second.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE kind = 'contacts'") == 119)
            differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(5))")
            let counts = try await env.count(
                "SELECT (sum(updated) * 1000 + sum(deleted))::int FROM sync.run_stages WHERE run_id = $1",
                [second.runID])
            #expect(counts == 1002)
        }
    }
}

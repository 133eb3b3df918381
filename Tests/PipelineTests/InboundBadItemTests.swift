import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import Testing

/// Items Exchange (or what stands between it and snapsync) answers badly: each is quarantined by itself, named with
/// its mailbox and id, and the rest of its folder reaches the CRM, on this run and the next.
@Suite(.serialized) struct InboundBadItemTests {
    static let mailbox = "gina@example.com"

    /// The quarantine rows of a run: item id, code, reason.
    static func quarantined(
        _ env: PipelineTestEnvironment, run: Int64
    ) async throws -> [(item: String?, code: String, reason: String)] {
        let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
        let rows = try await db.query(
            "SELECT item_id, code, reason FROM sync.quarantine WHERE run_id = $1 ORDER BY id", [run])
        let result = try rows.map { (row) throws(PostgresError) in
            (
                item: try row.decode(String?.self, at: 0), code: try row.decode(String.self, at: 1),
                reason: try row.decode(String.self, at: 2)
            )
        }
        await db.close()
        return result
    }

    @Test(arguments: [
        CorruptingEWSProxy.Corruption.malformedXML, .invalidUTF8, .illegalCharacterReference, .oversized,
        .unknownSOAPFault,
    ])
    func oneUnreadableItemInAFolderOfAThousandIsQuarantinedAlone(
        _ corruption: CorruptingEWSProxy.Corruption
    ) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox], proxied: true, maxResponseBytes: 2 << 20) {
            env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 15, appointments: 1000))
            let refs = try await env.source.allItemRefs(in: env.owners[0], kind: .appointments, pageSize: 1000)
            #expect(refs.count == 1000)
            let bad = refs[617].id
            env.proxy?.corrupt(bad, corruption)

            for attempt in 1...2 {  // the next run does not fail the folder either: it reports the item again
                let run = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
                #expect(run.outcome == .completedWithErrors, "run \(attempt)")
                #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 999, "run \(attempt)")
                #expect(try await env.count("SELECT count(*) FROM sync.links WHERE item_id = $1", [bad]) == 0)
                let quarantined = try await Self.quarantined(env, run: run.runID)
                #expect(quarantined.count == 1, "run \(attempt): \(quarantined)")
                #expect(quarantined.first?.item == bad)
                let reason = quarantined.first?.reason ?? ""
                #expect(reason.contains(Self.mailbox) && reason.contains(bad), "\(reason)")
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM sync.run_stages WHERE run_id = $1 AND status = 'failed'", [run.runID])
                        == 0)
            }
            #expect((env.proxy?.damagedAnswers ?? 0) > 0)
            let differences = try await env.differences(kinds: [.appointments])
            #expect(differences.count == 1 && differences.first?.itemID == bad, "\(differences.prefix(3))")
            if case .unreadable = differences.first?.problem {
            } else {
                Issue.record("verify: \(differences.prefix(3))")
            }

            env.proxy?.corrupt(nil, corruption)  // repaired in Exchange: the next run imports it
            let repaired = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
            #expect(repaired.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 1000)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE item_id = $1", [bad]) == 1)
        }
    }

    /// A field every item of its kind has in Exchange, left out or unreadable.
    struct MissingField: Sendable, CustomTestStringConvertible {
        var corruption: CorruptingEWSProxy.Corruption
        var kind: ItemKind
        var field: String
        var testDescription: String { corruption.rawValue }
    }

    @Test(arguments: [
        MissingField(corruption: .withoutStart, kind: .appointments, field: "Start"),
        MissingField(corruption: .unreadableStart, kind: .appointments, field: "Start"),
        MissingField(corruption: .withoutStatus, kind: .tasks, field: "Status"),
        MissingField(corruption: .unknownStatus, kind: .tasks, field: "Status"),
    ])
    func anItemWithoutARequiredFieldIsQuarantinedNamingTheField(_ missing: MissingField) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox], proxied: true) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 3, appointments: 20, tasks: 20))
            let refs = try await env.source.allItemRefs(in: env.owners[0], kind: missing.kind, pageSize: 1000)
            let bad = refs[5].id
            env.proxy?.corrupt(bad, missing.corruption)

            let run = try await env.runner().run(env.options(.inbound, kinds: [missing.kind]))
            #expect(run.outcome == .completedWithErrors)
            #expect((env.proxy?.damagedAnswers ?? 0) > 0)
            let table = missing.kind == .appointments ? "crm.appointments" : "crm.tasks"
            #expect(try await env.count("SELECT count(*) FROM \(table)") == refs.count - 1)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE item_id = $1", [bad]) == 0)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments WHERE starts_at < '2000-01-01'") == 0)
            let quarantined = try await Self.quarantined(env, run: run.runID)
            #expect(quarantined.count == 1, "\(quarantined)")
            #expect(quarantined.first?.item == bad)
            let reason = quarantined.first?.reason ?? ""
            #expect(
                reason.contains(missing.field) && reason.contains(Self.mailbox) && reason.contains(bad), "\(reason)")
        }
    }
}

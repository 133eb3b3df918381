import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import Testing

/// How an answer carrying the chosen item is damaged: through EWS (``CorruptingEWSProxy``) or through Graph
/// (``GraphFaultProxy``).
enum BadAnswer: Sendable, CustomTestStringConvertible {
    case ews(CorruptingEWSProxy.Corruption)
    case graph(GraphFaultProxy.Corruption)

    var sourceProtocol: ExchangeProtocol {
        switch self {
        case .ews: .ews
        case .graph: .graph
        }
    }

    var testDescription: String {
        switch self {
        case .ews(let corruption): "EWS \(corruption.rawValue)"
        case .graph(let corruption): "Graph \(corruption.rawValue)"
        }
    }
}

extension PipelineTestEnvironment {
    /// From now on, the environment's proxy damages the answers that carry `itemID` (nil: forwards them as they are).
    func corrupt(_ itemID: String?, _ bad: BadAnswer) {
        switch bad {
        case .ews(let corruption): proxy?.corrupt(itemID, corruption)
        case .graph(let corruption): graphProxy?.corrupt(itemID, corruption)
        }
    }

    /// How many answers the environment's proxy damaged so far.
    var damagedAnswers: Int { (proxy?.damagedAnswers ?? 0) + (graphProxy?.damagedAnswers ?? 0) }
}

/// Items Exchange (or what stands between it and snapsync) answers badly, through EWS and through Graph: each is
/// quarantined by itself, named with its mailbox and id, and the rest of its folder reaches the CRM, on this run and
/// the next.
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
        BadAnswer.ews(.malformedXML), .ews(.invalidUTF8), .ews(.illegalCharacterReference), .ews(.oversized),
        .ews(.unknownSOAPFault), .graph(.malformedJSON), .graph(.wrongType), .graph(.oversized),
        .graph(.unknownErrorCode),
    ])
    func oneUnreadableItemInAFolderOfAThousandIsQuarantinedAlone(_ corruption: BadAnswer) async throws {
        try await PipelineTestEnvironment.with(
            mailboxes: [Self.mailbox], proxied: true, maxResponseBytes: 2 << 20,
            sourceProtocol: corruption.sourceProtocol
        ) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 15, appointments: 1000))
            let refs = try await env.source.allItemRefs(in: env.owners[0], kind: .appointments, pageSize: 1000)
            #expect(refs.count == 1000)
            let bad = refs[617].id
            env.corrupt(bad, corruption)

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
            #expect(env.damagedAnswers > 0)
            let differences = try await env.differences(kinds: [.appointments])
            #expect(differences.count == 1 && differences.first?.itemID == bad, "\(differences.prefix(3))")
            if case .unreadable = differences.first?.problem {
            } else {
                Issue.record("verify: \(differences.prefix(3))")
            }

            env.corrupt(nil, corruption)  // repaired in Exchange: the next run imports it
            let repaired = try await env.runner().run(env.options(.inbound, kinds: [.appointments]))
            #expect(repaired.outcome == .completed)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 1000)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE item_id = $1", [bad]) == 1)
        }
    }

    /// A field every item of its kind has in Exchange, left out or unreadable.
    struct MissingField: Sendable, CustomTestStringConvertible {
        var corruption: BadAnswer
        var kind: ItemKind
        var field: String
        var testDescription: String { corruption.testDescription }
    }

    @Test(arguments: [
        MissingField(corruption: .ews(.withoutStart), kind: .appointments, field: "Start"),
        MissingField(corruption: .ews(.unreadableStart), kind: .appointments, field: "Start"),
        MissingField(corruption: .ews(.withoutStatus), kind: .tasks, field: "Status"),
        MissingField(corruption: .ews(.unknownStatus), kind: .tasks, field: "Status"),
        MissingField(corruption: .graph(.withoutStart), kind: .appointments, field: "start"),
        MissingField(corruption: .graph(.unreadableStart), kind: .appointments, field: "start"),
        MissingField(corruption: .graph(.withoutStatus), kind: .tasks, field: "status"),
        MissingField(corruption: .graph(.unknownStatus), kind: .tasks, field: "status"),
    ])
    func anItemWithoutARequiredFieldIsQuarantinedNamingTheField(_ missing: MissingField) async throws {
        try await PipelineTestEnvironment.with(
            mailboxes: [Self.mailbox], proxied: true, sourceProtocol: missing.corruption.sourceProtocol
        ) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 3, appointments: 20, tasks: 20))
            let refs = try await env.source.allItemRefs(in: env.owners[0], kind: missing.kind, pageSize: 1000)
            let bad = refs[5].id
            env.corrupt(bad, missing.corruption)

            let run = try await env.runner().run(env.options(.inbound, kinds: [missing.kind]))
            #expect(run.outcome == .completedWithErrors)
            #expect(env.damagedAnswers > 0)
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

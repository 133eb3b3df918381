import ExchangeSimulator
import Foundation
import Graph
import HTTP
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing
import TestSupport

extension PipelineTestEnvironment {
    /// The environment reaching the simulator through both protocols behind a router: EWS by default, the mailboxes
    /// of `assignments` by theirs. The caller shuts `client` down.
    func routed(
        assignments: [String: ExchangeProtocol] = [:]
    ) throws -> (environment: PipelineTestEnvironment, router: MailboxSourceRouter, client: HTTPClient) {
        let (graph, client) = try Self.makeGraphSource(simulator: simulator)
        let router = MailboxSourceRouter(
            sources: [.ews: source, .graph: graph], defaultProtocol: .ews, assignments: assignments)
        return (
            PipelineTestEnvironment(conninfo: conninfo, simulator: simulator, source: router, owners: owners), router,
            client
        )
    }

    func switcher(_ router: MailboxSourceRouter) -> ProtocolSwitcher {
        ProtocolSwitcher(database: SyncDatabase(conninfo: conninfo, logger: logger), router: router, logger: logger)
    }

    /// Renames the mailbox's first task in Exchange, as a user in Outlook would.
    func renameFirstTask(of owner: MailboxOwner, to subject: String) async throws {
        let ref = try await source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 1).refs[0]
        guard case .task(var task) = try await source.items([ref], in: owner, kind: .tasks)[0].get().record else {
            Issue.record("not a task")
            return
        }
        task.subject = subject
        _ = try await source.update([MailboxUpdate(ref: ref, record: .task(task))], in: owner)
    }

    /// Every CRM row of the synced kinds, as text in id order: equal fingerprints, no row changed.
    func crmFingerprint() async throws -> [String] {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        var rows: [String] = []
        for table in ["crm.contacts", "crm.appointments", "crm.tasks"] {
            rows.append(
                try await db.query("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM \(table) t")[
                    0
                ]
                .decode(String.self, at: 0))
        }
        await db.close()
        return rows
    }

    /// The number of items per kind in the mailbox, and of CRM ids stamped on more than one item.
    func exchangeCounts(_ owner: MailboxOwner) async throws -> (items: [ItemKind: Int], duplicated: Int) {
        var items: [ItemKind: Int] = [:]
        var duplicated = 0
        for kind in ItemKind.allCases {
            items[kind] = try await source.allItemRefs(in: owner, kind: kind, pageSize: 500).count
            duplicated += try await source.stampedItems(in: owner, kind: kind).values.filter { $0.count > 1 }.count
        }
        return (items, duplicated)
    }

    func linkedItemIDs(_ mailbox: String) async throws -> Set<String> {
        let db = try await PostgresConnection.connect(conninfo, logger: logger)
        let ids = try await db.query("SELECT item_id FROM sync.links WHERE mailbox = $1", [mailbox]).map {
            (row) throws(PostgresError) in try row.decode(String.self, at: 0)
        }
        await db.close()
        return Set(ids)
    }
}

/// Hybrid deployments on a real PostgreSQL and the simulator: each mailbox reached by its own protocol in one run,
/// and a mailbox moved from EWS to Graph (`snapsync mailbox set-protocol`) keeping its links.
@Suite(.serialized) struct ProtocolSwitchTests {
    @Test func aMailboxSyncedThroughEWSSwitchedToGraphKeepsItsLinksAndLiveSyncGoesOnFromAGraphBaseline() async throws {
        let address = "vera@example.com"
        try await PipelineTestEnvironment.with(mailboxes: [address]) { ews in
            let (env, router, client) = try ews.routed()
            defer { client.shutdown() }
            let owner = env.owners[0]
            // Inbound (appointments with series, tasks) and outbound (contacts, appointments, tasks), then live sync.
            _ = try env.simulator.control.seed(SeedRequest(mailbox: address, seed: 3, appointments: 10, tasks: 8))
            try await seedCRM(env, contacts: 6, appointmentsPerUser: 5, tasksPerUser: 5)
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            try await env.setSync(true)
            _ = try await env.pass()
            try await env.expectInSync()
            let crmBefore = try await env.crmFingerprint()
            let exchangeBefore = try await env.exchangeCounts(owner)
            let linksBefore = try await env.linkedItemIDs(address)
            #expect(exchangeBefore.duplicated == 0)
            #expect(linksBefore.count > 20)

            let inProgress = try await env.count(
                """
                SELECT count(*) FROM crm.tasks t JOIN sync.links l ON l.crm_id = t.id AND l.kind = 'tasks'
                WHERE lower(l.mailbox) = $1 AND t.status <> 'completed' AND t.percent_complete > 0
                """, [address])
            #expect(inProgress > 0)
            env.simulator.control.resetCounters()
            let outcome = try await env.switcher(router).setProtocol(.graph, mailbox: address, actor: "test")
            #expect(outcome.switched && outcome.from == .ews && outcome.to == .graph)
            // The tasks in progress get their percentage in To Do's extension, which tasks written through EWS lack.
            let extensionWrites = env.simulator.control.counters().filter {
                $0.key.hasPrefix("Graph PATCH") && $0.key.contains("xtension")
            }
            #expect(extensionWrites.values.reduce(0, +) == inProgress, "\(env.simulator.control.counters())")
            #expect(outcome.translatedLinks == linksBefore.count)
            #expect(outcome.baselines == [.appointments, .tasks])
            #expect(outcome.caughtUp)
            #expect(router.protocolOf(address) == .graph)

            // Nothing created or duplicated in Exchange, no CRM row changed, every link kept under its Graph id.
            #expect(try await env.crmFingerprint() == crmBefore)
            let exchangeAfter = try await env.exchangeCounts(owner)
            #expect(exchangeAfter.items == exchangeBefore.items)
            #expect(exchangeAfter.duplicated == 0)
            let linksAfter = try await env.linkedItemIDs(address)
            #expect(linksAfter.count == linksBefore.count)
            #expect(linksAfter.isDisjoint(with: linksBefore))
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.folder_states WHERE mailbox = $1 AND sync_state LIKE 'http%' AND NOT needs_snapshot",
                    [address]) == 2)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM sync.mailbox_settings WHERE mailbox = $1 AND protocol = 'graph'", [address])
                    == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.journal WHERE protocol = 'graph'") == 1)
            try await env.expectInSync()

            // Live sync goes on from the Graph baseline: nothing to pull, then one change made in Exchange arrives once.
            #expect(try await env.pass().pulled == 0)
            try await env.renameFirstTask(of: owner, to: "Changed in Outlook after the switch")
            #expect(try await env.pass().pulled == 1)
            #expect(try await env.pass().pulled == 0)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.tasks WHERE subject = 'Changed in Outlook after the switch'")
                    == 1)
            // A CRM change goes out through Graph to the linked item: updated, not created.
            try await env.sql(
                "UPDATE crm.contacts SET company = 'Renamed AG', version = version + 1, updated_at = now() WHERE id = (SELECT min(crm_id::text)::uuid FROM sync.links WHERE kind = 'contacts')"
            )
            #expect(try await env.pass().delivered == 1)
            #expect(try await env.exchangeCounts(owner).items == exchangeBefore.items)
            try await env.expectInSync()

            // And back to EWS: the links translate back, still in sync.
            let back = try await env.switcher(router).setProtocol(.ews, mailbox: address, actor: "test")
            #expect(back.switched && back.translatedLinks == linksBefore.count)
            #expect(try await env.linkedItemIDs(address) == linksBefore)
            #expect(try await env.pass().pulled == 0)
            try await env.expectInSync()
        }
    }

    /// The CRM may spell a mailbox with capitals; live sync keeps its folders' states under that spelling. A switch
    /// first pulls what changed in Exchange since the last pass, then replaces the states with Graph baselines, so a
    /// change it did not find the state for would never arrive.
    @Test func aSwitchPullsTheLastChangesOfAMailboxTheCRMSpellsWithCapitals() async throws {
        let address = "Mia.Berg@Example.com"
        try await PipelineTestEnvironment.with(mailboxes: [address]) { ews in
            let (env, router, client) = try ews.routed()
            defer { client.shutdown() }
            let owner = env.owners[0]
            _ = try env.simulator.control.seed(SeedRequest(mailbox: address, seed: 5, appointments: 4, tasks: 4))
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            try await env.setSync(true)
            _ = try await env.pass()
            try await env.renameFirstTask(of: owner, to: "Changed in Outlook before the switch")

            let outcome = try await env.switcher(router).setProtocol(.graph, mailbox: address, actor: "test")
            #expect(outcome.switched && outcome.caughtUp)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM crm.tasks WHERE subject = 'Changed in Outlook before the switch'")
                    == 1)
            #expect(try await env.pass().pulled == 0)
        }
    }

    @Test func oneRunCoversAMailboxOfEachProtocolAndItsLogNamesThem() async throws {
        let mailboxes = ["wim@example.com", "xena@example.com"]
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { ews in
            let (env, router, client) = try ews.routed()
            defer { client.shutdown() }
            // A mailbox without links switches by recording its protocol alone.
            let switched = try await env.switcher(router).setProtocol(.graph, mailbox: mailboxes[1], actor: "test")
            #expect(switched.switched && switched.translatedLinks == 0)
            for (index, mailbox) in mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(20 + index), appointments: 6, tasks: 6))
            }
            try await seedCRM(env, contacts: 4, appointmentsPerUser: 3, tasksPerUser: 3)
            env.simulator.control.resetCounters()
            let inbound = try await env.runner().run(env.options(.inbound))
            #expect(inbound.outcome == .completed)
            #expect(try await env.runner().run(env.options(.outbound)).outcome == .completed)
            try await env.expectInSync()
            let counters = env.simulator.control.counters()
            #expect(counters.keys.contains { $0.hasPrefix("Graph ") }, "\(counters)")
            #expect(counters.keys.contains { !$0.hasPrefix("Graph ") }, "\(counters)")
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let events = try await RunStore.events(runID: inbound.runID, db: db)
            await db.close()
            let reached = Dictionary(
                events.filter { $0.event == MailboxSourceRouter.protocolEvent }.map { ($0.mailbox ?? "", $0.message) }
            ) { _, last in last }
            #expect(reached == [mailboxes[0]: "ews", mailboxes[1]: "graph"])
        }
    }

    @Test func aMailboxWhoseEWSIsBlockedIsSwitchedToGraphByTheDoctor() async throws {
        let mailboxes = ["yuri@example.com", "zora@example.com"]
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { ews in
            let (env, router, client) = try ews.routed()
            defer { client.shutdown() }
            try await env.syncedBaseline()
            let links = try await env.linkedItemIDs(mailboxes[0])
            env.simulator.control.setEWSBlocked(mailbox: mailboxes[0], true)
            // EWS's answer is its own error, neither a retry nor an outage.
            let blocked = await #expect(throws: MailboxSourceError.self) {
                _ = try await ews.source.itemRefs(in: env.owners[0], kind: .tasks, after: nil, pageSize: 1)
            }
            #expect(blocked?.code == MailboxSourceError.ewsBlockedCode)
            #expect(blocked?.kind == .mailboxRefused && blocked?.isSourceWide == false)

            let diagnosis = try await env.diagnose()
            let finding = try #require(diagnosis.findings.first { $0.scenario == .ewsBlocked }, "\(diagnosis.findings)")
            #expect(finding.mailboxes == [mailboxes[0]])
            #expect(
                finding.steps == [
                    .setProtocol(mailbox: mailboxes[0], .graph), .snapshot(.inbound, mailboxes: [mailboxes[0]]),
                ])
            #expect(diagnosis.plan.first == .setProtocol(mailbox: mailboxes[0], .graph))
            #expect(
                "\(RecoveryStep.setProtocol(mailbox: mailboxes[0], .graph))"
                    == "snapsync mailbox set-protocol \(mailboxes[0]) graph")
            try await env.fix(diagnosis)
            #expect(router.protocolOf(mailboxes[0]) == .graph)
            #expect(router.protocolOf(mailboxes[1]) == .ews)
            #expect(try await env.linkedItemIDs(mailboxes[0]).count == links.count)
            let after = try await env.diagnose()
            #expect(after.isHealthy, "\(after.findings)")
            try await env.expectInSync()
        }
    }

    @Test func theCommandLineSwitchesAMailboxAndNamesEachMailboxsProtocol() async throws {
        let mailboxes = ["abe@example.com", "bea@example.com"]
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { env in
            for (index, mailbox) in mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(40 + index), appointments: 3, tasks: 3))
            }
            var graph = env
            graph.sourceProtocol = .graph
            // Both protocols' settings, EWS the default.
            var environment = ExitCodeTests.environment(env)
            for (key, value) in try graph.exchangeSettings() where key != "SNAPSYNC_EXCHANGE_PROTOCOL" {
                environment[key] = value
            }
            func snapsync(_ arguments: [String]) async throws -> String {
                let result = try await ChildProcess.run(
                    KillAndResumeTests.binary, arguments, environment: environment)
                #expect(result.status == 0, "\(arguments): \(result.output)")
                return String(decoding: result.stdout, as: UTF8.self)
            }
            let switched = try await snapsync(["mailbox", "set-protocol", mailboxes[1], "graph", "--note", "moved"])
            #expect(switched.contains("\(mailboxes[1]) is reached by graph (was ews)"), "\(switched)")
            _ = try await snapsync(["snapshot", "inbound"])
            let run = try await env.count("SELECT max(id)::int FROM sync.runs")
            let shown = try await snapsync(["runs", "show", "\(run)"])
            #expect(shown.contains("protocols: ews: \(mailboxes[0]); graph: \(mailboxes[1])"), "\(shown)")
            let status = try await snapsync(["sync", "status"])
            #expect(status.contains("set the protocol to graph of \(mailboxes[1]): moved"), "\(status)")
            let unchanged = try await snapsync(["mailbox", "set-protocol", mailboxes[1], "GRAPH"])
            #expect(unchanged.contains("(unchanged)"), "\(unchanged)")

            // Without Graph's settings the mailbox reached by Graph is a configuration error naming it (78 when it
            // is all the run covers), not an item or stage failure.
            let refused = try await ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "inbound", "--mailbox", mailboxes[1]],
                environment: ExitCodeTests.environment(env))
            #expect(refused.status == 78, "\(refused.output)")
            #expect(
                refused.output.contains("configuration error") && refused.output.contains(mailboxes[1])
                    && refused.output.contains("ProtocolNotConfigured"), "\(refused.output)")
        }
    }
}

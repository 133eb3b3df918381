import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing

/// An inbound snapshot writes the items no CRM row can claim straight into the CRM as it pages them, and stages the
/// others for the match and merge (`InboundStore.load`).
@Suite(.serialized) struct InboundDirectLoadTests {
    /// The CRM rows, children and links both ways write, without the ids and times they draw.
    static let contents = [
        """
        SELECT concat_ws('|', owner_id, subject, location, body, starts_at, ends_at, is_all_day, time_zone, is_private,
                         categories, ical_uid, recurrence, version) FROM crm.appointments
        """,
        """
        SELECT concat_ws('|', a.subject, a.starts_at, e.original_start, e.is_cancelled, e.subject, e.location, e.starts_at, e.ends_at)
        FROM crm.appointment_exceptions e JOIN crm.appointments a ON a.id = e.appointment_id
        """,
        """
        SELECT concat_ws('|', a.subject, a.starts_at, x.email, x.name, x.kind, x.contact_id)
        FROM crm.appointment_attendees x JOIN crm.appointments a ON a.id = x.appointment_id
        """,
        """
        SELECT concat_ws('|', owner_id, subject, body, starts_on, due_on, status, percent_complete, importance, completed_at,
                         categories, version) FROM crm.tasks
        """,
        """
        SELECT concat_ws('|', l.mailbox, l.kind, l.item_id, l.change_key, l.crm_version, coalesce(a.subject, t.subject),
                         coalesce(a.version, t.version))
        FROM sync.links l LEFT JOIN crm.appointments a ON a.id = l.crm_id LEFT JOIN crm.tasks t ON t.id = l.crm_id
        """,
    ]

    static func contents(_ env: PipelineTestEnvironment) async throws -> [[String]] {
        let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
        var tables: [[String]] = []
        for sql in contents {
            tables.append(try await db.query(sql + " ORDER BY 1").map { try $0.decode(String.self, at: 0) })
        }
        await db.close()
        return tables
    }

    /// Items created as paged (the extract stage's `created`) in a run.
    static func createdWhilePaging(_ env: PipelineTestEnvironment, run: Int64) async throws -> Int {
        try await env.count(
            "SELECT coalesce(sum(created), 0)::int8 FROM sync.run_stages WHERE run_id = $1 AND stage = 'extract'", [run]
        )
    }

    /// Every item of a mailbox folder, read through the environment's source.
    static func allItems(
        _ env: PipelineTestEnvironment, _ owner: MailboxOwner, _ kind: ItemKind
    ) async throws
        -> [MailboxItem]
    {
        var items: [MailboxItem] = []
        var cursor: String?
        repeat {
            let page = try await env.source.itemRefs(in: owner, kind: kind, after: cursor, pageSize: 100)
            items += try await env.source.items(page.refs, in: owner, kind: kind).map { try $0.get() }
            cursor = page.nextCursor
        } while cursor != nil
        return items
    }

    /// A full snapshot from Exchange, which creates the items no CRM row claims as it pages them, writes the same CRM
    /// rows, exceptions, attendees (with their contacts) and links as the path of claimed items: staging, match and
    /// merge, here given every item of the cleaned folders.
    @Test func creatingWhilePagingWritesWhatTheMergeWrites() async throws {
        let mailboxes = ["direct1@example.com", "direct2@example.com"]
        try await PipelineTestEnvironment.with(mailboxes: mailboxes) { env in
            for (index, mailbox) in mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(40 + index), appointments: 60, tasks: 30))
            }
            #expect(try await env.runner().run(env.options(.inbound)).outcome == .completed)
            // CRM contacts for some attendees, by their second address in capitals: attendees are linked to contacts
            // case-insensitively.
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                """
                INSERT INTO crm.contacts (id, display_name, email2, updated_at, version)
                SELECT gen_random_uuid(), 'Contact ' || email, upper(email), now(), 1
                FROM (SELECT DISTINCT email FROM crm.appointment_attendees ORDER BY email LIMIT 12) e
                """)

            var folders: [(MailboxOwner, ItemKind, [MailboxItem])] = []
            for owner in env.owners {
                for kind in [ItemKind.appointments, .tasks] {
                    folders.append((owner, kind, try await Self.allItems(env, owner, kind)))
                }
            }
            try await db.withTransaction { [folders] db in
                for (owner, kind, items) in folders {
                    _ = try InboundStore.cleanCRM(mailbox: owner, kind: kind, db: db)
                    _ = try InboundStore.stage(items, runID: 1, mailbox: owner.smtpAddress, kind: kind, db: db)
                    _ = try InboundStore.match(runID: 1, mailbox: owner, kind: kind, db: db)
                    _ = try InboundStore.merge(runID: 1, mailbox: owner, kind: kind, unmatchedAreNew: true, db: db)
                    try InboundStore.clearStaging(runID: 1, mailbox: owner.smtpAddress, kind: kind, db: db)
                }
            }
            await db.close()
            let expected = try await Self.contents(env)
            #expect(expected[0].count == 120 && expected[3].count == 60)

            let direct = try await env.runner().run(env.options(.fullFromExchange))
            #expect(direct.outcome == .completed)
            #expect(try await Self.createdWhilePaging(env, run: direct.runID) == 2 * 90)
            let actual = try await Self.contents(env)
            for (table, (want, got)) in zip(Self.contents, zip(expected, actual)) {
                #expect(want == got, "\(table.prefix(60))")
            }
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointment_attendees WHERE contact_id IS NOT NULL") > 0)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(3))")

            // A second inbound snapshot finds every item linked: nothing is created, nothing changes version.
            let again = try await env.runner().run(env.options(.inbound))
            #expect(again.outcome == .completed)
            #expect(try await Self.createdWhilePaging(env, run: again.runID) == 0)
            #expect(try await Self.contents(env) == actual)
        }
    }

    /// Offset paging reads a page again when items before it were deleted or added during the extract: the items
    /// created from the first read have links, so the second read stages them for the match, which finds their rows.
    @Test func aPageReadAgainCreatesOnlyItsNewItems() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["anna@example.com"]) { env in
            let owner = env.owners[0]
            let items = InboundStagingTests.tasks(6, owner: owner)
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let (first, again, merged) = try await db.withTransaction { db in
                let first = try InboundStore.load(Array(items[0..<4]), runID: 1, mailbox: owner, kind: .tasks, db: db)
                let again = try InboundStore.load(Array(items[2..<6]), runID: 1, mailbox: owner, kind: .tasks, db: db)
                _ = try InboundStore.match(runID: 1, mailbox: owner, kind: .tasks, db: db)
                let merged = try InboundStore.merge(
                    runID: 1, mailbox: owner, kind: .tasks, unmatchedAreNew: true, db: db)
                return (first, again, merged)
            }
            await db.close()
            #expect(first.items == 4 && first.created == 4)
            #expect(again.items == 4 && again.created == 2)
            #expect(merged.created == 0 && merged.updated == 0)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 6)
            #expect(try await env.count("SELECT count(*) FROM sync.links WHERE seen_by_run = 1") == 6)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks WHERE version <> 1") == 0)
        }
    }

    /// An item the match may give an existing CRM row is staged, not created: one carrying a CRM id, and an
    /// appointment whose iCalendar UID an unlinked CRM appointment of the owner has.
    @Test func itemsACRMRowCanClaimAreStagedForTheMatch() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["ben@example.com"]) { env in
            let owner = env.owners[0]
            var sample = SampleRecords(seed: 11)
            var records = (0..<3).map { sample.appointment(ownerID: owner.userID, index: $0) }
            for index in records.indices { records[index].icalUID = "uid-\(index)" }
            let existing = UUID(), stamped = UUID()
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            try await db.execute(
                """
                INSERT INTO crm.appointments (id, owner_id, subject, starts_at, ends_at, is_all_day, is_private, categories,
                                              ical_uid, updated_at, version)
                VALUES ($1, $2, 'CRM side', now(), now() + interval '1 hour', false, false, '{}', 'uid-0', now(), 3)
                """, [existing, owner.userID])
            let items = records.enumerated().map { index, record in
                MailboxItem(
                    ref: MailboxItemRef(id: "appt-\(index)", changeKey: "ck"), crmID: index == 1 ? stamped : nil,
                    lastModified: nil, record: .appointment(record))
            }
            let loaded = try await db.withTransaction { db in
                let loaded = try InboundStore.load(items, runID: 1, mailbox: owner, kind: .appointments, db: db)
                _ = try InboundStore.match(runID: 1, mailbox: owner, kind: .appointments, db: db)
                _ = try InboundStore.merge(runID: 1, mailbox: owner, kind: .appointments, unmatchedAreNew: true, db: db)
                return loaded
            }
            #expect(loaded.items == 3 && loaded.created == 1)
            let linked = try await db.query("SELECT item_id, crm_id FROM sync.links ORDER BY item_id").map {
                (try $0.decode(String.self, at: 0), try $0.decode(UUID.self, at: 1))
            }
            await db.close()
            #expect(linked.count == 3)
            #expect(linked.first { $0.0 == "appt-0" }?.1 == existing)  // matched by UID
            #expect(linked.first { $0.0 == "appt-1" }?.1 == stamped)  // created with the id stamped on it
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 3)
            #expect(try await env.count("SELECT version FROM crm.appointments WHERE id = $1", [existing]) == 4)
        }
    }

    /// A run's merge committed by a build from before `seen_by_run` left its links unmarked; its items are still
    /// staged, so reconciling under the new build takes only the links whose item the run did not read.
    @Test func linksMergedBeforeTheUpgradeAreSeenThroughStaging() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["cleo@example.com"]) { env in
            let owner = env.owners[0]
            let items = InboundStagingTests.tasks(5, owner: owner)
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let vanished = try await db.withTransaction { db in
                _ = try InboundStore.stage(items, runID: 1, mailbox: owner.smtpAddress, kind: .tasks, db: db)
                _ = try InboundStore.match(runID: 1, mailbox: owner, kind: .tasks, db: db)
                _ = try InboundStore.merge(runID: 1, mailbox: owner, kind: .tasks, unmatchedAreNew: true, db: db)
                try db.execute("UPDATE sync.links SET seen_by_run = NULL")
                // The next run read all but the last item.
                _ = try InboundStore.stage(
                    Array(items.prefix(4)), runID: 2, mailbox: owner.smtpAddress, kind: .tasks, db: db)
                return (
                    try InboundStore.vanished(runID: 1, mailbox: owner.smtpAddress, kind: .tasks, db: db).count,
                    try InboundStore.vanished(runID: 2, mailbox: owner.smtpAddress, kind: .tasks, db: db).count
                )
            }
            await db.close()
            #expect(vanished.0 == 0)
            #expect(vanished.1 == 1)
        }
    }
}

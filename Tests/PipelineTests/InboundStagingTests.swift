import Foundation
import Postgres
import SyncCore
import SyncStore
import Testing

@Suite(.serialized) struct InboundStagingTests {
    /// `count` unstamped sample tasks of `owner`'s mailbox, with item ids task-0, task-1, ...
    static func tasks(_ count: Int, owner: MailboxOwner) -> [MailboxItem] {
        var sample = SampleRecords(seed: 7)
        return (0..<count).map { index in
            MailboxItem(
                ref: MailboxItemRef(id: "task-\(index)", changeKey: "ck-\(index)"), crmID: nil, lastModified: nil,
                record: .task(sample.task(ownerID: owner.userID, index: index)))
        }
    }

    /// Offset paging reads a page again when items before it were deleted or added during the extract: the items
    /// already staged are skipped, the others staged, and the batch's transaction goes on.
    @Test func aPageReadAgainStagesOnlyItsNewItems() async throws {
        try await PipelineTestEnvironment.with(mailboxes: ["anna@example.com"]) { env in
            let owner = env.owners[0]
            let items = Self.tasks(6, owner: owner)
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let address = owner.smtpAddress
            let (first, again) = try await db.withTransaction { db in
                let first = try InboundStore.stage(
                    Array(items[0..<4]), runID: 1, mailbox: address, kind: .tasks, db: db)
                // The next page, shifted back by two items: two of them are staged already.
                let again = try InboundStore.stage(
                    Array(items[2..<6]), runID: 1, mailbox: address, kind: .tasks, db: db)
                return (first, again)
            }
            await db.close()
            #expect(first == 4)
            #expect(again == 2)
            #expect(try await env.count("SELECT count(*) FROM sync.stage_tasks WHERE run_id = 1") == 6)
            #expect(try await env.count("SELECT count(DISTINCT item_id) FROM sync.stage_tasks WHERE run_id = 1") == 6)
        }
    }
}

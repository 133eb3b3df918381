import Foundation
import Logging
import SyncCore
import SyncStore

extension StageContext {
    /// Creates and updates the mailbox's items from the CRM rows that belong in it: keyset pages of rows,
    /// batches of writes, each batch's new ItemIds and ChangeKeys committed with the stage cursor.
    func push(_ kind: ItemKind, cursor: String?, resumed: Bool) async throws {
        var after = cursor.flatMap(UUID.init(uuidString:))
        // Creates whose links were never committed are known by their intents (``CreateIntentResolution``); a stage
        // resumed after a crash of a build without them looks its first batch's creates up by stamped CRM id as well.
        var verifyCreates = resumed
        let owner = mailbox, pageSize = options.pageSize
        while true {
            try checkWindow()
            let page = try await store.outboundPage(kind, mailbox: owner, after: after, limit: pageSize)
            guard let last = page.last else { return }
            var batch: [(OutboundCandidate, OutboundAction)] = []
            var read = 0  // the CRM rows up to this candidate since the last batch, unchanged ones included
            for (index, candidate) in page.enumerated() {
                let action = OutboundPlanner.action(for: candidate)
                read += 1
                if action != .none { batch.append((candidate, action)) }
                if batch.count == options.batchSize || index == page.count - 1 {
                    try checkWindow()
                    try await pushBatch(
                        batch, read: read, kind: kind, cursor: candidate.record.id, verifyCreates: verifyCreates)
                    verifyCreates = false
                    batch = []
                    read = 0
                }
            }
            try await reportProgress(kind, .push)
            if page.count < pageSize { return }
            after = last.record.id
        }
    }

    /// Writes a batch holding the folder's create lock: creates of unknown outcome left by any earlier command are
    /// resolved first, and this batch's creates are recorded as an intent before they are sent. `read` is the number of
    /// CRM rows the batch covers, those needing no write included (counted as the stage's items).
    func pushBatch(
        _ batch: [(OutboundCandidate, OutboundAction)], read: Int, kind: ItemKind, cursor: UUID, verifyCreates: Bool
    ) async throws {
        try await store.withFolderLock(mailbox: address, kind: kind) {
            try await writeBatch(batch, read: read, kind: kind, cursor: cursor, verifyCreates: verifyCreates)
        }
    }

    private func writeBatch(
        _ batch: [(OutboundCandidate, OutboundAction)], read: Int, kind: ItemKind, cursor: UUID,
        verifyCreates: Bool
    ) async throws {
        let unknown = try await CreateIntentResolution.resolve(
            mailbox, kind: kind, source: source, store: store, logger: logger)
        var links: [LinkStore.Link] = []
        var failures: [(UUID, MailboxSourceError)] = []
        var creates: [OutboundCandidate] = []
        var updates: [(OutboundCandidate, MailboxItemRef)] = []
        for (candidate, action) in batch {
            switch action {
            case .create: creates.append(candidate)
            case .update(let ref, _): updates.append((candidate, ref))
            case .none: break
            }
        }
        var created = 0, updated = 0
        var found = unknown
        if verifyCreates, !creates.isEmpty {
            // A stage resumed after a crash of a build without create intents: its batch in flight is looked up too.
            found.merge(try await source.findItems(crmIDs: creates.map(\.record.id), in: mailbox, kind: kind)) {
                first, _ in first
            }
        }
        if !found.isEmpty, !creates.isEmpty {
            // Created by a request whose answer never arrived, maybe only in part (a series without all its
            // exceptions): written again as an update.
            for candidate in creates { if let ref = found[candidate.record.id] { updates.append((candidate, ref)) } }
            creates.removeAll { found[$0.record.id] != nil }
        }
        try await noteUnstorableText(creates.map(\.record) + updates.map(\.0.record), kind: kind, stage: .push)
        if !updates.isEmpty {
            let results = try await source.update(
                updates.map { MailboxUpdate(ref: $0.1, record: $0.0.record) }, in: mailbox)
            var retry: [(OutboundCandidate, MailboxItemRef)] = []
            for ((candidate, ref), result) in zip(updates, results) {
                switch result {
                case .success(let newRef):
                    links.append(.init(crmID: candidate.record.id, ref: newRef, version: candidate.version));
                    updated += 1
                // deleted in Exchange: recreate
                case .failure(let error) where error.kind == .notFound: creates.append(candidate)
                case .failure(let error) where error.kind == .conflict:
                    retry.append((candidate, MailboxItemRef(id: ref.id)))
                case .failure(let error): failures.append((candidate.record.id, error))
                }
            }
            if !retry.isEmpty {  // changed in Exchange since last synced: the CRM wins in an outbound snapshot
                for ((candidate, _), result) in zip(
                    retry,
                    try await source.update(retry.map { MailboxUpdate(ref: $0.1, record: $0.0.record) }, in: mailbox))
                {
                    switch result {
                    case .success(let newRef):
                        links.append(.init(crmID: candidate.record.id, ref: newRef, version: candidate.version));
                        updated += 1
                    case .failure(let error): failures.append((candidate.record.id, error))
                    }
                }
            }
        }
        var intent: Int64?
        if !creates.isEmpty {
            intent = try await store.recordCreateIntent(
                mailbox: address, kind: kind, crmIDs: creates.map(\.record.id), runID: runID)
            let results = try await source.create(creates.map(\.record), in: mailbox)
            for (candidate, result) in zip(creates, results) {
                switch result {
                case .success(let ref):
                    links.append(.init(crmID: candidate.record.id, ref: ref, version: candidate.version)); created += 1
                case .failure(let error): failures.append((candidate.record.id, error))
                }
            }
        }
        let answered = failures.contains { $0.1.mayHaveLeftAnItem } ? nil : intent
        if failures.contains(where: { $0.1.kind == .transient }),
            let transient = failures.first(where: { $0.1.kind == .transient })
        {
            // Exchange is throttling or failing: keep what succeeded, stop the stage so a rerun retries the rest.
            // The batch is read again by the rerun: only what was written counts now.
            try await commitPush(
                links, failures: [], read: links.count, kind: kind, cursor: nil, created: created, updated: updated,
                intent: answered)
            throw transient.1
        }
        try await commitPush(
            links, failures: failures, read: read, kind: kind, cursor: cursor.uuidString, created: created,
            updated: updated, intent: answered)
        for (id, error) in failures {
            logger.warning("item quarantined", metadata: ["crm.id": "\(id)", "item.error": "\(error.code)"])
        }
    }

    /// Commits the batch's links, quarantined items and checkpoint, and clears the batch's create intent.
    private func commitPush(
        _ links: [LinkStore.Link], failures: [(UUID, MailboxSourceError)], read: Int, kind: ItemKind,
        cursor: String?, created: Int, updated: Int, intent: Int64?
    ) async throws {
        let previousCursor =
            cursor == nil
            ? try await store.stages(runID: runID, mailbox: address).first { $0.kind == kind && $0.stage == .push }?
                .cursor
            : cursor
        let quarantined = failures.map {
            QuarantinedItem(itemID: $0.1.itemID, crmID: $0.0, code: $0.1.code, reason: $0.1.message)
        }
        try await commit(
            .push, kind: kind, cursor: previousCursor,
            .pushed(
                links: links, read: read, created: created, updated: updated, clearingIntent: intent,
                quarantined: quarantined))
    }

    /// Deletes the items whose CRM row is gone or no longer belongs in the mailbox, in batches.
    func deleteOrphans(_ kind: ItemKind, cursor: String?) async throws {
        var after = cursor.flatMap(UUID.init(uuidString:))
        let owner = mailbox
        while true {
            try checkWindow()
            let orphans = try await store.orphanPage(mailbox: owner, kind: kind, after: after, limit: options.batchSize)
            guard let last = orphans.last else { return }
            let results = try await source.delete(orphans.map(\.ref), in: owner, kind: kind)
            var gone: [UUID] = []
            var failures: [(UUID, MailboxSourceError)] = []
            for (orphan, result) in zip(orphans, results) {
                switch result {
                case .success: gone.append(orphan.crmID)
                case .failure(let error) where error.kind == .notFound: gone.append(orphan.crmID)
                case .failure(let error) where error.kind == .transient: throw error
                case .failure(let error): failures.append((orphan.crmID, error))
                }
            }
            let quarantined = failures.map {
                QuarantinedItem(itemID: $0.1.itemID, crmID: $0.0, code: $0.1.code, reason: $0.1.message)
            }
            try await commit(
                .delete, kind: kind, cursor: last.crmID.uuidString, .deletedOrphans(gone, quarantined: quarantined))
            after = last.crmID
        }
    }

    /// Full snapshot from the CRM: empties the folder (appointments, tasks) or removes the synced contacts,
    /// and forgets the links.
    func cleanExchange(_ kind: ItemKind) async throws {
        let owner = mailbox
        if kind == .contacts {
            let links = try await store.links(mailbox: address, kind: kind)
            let refs = links.keys.map { MailboxItemRef(id: $0) }
            var start = 0
            while start < refs.count {
                try checkWindow()
                let chunk = Array(refs[start..<min(start + options.batchSize, refs.count)])
                start += chunk.count
                let results = try await source.delete(chunk, in: owner, kind: kind)
                let deleted = results.filter {
                    if case .failure(let e) = $0, e.kind != .notFound { false } else { true }
                }.count
                try await commit(
                    .cleanExchange, kind: kind, cursor: nil,
                    .counts(StageCounts(items: Int64(chunk.count), deleted: Int64(deleted))))
            }
        } else {
            // Deletions shift the pages, so each round reads from the first page again, past the items that could not
            // be deleted (a page of those only moves on to the next).
            var undeletable = Set<String>()
            var pageCursor: String?
            while true {
                try checkWindow()
                let page = try await source.itemRefs(
                    in: owner, kind: kind, after: pageCursor, pageSize: options.batchSize)
                let refs = page.refs.filter { !undeletable.contains($0.id) }
                if refs.isEmpty {
                    guard let next = page.nextCursor else { break }
                    pageCursor = next
                    continue
                }
                let results = try await source.delete(refs, in: owner, kind: kind)
                let kept = zip(refs, results).compactMap { ref, result in
                    if case .failure(let e) = result, e.kind != .notFound { ref.id } else { nil }
                }
                undeletable.formUnion(kept)
                let failed = kept.count
                try await commit(
                    .cleanExchange, kind: kind, cursor: nil,
                    .counts(
                        StageCounts(
                            items: Int64(refs.count), deleted: Int64(refs.count - failed), failed: Int64(failed))))
                if page.nextCursor == nil && failed == 0 && page.refs.count < options.batchSize { break }
                pageCursor = nil
            }
        }
        try await commit(.cleanExchange, kind: kind, cursor: nil, .forgetLinks)
    }
}

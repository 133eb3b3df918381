import Foundation
import Logging
import Postgres
import SyncCore
import SyncStore

extension StageContext {
    /// Drains the folder's changes from the beginning to learn its current sync state (checkpointed).
    func baseline(_ kind: ItemKind, cursor: String?) async throws {
        var state = cursor
        while true {
            try checkWindow()
            let changes: MailboxChanges
            do {
                changes = try await source.changes(in: mailbox, kind: kind, since: state, window: .rolling(around: Date()), maxChanges: 512)
            } catch {
                // A checkpointed state from before a mailbox restore is rejected: start over from nothing.
                guard error.kind == .invalidSyncState, state != nil else { throw error }
                state = nil
                continue
            }
            state = changes.syncState
            try await commit(.baseline, kind: kind, cursor: state) { _ in StageCounts(items: Int64(changes.changes.count)) }
            if changes.isComplete { return }
        }
    }

    /// True when an item is inside the run's date range (always, without one).
    func inRange(_ item: MailboxItem) -> Bool {
        guard let range = request.dateRange else { return true }
        if range.field == .modified { return item.lastModified.map(range.contains) ?? true }
        switch item.record {
        case .appointment(let a): return range.overlaps(start: a.startsAt, end: InboundStore.seriesEnd(a))
        case .task(let t):
            guard let day = t.startsOn ?? t.dueOn else { return false }
            return range.contains(day.startOfDayUTC)
        case .contact: return true
        }
    }

    /// Pages every item of the folder into the CRM (an item no CRM row can claim) or staging (the others, for the
    /// match): each page (FindItem, then GetItem in batches) is committed with the source's cursor of the next page
    /// (after the last, ``extractFinished``), so a killed run re-reads at most the page in flight
    /// (``InboundStore/load(_:runID:mailbox:kind:db:)``).
    func extract(_ kind: ItemKind, cursor: String?) async throws {
        if cursor == Self.extractFinished { return }
        var pageCursor = cursor
        while true {
            try checkWindow()
            let page = try await source.itemRefs(in: mailbox, kind: kind, after: pageCursor, pageSize: options.pageSize)
            var items: [MailboxItem] = []
            var failures: [MailboxSourceError] = []
            var start = 0
            while start < page.refs.count {
                let refs = Array(page.refs[start..<min(start + options.fetchBatchSize, page.refs.count)])
                start += refs.count
                for result in try await fetchWithRetry(refs, kind: kind) {
                    switch result {
                    case .success(let item): if inRange(item) { items.append(item) }
                    case .failure(let error) where error.kind == .notFound: continue  // deleted since the page was read
                    case .failure(let error): failures.append(error)
                    }
                }
            }
            let next = page.nextCursor
            let runID = runID, address = address, owner = mailbox, read = items, failed = failures
            let directLoad = options.directLoad
            try await commit(.extract, kind: kind, cursor: next ?? Self.extractFinished,
                             total: page.totalCount.map(Int64.init)) { db in
                var counts = directLoad
                    ? try InboundStore.load(read, runID: runID, mailbox: owner, kind: kind, db: db)
                    : StageCounts(items: Int64(try InboundStore.stage(read, runID: runID, mailbox: address, kind: kind, db: db)))
                for failure in failed {
                    try RunStore.quarantine(runID: runID, mailbox: address, kind: kind, itemID: failure.itemID, crmID: nil,
                                            direction: "inbound", code: failure.code, reason: failure.message, payload: nil, db: db)
                }
                counts.failed = Int64(failed.count)
                return counts
            }
            for failure in failures {
                logger.warning("item quarantined", metadata: ["item.id": "\(failure.itemID ?? "?")", "item.error": "\(failure.code)"])
            }
            try await reportProgress(kind, .extract)
            guard let next else { return }
            pageCursor = next
        }
    }

    /// The extract checkpoint once the last page is in (a source's cursor is never empty).
    static var extractFinished: String { "" }

    /// GetItem with one more try for items that failed transiently (the client already retried whole calls).
    func fetchWithRetry(_ refs: [MailboxItemRef], kind: ItemKind) async throws -> [Result<MailboxItem, MailboxSourceError>] {
        var results = try await source.items(refs, in: mailbox, kind: kind)
        let transient = results.indices.filter { if case .failure(let e) = results[$0], e.kind == .transient { true } else { false } }
        guard !transient.isEmpty else { return results }
        try await Task.sleep(for: .seconds(1))
        let retried = try await source.items(transient.map { refs[$0] }, in: mailbox, kind: kind)
        for (index, result) in zip(transient, retried) {
            if case .failure(let error) = result, error.kind == .transient { throw error }
            results[index] = result
        }
        return results
    }

    /// Matches the folder's staged items to CRM rows; nothing to do (no statistics to take) when every item was
    /// created as it was paged.
    func match(_ kind: ItemKind) async throws {
        let runID = runID, owner = mailbox
        let address = address, logger = logger
        let staged = try await db.run { db in
            guard try InboundStore.hasStaged(runID: runID, mailbox: address, kind: kind, db: db) else { return false }
            try InboundStore.refreshStagingStatistics(kind, runID: runID, mailbox: address, logger: logger, db: db)
            return true
        }
        guard staged else { return }
        try await commit(.match, kind: kind, cursor: nil) { db in
            try InboundStore.match(runID: runID, mailbox: owner, kind: kind, db: db)
        }
    }

    /// Merges the folder's staging into the CRM. Only a first attempt may insert unmatched rows without a conflict
    /// check: a merge commits with its checkpoint, so nothing of it exists before (``InboundStore/merge(runID:mailbox:kind:unmatchedAreNew:db:)``).
    func merge(_ kind: ItemKind, firstAttempt: Bool) async throws {
        let runID = runID, owner = mailbox, address = address
        guard try await db.run({ db in try InboundStore.hasStaged(runID: runID, mailbox: address, kind: kind, db: db) }) else { return }
        try await commit(.merge, kind: kind, cursor: nil) { db in
            try InboundStore.merge(runID: runID, mailbox: owner, kind: kind, unmatchedAreNew: firstAttempt, db: db)
        }
    }

    /// Deletes CRM rows linked to the mailbox whose item is gone, unless that would be a mass deletion.
    func reconcile(_ kind: ItemKind, logger: Logger) async throws {
        let runID = runID, address = address
        let (vanished, linked) = try await db.run { db in
            // After the merge every item the run read has its link, written by the run, and an item has one link, so
            // as many links as written ones means no link lost its item (a first snapshot, or nothing deleted): the
            // search is skipped.
            let (linked, written) = try InboundStore.linkCounts(runID: runID, mailbox: address, kind: kind, db: db)
            let vanished = linked == written ? [] : try InboundStore.vanished(runID: runID, mailbox: address, kind: kind, db: db)
            return (vanished, linked)
        }
        let present = linked - vanished.count  // the items of the folder the run read
        let range = request.dateRange
        let doomed = vanished.filter { row in
            guard let range, let start = row.startsAt else { return true }
            if range.field == .modified { return row.modifiedAt.map(range.contains) ?? true }
            return kind == .appointments ? range.overlaps(start: start, end: row.seriesEnd) : range.contains(start)
        }
        let approved = try await db.run { db in try RunStore.massDeleteApproved(runID: runID, mailbox: address, kind: kind, db: db) }
        let decision = options.massDeleteGuard.decide(linked: linked, present: present, wouldDelete: doomed.count,
                                                      allowMassDelete: approved)
        if case .refuse(let linked, let present, let wouldDelete) = decision {
            let message = "Exchange returned \(present) \(kind.rawValue) for \(linked) linked CRM rows; deleting \(wouldDelete) "
                + "CRM rows was refused (mailbox restored from a backup?). Check the mailbox, then approve its deletions: "
                + "snapsync rerun \(runID) --stage reconcile --mailbox \(address) --kind \(kind.rawValue) --allow-mass-delete"
            try await RunStore.recordEvent(runID: runID, mailbox: address, kind: kind, stage: .reconcile, event: "mass-delete-refused",
                                           message: message, db: db)
            throw PipelineError(.massDeleteRefused, message)
        }
        let ids = doomed.map(\.crmID)
        try await commit(.reconcile, kind: kind, cursor: nil) { db in
            let deleted = try InboundStore.deleteRows(ids, mailbox: address, kind: kind, db: db)
            return StageCounts(items: Int64(ids.count), deleted: Int64(deleted))
        }
    }

    /// Stores the baseline sync state for live sync and clears the run's staging for the folder.
    func finalize(_ kind: ItemKind) async throws {
        let runID = runID, address = address
        let state = try await RunStore.stages(runID: runID, mailbox: address, db: db)
            .first { $0.kind == kind && $0.stage == .baseline }?.cursor
        try await commit(.finalize, kind: kind, cursor: nil) { db in
            if let state { try FolderStateStore.store(state, mailbox: address, kind: kind, db: db) }
            try InboundStore.clearStaging(runID: runID, mailbox: address, kind: kind, db: db)
            return StageCounts()
        }
    }

    /// Full snapshot from Exchange: removes the CRM rows of the mailbox's user for the kind.
    func cleanCRM(_ kind: ItemKind) async throws {
        let owner = mailbox
        try await commit(.cleanCRM, kind: kind, cursor: nil) { db in
            let deleted = try InboundStore.cleanCRM(mailbox: owner, kind: kind, db: db)
            return StageCounts(items: Int64(deleted), deleted: Int64(deleted))
        }
    }
}

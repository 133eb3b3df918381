import Foundation
import Logging
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
                changes = try await source.changes(
                    in: mailbox, kind: kind, since: state, window: .rolling(around: Date()), maxChanges: 512)
            } catch {
                // A checkpointed state from before a mailbox restore is rejected: start over from nothing.
                guard error.kind == .invalidSyncState, state != nil else { throw error }
                state = nil
                continue
            }
            state = changes.syncState
            try await commit(
                .baseline, kind: kind, cursor: state, .counts(StageCounts(items: Int64(changes.changes.count))))
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
    /// match): each page (whole items where the source lists them so, else refs and then the items in batches) is
    /// committed with the source's cursor of the next page (after the last, ``extractFinished``), so a killed run
    /// re-reads at most the page in flight (``InboundStore/load(_:runID:mailbox:kind:db:)``).
    func extract(_ kind: ItemKind, cursor: String?) async throws {
        if cursor == Self.extractFinished { return }
        var pageCursor = cursor
        while true {
            try checkWindow()
            let page = try await source.itemPage(in: mailbox, kind: kind, after: pageCursor, pageSize: options.pageSize)
            var items: [MailboxItem] = []
            var failures: [MailboxSourceError] = []
            func take(_ results: [Result<MailboxItem, MailboxSourceError>]) {
                for result in results {
                    switch result {
                    case .success(let item): if inRange(item) { items.append(item) }
                    case .failure(let error) where error.kind == .notFound: continue  // deleted since the page was read
                    case .failure(let error): failures.append(error)
                    }
                }
            }
            if let whole = page.items {
                take(whole)
            } else {
                var start = 0
                while start < page.refs.count {
                    let refs = Array(page.refs[start..<min(start + options.fetchBatchSize, page.refs.count)])
                    start += refs.count
                    take(try await fetchWithRetry(refs, kind: kind))
                }
            }
            let next = page.nextCursor
            let quarantined = failures.map {
                QuarantinedItem(itemID: $0.itemID, crmID: nil, code: $0.code, reason: $0.message)
            }
            try await commit(
                .extract, kind: kind, cursor: next ?? Self.extractFinished, total: page.totalCount.map(Int64.init),
                .extracted(items, quarantined: quarantined))
            for failure in failures {
                logger.warning(
                    "item quarantined",
                    metadata: ["item.id": "\(failure.itemID ?? "?")", "item.error": "\(failure.code)"])
            }
            try await reportProgress(kind, .extract)
            guard let next else { return }
            pageCursor = next
        }
    }

    /// The extract checkpoint once the last page is in (a source's cursor is never empty).
    static var extractFinished: String { "" }

    /// GetItem with one more try for items that failed transiently (the client already retried whole calls).
    func fetchWithRetry(
        _ refs: [MailboxItemRef], kind: ItemKind
    ) async throws -> [Result<MailboxItem, MailboxSourceError>] {
        var results = try await source.items(refs, in: mailbox, kind: kind)
        let transient = results.indices.filter {
            if case .failure(let e) = results[$0], e.kind == .transient { true } else { false }
        }
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
        guard try await store.prepareMatch(runID: runID, mailbox: address, kind: kind, logger: logger) else { return }
        try await commit(.match, kind: kind, cursor: nil, .match)
    }

    /// Merges the folder's staging into the CRM. Only a first attempt may insert unmatched rows without a conflict
    /// check: a merge commits with its checkpoint, so nothing of it exists before (``InboundStore/merge(runID:mailbox:kind:unmatchedAreNew:db:)``).
    func merge(_ kind: ItemKind, firstAttempt: Bool) async throws {
        guard try await store.hasStaged(runID: runID, mailbox: address, kind: kind) else { return }
        try await commit(.merge, kind: kind, cursor: nil, .merge(unmatchedAreNew: firstAttempt))
    }

    /// Deletes CRM rows linked to the mailbox whose item is gone, unless that would be a mass deletion.
    func reconcile(_ kind: ItemKind, logger: Logger) async throws {
        let (vanished, linked) = try await store.reconcileCandidates(runID: runID, mailbox: address, kind: kind)
        let present = linked - vanished.count  // the items of the folder the run read
        let range = request.dateRange
        let doomed = vanished.filter { row in
            guard let range, let start = row.startsAt else { return true }
            if range.field == .modified { return row.modifiedAt.map(range.contains) ?? true }
            return kind == .appointments ? range.overlaps(start: start, end: row.seriesEnd) : range.contains(start)
        }
        let approved = try await store.massDeleteApproved(runID: runID, mailbox: address, kind: kind)
        let decision = options.massDeleteGuard.decide(
            linked: linked, present: present, wouldDelete: doomed.count,
            allowMassDelete: approved)
        if case .refuse(let linked, let present, let wouldDelete) = decision {
            let message =
                "Exchange returned \(present) \(kind.rawValue) for \(linked) linked CRM rows; deleting \(wouldDelete) "
                + "CRM rows was refused (mailbox restored from a backup?). Check the mailbox, then approve its deletions: "
                + "snapsync rerun \(runID) --stage reconcile --mailbox \(address) --kind \(kind.rawValue) --allow-mass-delete"
            try await store.recordEvent(
                runID: runID, mailbox: address, kind: kind, stage: .reconcile, event: "mass-delete-refused",
                message: message, data: [:])
            throw PipelineError(.massDeleteRefused, message)
        }
        try await commit(.reconcile, kind: kind, cursor: nil, .reconcile(deleting: doomed.map(\.crmID)))
    }

    /// Stores the baseline sync state for live sync and clears the run's staging for the folder.
    func finalize(_ kind: ItemKind) async throws {
        let state = try await store.stages(runID: runID, mailbox: address)
            .first { $0.kind == kind && $0.stage == .baseline }?.cursor
        try await commit(.finalize, kind: kind, cursor: nil, .finalize(syncState: state))
    }

    /// Full snapshot from Exchange: removes the CRM rows of the mailbox's user for the kind.
    func cleanCRM(_ kind: ItemKind) async throws {
        try await commit(.cleanCRM, kind: kind, cursor: nil, .cleanCRM)
    }
}

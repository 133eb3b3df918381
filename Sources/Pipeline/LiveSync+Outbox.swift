import Foundation
import Logging
import SyncCore
import SyncStore

extension LiveSync {
    /// One planned write of an outbox entry to one mailbox.
    enum Write {
        case create(MailboxRecord, version: Int64)
        case update(MailboxItemRef, MailboxRecord, version: Int64)
        case delete(MailboxItemRef)
    }

    /// Delivers due outbox entries, oldest first, in batches; each entry reaches every mailbox it belongs in
    /// (and leaves those it no longer belongs in). Stops early when Exchange is unavailable.
    func deliverOutbox(store: any SyncStoreConnection, report: inout LiveSyncReport) async throws {
        let disabled = try await store.disabledMailboxes()
        while true {
            let entries = try await store.claimDueOutbox(limit: options.batchSize, lease: options.lease)
            if entries.isEmpty { return }
            for kind in ItemKind.allCases {
                let group = entries.filter { $0.kind == kind }
                guard !group.isEmpty else { continue }
                try await deliver(group, kind: kind, disabled: disabled, store: store, report: &report)
            }
            if report.exchangeUnavailable || report.exchangeRefused != nil { return }
        }
    }

    func deliver(
        _ entries: [LiveSyncStore.Entry], kind: ItemKind, disabled: Set<String>, store: any SyncStoreConnection,
        report: inout LiveSyncReport
    ) async throws {
        let (placed, links) = try await store.placedWithLinks(kind, ids: entries.map(\.crmID))
        // Plan: per mailbox, the writes of each entry.
        var plan: [String: (owner: MailboxOwner, writes: [(entry: LiveSyncStore.Entry, write: Write)])] = [:]
        for entry in entries {
            let row = placed[entry.crmID]
            let desired = (row?.mailboxes ?? []).filter { !disabled.contains($0.smtpAddress.lowercased()) }
            let linked = links[entry.crmID] ?? []
            for owner in desired {
                let write: Write
                if let link = linked.first(where: { $0.mailbox == owner.smtpAddress }) {
                    // The item already has this version: a conflict Exchange won brought it into the CRM.
                    if kind.syncsBothWays && link.version == row!.version { continue }
                    write = .update(link.ref, row!.record, version: row!.version)
                } else {
                    write = .create(row!.record, version: row!.version)
                }
                plan[owner.smtpAddress, default: (owner, [])].writes.append((entry, write))
            }
            for link in linked
            where !desired.contains(where: { $0.smtpAddress == link.mailbox })
                && !disabled.contains(link.mailbox.lowercased())
            {
                let owner = MailboxOwner(
                    smtpAddress: link.mailbox, userID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
                plan[link.mailbox, default: (owner, [])].writes.append((entry, .delete(link.ref)))
            }
        }
        var failures: [Int64: MailboxSourceError] = [:]
        var upserts: [String: [LinkStore.Link]] = [:]
        var removals: [String: [UUID]] = [:]
        var conflicts: [String: [(crmID: UUID, itemID: String, winner: ConflictWinner)]] = [:]
        var intents: [Int64] = []
        for (mailbox, batch) in plan.sorted(by: { $0.key < $1.key }) {
            if report.exchangeUnavailable || report.exchangeRefused != nil {
                for (entry, _) in batch.writes { failures[entry.id] = failures[entry.id] ?? unavailable }
                continue
            }
            do {
                try await write(
                    batch.writes, to: batch.owner, kind: kind, store: store, failures: &failures,
                    upserts: &upserts[mailbox, default: []], removals: &removals[mailbox, default: []],
                    conflicts: &conflicts[mailbox, default: []], intents: &intents)
            } catch let error as MailboxSourceError {
                if error.kind == .transient { report.exchangeUnavailable = true }
                if error.kind == .unauthorized || error.kind == .wrongEndpoint { report.exchangeRefused = error }
                for (entry, _) in batch.writes { failures[entry.id] = error }
                logger.warning(
                    "outbox delivery failed", metadata: ["mailbox": "\(mailbox)", "item.error": "\(error.code)"])
            }
        }
        var outcomes: [(entry: LiveSyncStore.Entry, outcome: OutboxDeliveries.Outcome)] = []
        var done = 0, retried = 0, parkedNow = 0
        for entry in entries {
            if let error = failures[entry.id] {
                // Exchange down, refusing the account or the mailbox, or the item changing again while its conflict
                // was decided, is no fault of the entry: retried, never parked.
                let transient = error.isSourceWide || error.kind == .mailboxRefused || error.kind == .conflict
                outcomes.append(
                    (
                        entry,
                        .failed(
                            transient: transient, code: error.code, message: error.message,
                            backoff: options.backoff(attempts: entry.attempts))
                    ))
                if !transient && entry.attempts + 1 >= options.permanentFailureLimit {
                    parkedNow += 1
                } else {
                    retried += 1
                }
            } else {
                outcomes.append((entry, .delivered))
                done += 1
            }
        }
        try await store.commitDeliveries(
            OutboxDeliveries(
                kind: kind, upserts: upserts, removals: removals, answeredIntents: intents,
                outcomes: outcomes, limit: options.permanentFailureLimit, conflicts: conflicts,
                policy: options.policy(kind).rawValue))
        report.conflicts += conflicts.values.reduce(0) { $0 + $1.count }
        report.delivered += done
        report.retried += retried
        report.parked += parkedNow
    }

    private var unavailable: MailboxSourceError {
        MailboxSourceError(
            kind: .transient, code: "ExchangeUnavailable", message: "Exchange did not answer earlier in this pass")
    }

    /// Sends one mailbox's writes: creates (holding the folder's create lock: the folder's creates of unknown
    /// outcome are resolved first and the stamped ids of entries tried before looked up, so a lost response never
    /// duplicates; the creates sent are recorded as an intent, whose id goes to `intents` to be cleared with the
    /// links), updates (a vanished item is recreated; see ``resolve(_:in:kind:store:failures:upserts:conflicts:)``
    /// for an item that changed in Exchange too), deletes (gone is fine).
    func write(
        _ writes: [(entry: LiveSyncStore.Entry, write: Write)], to owner: MailboxOwner, kind: ItemKind,
        store: any SyncStoreConnection,
        failures: inout [Int64: MailboxSourceError], upserts: inout [LinkStore.Link], removals: inout [UUID],
        conflicts: inout [(crmID: UUID, itemID: String, winner: ConflictWinner)], intents: inout [Int64]
    ) async throws {
        var creates: [(LiveSyncStore.Entry, MailboxRecord, Int64)] = []
        var updates: [(LiveSyncStore.Entry, MailboxItemRef, MailboxRecord, Int64)] = []
        var deletes: [(LiveSyncStore.Entry, MailboxItemRef)] = []
        for (entry, write) in writes {
            switch write {
            case .create(let record, let version): creates.append((entry, record, version))
            case .update(let ref, let record, let version): updates.append((entry, ref, record, version))
            case .delete(let ref): deletes.append((entry, ref))
            }
        }
        UnstorableTextNotice.warn(creates.map(\.1) + updates.map(\.2), logger: logger)
        if !updates.isEmpty {
            // Appointments and tasks go both ways: an update applies only to the item as last synced. Contacts go one
            // way, the CRM's copy overwriting the item.
            let results = try await source.update(
                updates.map {
                    MailboxUpdate(ref: kind.syncsBothWays ? $0.1 : MailboxItemRef(id: $0.1.id), record: $0.2)
                }, in: owner)
            var conflicted: [(LiveSyncStore.Entry, MailboxItemRef, MailboxRecord, Int64)] = []
            for (update, result) in zip(updates, results) {
                switch result {
                case .success(let ref): upserts.append(.init(crmID: update.0.crmID, ref: ref, version: update.3))
                case .failure(let error) where error.kind == .notFound: creates.append((update.0, update.2, update.3))
                case .failure(let error) where error.kind == .conflict && kind.syncsBothWays: conflicted.append(update)
                case .failure(let error): failures[update.0.id] = error
                }
            }
            if !conflicted.isEmpty {
                creates += try await resolve(
                    conflicted, in: owner, kind: kind, store: store, failures: &failures, upserts: &upserts,
                    conflicts: &conflicts)
            }
        }
        if !creates.isEmpty {
            let toCreate = creates
            let (links, failed, intent) = try await store.withFolderLock(mailbox: owner.smtpAddress, kind: kind) {
                try await create(toCreate, in: owner, kind: kind, store: store)
            }
            upserts += links
            failures.merge(failed) { _, new in new }
            if let intent { intents.append(intent) }
        }
        if !deletes.isEmpty {
            for (delete, result) in zip(deletes, try await source.delete(deletes.map(\.1), in: owner, kind: kind)) {
                switch result {
                case .success: removals.append(delete.0.crmID)
                case .failure(let error) where error.kind == .notFound: removals.append(delete.0.crmID)
                case .failure(let error): failures[delete.0.id] = error
                }
            }
        }
    }

    /// Updates whose item changed in Exchange since it was last synced: each is decided by the kind's conflict policy,
    /// as a pull decides a change both sides made, instead of overwriting Exchange's change unseen. The item is read
    /// as it is now; the CRM's winners are written over it, Exchange's winners go into the CRM (the entry is done),
    /// and every decision goes to `conflicts`. Returns the updates whose item has vanished meanwhile (to create).
    private func resolve(
        _ conflicted: [(LiveSyncStore.Entry, MailboxItemRef, MailboxRecord, Int64)], in owner: MailboxOwner,
        kind: ItemKind, store: any SyncStoreConnection, failures: inout [Int64: MailboxSourceError],
        upserts: inout [LinkStore.Link], conflicts: inout [(crmID: UUID, itemID: String, winner: ConflictWinner)]
    ) async throws -> [(LiveSyncStore.Entry, MailboxRecord, Int64)] {
        let policy = options.policy(kind)
        let current = try await source.items(conflicted.map { MailboxItemRef(id: $0.1.id) }, in: owner, kind: kind)
        var vanished: [(LiveSyncStore.Entry, MailboxRecord, Int64)] = []
        var crmWon: [(update: (LiveSyncStore.Entry, MailboxItemRef, MailboxRecord, Int64), now: MailboxItemRef)] = []
        var exchangeWon: [MailboxItem] = []
        for (update, result) in zip(conflicted, current) {
            switch result {
            case .success(let item):
                if policy.exchangeWins(crmUpdatedAt: update.2.updatedAt, exchangeModifiedAt: item.lastModified) {
                    exchangeWon.append(item)
                    conflicts.append((update.0.crmID, item.ref.id, .exchange))
                } else {
                    crmWon.append((update, item.ref))
                }
            case .failure(let error) where error.kind == .notFound: vanished.append((update.0, update.2, update.3))
            case .failure(let error): failures[update.0.id] = error
            }
        }
        if !exchangeWon.isEmpty {
            try await store.apply(
                PulledChanges(
                    mailbox: owner, kind: kind, items: exchangeWon, deleting: [], relinking: [], crmWins: [],
                    exchangeWins: [], policy: policy.rawValue, quarantined: [], syncState: nil,
                    readFrom: nil))
        }
        if !crmWon.isEmpty {
            let results = try await source.update(
                crmWon.map { MailboxUpdate(ref: $0.now, record: $0.update.2) }, in: owner)
            for ((update, _), result) in zip(crmWon, results) {
                switch result {
                case .success(let ref):
                    upserts.append(.init(crmID: update.0.crmID, ref: ref, version: update.3))
                    conflicts.append((update.0.crmID, ref.id, .crm))
                case .failure(let error) where error.kind == .notFound: vanished.append((update.0, update.2, update.3))
                case .failure(let error): failures[update.0.id] = error
                }
            }
        }
        return vanished
    }

    /// The creates of one mailbox folder; call holding its create lock. Returns the links to commit, the failures and
    /// the intent to clear with them (nil when none was sent, or when a failed create may have left an item).
    private func create(
        _ creates: [(LiveSyncStore.Entry, MailboxRecord, Int64)], in owner: MailboxOwner, kind: ItemKind,
        store: any SyncStoreConnection
    ) async throws -> ([LinkStore.Link], [Int64: MailboxSourceError], Int64?) {
        var links: [LinkStore.Link] = []
        var failures: [Int64: MailboxSourceError] = [:]
        var found = try await CreateIntentResolution.resolve(
            owner, kind: kind, source: source, store: store, logger: logger)
        let retried = creates.filter { $0.0.attempts > 0 && found[$0.1.id] == nil }.map(\.1.id)
        if !retried.isEmpty {
            found.merge(try await source.findItems(crmIDs: retried, in: owner, kind: kind)) { first, _ in first }
        }
        for create in creates {
            if let ref = found[create.1.id] {
                links.append(.init(crmID: create.0.crmID, ref: ref, version: create.2 - 1))
            }
        }
        let pending = creates.filter { found[$0.1.id] == nil }
        guard !pending.isEmpty else { return (links, failures, nil) }
        let intent = try await store.recordCreateIntent(
            mailbox: owner.smtpAddress, kind: kind, crmIDs: pending.map(\.1.id), runID: nil)
        for (create, result) in zip(pending, try await source.create(pending.map(\.1), in: owner)) {
            switch result {
            case .success(let ref): links.append(.init(crmID: create.0.crmID, ref: ref, version: create.2))
            case .failure(let error): failures[create.0.id] = error
            }
        }
        return (links, failures, failures.values.contains { $0.mayHaveLeftAnItem } ? nil : intent)
    }
}

import Foundation
import Logging
import SyncCore
import SyncStore

extension LiveSync {
    /// Pulls Exchange changes of every syncing mailbox's calendar and tasks folders from their stored sync
    /// states; each batch of changes and the new state commit in one transaction.
    func pullChanges(store: any SyncStoreConnection, report: inout LiveSyncReport) async throws {
        let disabled = try await store.disabledMailboxes()
        let owners = try await store.mailboxOwners(nil).filter { !disabled.contains($0.smtpAddress.lowercased()) }
        for owner in owners {
            for kind in [ItemKind.appointments, .tasks] {
                if report.exchangeUnavailable { return }
                let address = owner.smtpAddress
                let state = try await store.folderState(mailbox: address, kind: kind)
                if state.needsSnapshot || state.state == nil {
                    report.foldersNeedingSnapshot.append("\(address) \(kind.rawValue)")
                    continue
                }
                do {
                    try await pull(owner, kind: kind, from: state.state!, store: store, report: &report)
                } catch let error as MailboxSourceError where error.kind == .invalidSyncState {
                    try await store.markNeedsSnapshot(
                        mailbox: address, kind: kind,
                        reason: "Exchange rejected the sync state (\(error.code)): restored from a backup?")
                    report.foldersNeedingSnapshot.append("\(address) \(kind.rawValue)")
                    logger.info(
                        "folder needs an inbound snapshot",
                        metadata: ["mailbox": "\(address)", "item.kind": "\(kind.rawValue)"])
                } catch let error as SyncStoreError where error.code == .syncStateChanged {
                    // A protocol switch or an inbound snapshot replaced the state meanwhile; what it covers is theirs.
                    logger.info(
                        "folder's sync state replaced during the pass; its changes are read from the new state next time",
                        metadata: ["mailbox": "\(address)", "item.kind": "\(kind.rawValue)"])
                } catch let error as MailboxSourceError where error.kind == .transient {
                    report.exchangeUnavailable = true
                    logger.info(
                        "Exchange unavailable; changes stay in Exchange until the next pass",
                        metadata: ["item.error": "\(error.code)"])
                }
            }
        }
    }

    func pull(
        _ owner: MailboxOwner, kind: ItemKind, from start: String, store: any SyncStoreConnection,
        report: inout LiveSyncReport
    ) async throws {
        let address = owner.smtpAddress
        var state = start
        while true {
            let changes = try await source.changes(
                in: owner, kind: kind, since: state, window: .rolling(around: Date()), maxChanges: 512)
            var upserted: [MailboxItemRef] = []
            var deleted: [String] = []
            for change in changes.changes {
                switch change {
                case .upserted(let ref): upserted.append(ref)
                case .deleted(let id): deleted.append(id)
                }
            }
            let itemIDs = upserted.map(\.id) + deleted
            let links = try await store.links(mailbox: address, kind: kind, itemIDs: itemIDs)
            let fresh = LiveSyncPullPlan.itemsToRead(upserted, links: links)
            var items: [MailboxItem] = []
            var failures: [MailboxSourceError] = []
            var index = 0
            while index < fresh.count {
                let batch = Array(fresh[index..<min(index + options.batchSize, fresh.count)])
                index += batch.count
                for result in try await source.items(batch, in: owner, kind: kind) {
                    switch result {
                    case .success(let item): items.append(item)
                    case .failure(let error) where error.kind == .notFound: continue
                    case .failure(let error) where error.kind == .transient: throw error
                    case .failure(let error): failures.append(error)
                    }
                }
            }
            let linkedIDs = items.compactMap { links[$0.ref.id]?.crmID } + deleted.compactMap { links[$0]?.crmID }
            let rows = try await store.versions(kind, ids: linkedIDs)
            let policy = options.policy(kind)
            let decision = LiveSyncPullPlan.decide(
                items: items, deleted: deleted, links: links, rows: rows, policy: policy)
            let quarantined = failures.map {
                QuarantinedItem(itemID: $0.itemID, crmID: nil, code: $0.code, reason: $0.message)
            }
            try await store.apply(
                PulledChanges(
                    mailbox: owner, kind: kind, items: decision.items, deleting: decision.deleting,
                    relinking: decision.relinking,
                    crmWins: decision.crmWins.map { ($0.crmID, $0.itemID) },
                    exchangeWins: decision.exchangeWins.map { ($0.crmID, $0.itemID) },
                    policy: policy.rawValue, quarantined: quarantined, syncState: changes.syncState, readFrom: state))
            report.pulled += decision.items.count + decision.deleting.count
            report.conflicts += decision.crmWins.count + decision.exchangeWins.count
            state = changes.syncState
            if changes.isComplete { return }
        }
    }
}

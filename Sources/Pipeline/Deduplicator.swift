import Foundation
import Logging
import SyncCore
import SyncStore

/// Finds and removes the extra copies of CRM records in mailbox folders (`snapsync dedupe`): items carrying the same
/// stamped CRM id as another item of the folder, left by creates that Exchange applied twice. The item the record's
/// link points at is kept; when none of the copies is linked, the first is kept and linked (so no later write
/// creates the record once more) and the next outbound write brings it up to the CRM row.
public struct Deduplicator: Sendable {
    public let source: any MailboxSource
    public let logger: Logger

    public init(source: any MailboxSource, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    /// The extra copies in each folder of `kinds` (kinds without any are absent). Reads ids and stamps only.
    public func count(
        _ owner: MailboxOwner, kinds: [ItemKind] = ItemKind.allCases
    ) async throws(MailboxSourceError) -> [ItemKind: Int] {
        var result: [ItemKind: Int] = [:]
        for kind in kinds {
            let extra = DuplicateCopies.plan(try await source.stampedItems(in: owner, kind: kind), linkedItems: [:])
                .reduce(0) { $0 + $1.extras.count }
            if extra > 0 { result[kind] = extra }
        }
        return result
    }

    /// What removing does to one folder.
    public struct Removal: Sendable, Hashable {
        public var kind: ItemKind
        /// CRM records that had more than one item.
        public var records: Int
        /// Extra items deleted (or already gone).
        public var deleted: Int
        /// Extra items Exchange refused to delete (their errors are logged).
        public var failed: Int
    }

    /// Deletes the extra copies in each folder of `kinds`, holding the folder's create lock: the folder's creates of
    /// unknown outcome are resolved first, so a copy being linked by them is known as linked.
    public func remove(
        _ owner: MailboxOwner, kinds: [ItemKind] = ItemKind.allCases, store: any SyncStoreConnection
    ) async throws -> [Removal] {
        var removals: [Removal] = []
        for kind in kinds {
            let removal = try await store.withFolderLock(mailbox: owner.smtpAddress, kind: kind) {
                try await removeInFolder(owner, kind: kind, store: store)
            }
            if removal.records > 0 { removals.append(removal) }
        }
        return removals
    }

    private func removeInFolder(
        _ owner: MailboxOwner, kind: ItemKind, store: any SyncStoreConnection
    ) async throws -> Removal {
        let address = owner.smtpAddress
        _ = try await CreateIntentResolution.resolve(owner, kind: kind, source: source, store: store, logger: logger)
        let stamped = try await source.stampedItems(in: owner, kind: kind)
        let links = try await store.links(mailbox: address, kind: kind)
        let groups = DuplicateCopies.plan(stamped, linkedItems: links.mapValues(\.crmID))
        guard !groups.isEmpty else { return Removal(kind: kind, records: 0, deleted: 0, failed: 0) }
        let keptUnlinked = groups.filter { !$0.keptIsLinked }.map {
            LinkStore.Link(crmID: $0.crmID, ref: $0.kept, version: LinkStore.unknownVersion)
        }
        try await store.insertMissingLinks(keptUnlinked, mailbox: address, kind: kind)
        let extras = groups.flatMap(\.extras)
        var deleted = 0, failed = 0
        for (ref, result) in zip(extras, try await source.delete(extras, in: owner, kind: kind)) {
            switch result {
            case .success: deleted += 1
            case .failure(let error) where error.kind == .notFound: deleted += 1
            case .failure(let error):
                failed += 1
                logger.notice(
                    "extra copy not deleted",
                    metadata: ["mailbox": "\(address)", "item.id": "\(ref.id)", "item.error": "\(error.code)"])
            }
        }
        logger.notice(
            "extra copies deleted",
            metadata: [
                "mailbox": "\(address)", "item.kind": "\(kind.rawValue)", "dedupe.records": "\(groups.count)",
                "dedupe.deleted": "\(deleted)", "dedupe.failed": "\(failed)",
            ])
        return Removal(kind: kind, records: groups.count, deleted: deleted, failed: failed)
    }
}

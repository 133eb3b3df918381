import Foundation
import Synchronization
import SyncCore

/// Mailboxes in memory: contacts, appointments and tasks per mailbox, each item with an id, a change key that changes
/// with it and the CRM id stamped on it when snapsync created it, and a change log per folder for
/// ``changes(in:kind:since:maxChanges:)``. Faults: the Nth call of an operation fails, a source-wide outage, items that
/// cannot be read, and a restore from backup (stored sync states are rejected).
public final class InMemoryMailboxSource: MailboxSource, Sendable {
    /// A source operation, for fault injection and call counts.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case itemRefs, items, create, update, delete, findItems, stampedItems, changes
    }

    /// An item as the mailbox holds it.
    public struct StoredItem: Sendable, Hashable {
        public var ref: MailboxItemRef
        public var stamp: UUID?
        public var record: MailboxRecord
        public var lastModified: Date
    }

    private struct Folder {
        var items: [String: StoredItem] = [:]
        var order: [String] = []
        var log: [MailboxChange] = []
    }

    /// The mailboxes and the faults, behind one lock.
    private struct Contents {
        var folders: [String: Folder] = [:]
        var nextItem = 0
        var epoch = 0
        var calls: [Operation: Int] = [:]
        var faults: [Operation: [Int: MailboxSourceError]] = [:]
        var down: MailboxSourceError?
        var unreadable: Set<String> = []

        mutating func insert(_ record: MailboxRecord, key: String, stamp: UUID?, modified: Date) -> MailboxItemRef {
            nextItem += 1
            let ref = MailboxItemRef(id: "item-\(nextItem)", changeKey: "ck-\(nextItem)-1")
            folders[key, default: Folder()].items[ref.id] = StoredItem(
                ref: ref, stamp: stamp, record: record, lastModified: modified)
            folders[key, default: Folder()].order.append(ref.id)
            folders[key, default: Folder()].log.append(.upserted(ref))
            return ref
        }
    }

    private let contents = Mutex(Contents())

    public init() {}

    private static func key(_ mailbox: String, _ kind: ItemKind) -> String {
        "\(mailbox.lowercased())/\(kind.rawValue)"
    }

    // MARK: Seeding and inspection

    /// Puts an item into a mailbox as its user would create it (no stamp, unless `stamp` is given); returns its ref.
    @discardableResult
    public func add(
        _ record: MailboxRecord, to mailbox: String, stamp: UUID? = nil, modified: Date = Date()
    ) -> MailboxItemRef {
        contents.withLock { $0.insert(record, key: Self.key(mailbox, record.kind), stamp: stamp, modified: modified) }
    }

    /// Changes an item as its user would (a new change key).
    public func edit(
        _ id: String, in mailbox: String, kind: ItemKind, modified: Date = Date(),
        _ change: (inout MailboxRecord) -> Void
    ) {
        contents.withLock { c in
            let key = Self.key(mailbox, kind)
            guard var item = c.folders[key]?.items[id] else { return }
            change(&item.record)
            item.ref.changeKey = Self.nextChangeKey(item.ref.changeKey)
            item.lastModified = modified
            c.folders[key]?.items[id] = item
            c.folders[key]?.log.append(.upserted(item.ref))
        }
    }

    /// Deletes an item as its user would.
    public func remove(_ id: String, from mailbox: String, kind: ItemKind) {
        contents.withLock { c in
            let key = Self.key(mailbox, kind)
            guard c.folders[key]?.items.removeValue(forKey: id) != nil else { return }
            c.folders[key]?.order.removeAll { $0 == id }
            c.folders[key]?.log.append(.deleted(id: id))
        }
    }

    /// The items of a folder, in creation order.
    public func items(in mailbox: String, kind: ItemKind) -> [StoredItem] {
        contents.withLock { c in
            let folder = c.folders[Self.key(mailbox, kind)] ?? Folder()
            return folder.order.compactMap { folder.items[$0] }
        }
    }

    /// How many times an operation was called.
    public func callCount(_ operation: Operation) -> Int { contents.withLock { c in c.calls[operation] ?? 0 } }

    // MARK: Faults

    /// The `nth` call (1-based, counted from now) of `operation` throws `error`.
    public func fail(_ operation: Operation, call nth: Int, with error: MailboxSourceError = .unavailable) {
        contents.withLock { c in c.faults[operation, default: [:]][(c.calls[operation] ?? 0) + nth] = error }
    }

    /// Every call throws `error` until ``endOutage()``.
    public func outage(_ error: MailboxSourceError = .unavailable) { contents.withLock { c in c.down = error } }

    public func endOutage() { contents.withLock { c in c.down = nil } }

    /// Reading these items fails with a permanent error (an item the source cannot map).
    public func makeUnreadable(_ ids: [String]) { contents.withLock { c in c.unreadable.formUnion(ids) } }

    /// The mailbox server was restored from a backup: every stored sync state is rejected.
    public func restoreFromBackup() { contents.withLock { c in c.epoch += 1 } }

    private func enter(_ operation: Operation) throws(MailboxSourceError) {
        let error: MailboxSourceError? = contents.withLock { c in
            c.calls[operation, default: 0] += 1
            if let down = c.down { return down }
            return c.faults[operation]?.removeValue(forKey: c.calls[operation]!)
        }
        if let error { throw error }
    }

    private static func nextChangeKey(_ key: String?) -> String {
        let parts = (key ?? "ck-0-0").split(separator: "-")
        return "ck-\(parts[1])-\((Int(parts[2]) ?? 0) + 1)"
    }

    // MARK: MailboxSource

    /// Pages by offset, the cursor being the offset in decimal (as EWS's).
    public func itemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        try enter(.itemRefs)
        let offset = cursor.flatMap { Int($0) } ?? 0
        return contents.withLock { c in
            let folder = c.folders[Self.key(mailbox.smtpAddress, kind)] ?? Folder()
            let ids = folder.order.dropFirst(offset).prefix(pageSize)
            let next = offset + ids.count < folder.order.count ? offset + ids.count : nil
            return MailboxPage(
                refs: ids.compactMap { folder.items[$0]?.ref }, nextCursor: next.map { String($0) },
                totalCount: folder.order.count)
        }
    }

    public func items(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItem, MailboxSourceError>]
    {
        try enter(.items)
        return contents.withLock { c in
            let folder = c.folders[Self.key(mailbox.smtpAddress, kind)] ?? Folder()
            return refs.map { ref in
                if c.unreadable.contains(ref.id) {
                    return .failure(
                        MailboxSourceError(
                            kind: .permanent, code: "ErrorCorruptData", message: "the item cannot be read",
                            itemID: ref.id))
                }
                guard let item = folder.items[ref.id] else {
                    return .failure(
                        MailboxSourceError(
                            kind: .notFound, code: "ErrorItemNotFound", message: "no such item", itemID: ref.id))
                }
                return .success(
                    MailboxItem(ref: item.ref, crmID: item.stamp, lastModified: item.lastModified, record: item.record))
            }
        }
    }

    public func create(
        _ records: [MailboxRecord], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        try enter(.create)
        return contents.withLock { c in
            records.map {
                .success(c.insert($0, key: Self.key(mailbox.smtpAddress, $0.kind), stamp: $0.id, modified: Date()))
            }
        }
    }

    public func update(
        _ updates: [MailboxUpdate], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        try enter(.update)
        return contents.withLock { c in
            updates.map { update in
                let key = Self.key(mailbox.smtpAddress, update.record.kind)
                guard var item = c.folders[key]?.items[update.ref.id] else {
                    return .failure(
                        MailboxSourceError(
                            kind: .notFound, code: "ErrorItemNotFound", message: "no such item", itemID: update.ref.id))
                }
                if let expected = update.ref.changeKey, expected != item.ref.changeKey {
                    return .failure(
                        MailboxSourceError(
                            kind: .conflict, code: "ErrorIrresolvableConflict", message: "changed since",
                            itemID: update.ref.id))
                }
                item.record = update.record
                item.ref.changeKey = Self.nextChangeKey(item.ref.changeKey)
                item.lastModified = Date()
                c.folders[key]?.items[item.ref.id] = item
                c.folders[key]?.log.append(.upserted(item.ref))
                return .success(item.ref)
            }
        }
    }

    public func delete(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<Void, MailboxSourceError>]
    {
        try enter(.delete)
        return contents.withLock { c in
            let key = Self.key(mailbox.smtpAddress, kind)
            return refs.map { ref in
                guard c.folders[key]?.items.removeValue(forKey: ref.id) != nil else {
                    return .failure(
                        MailboxSourceError(
                            kind: .notFound, code: "ErrorItemNotFound", message: "no such item", itemID: ref.id))
                }
                c.folders[key]?.order.removeAll { $0 == ref.id }
                c.folders[key]?.log.append(.deleted(id: ref.id))
                return .success(())
            }
        }
    }

    public func findItems(
        crmIDs: [UUID], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: MailboxItemRef] {
        try enter(.findItems)
        let wanted = Set(crmIDs)
        var found: [UUID: MailboxItemRef] = [:]
        for item in items(in: mailbox.smtpAddress, kind: kind) {
            if let stamp = item.stamp, wanted.contains(stamp), found[stamp] == nil { found[stamp] = item.ref }
        }
        return found
    }

    public func stampedItems(
        in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: [MailboxItemRef]] {
        try enter(.stampedItems)
        var result: [UUID: [MailboxItemRef]] = [:]
        for item in items(in: mailbox.smtpAddress, kind: kind) {
            if let stamp = item.stamp { result[stamp, default: []].append(item.ref) }
        }
        return result
    }

    public func changes(
        in mailbox: MailboxOwner, kind: ItemKind, since syncState: String?, window: MailboxChangeWindow,
        maxChanges: Int
    ) async throws(MailboxSourceError) -> MailboxChanges {
        try enter(.changes)
        let (epoch, log) = contents.withLock { c in (c.epoch, c.folders[Self.key(mailbox.smtpAddress, kind)]?.log ?? [])
        }
        var position = 0
        if let syncState {
            let parts = syncState.split(separator: ":")
            guard parts.count == 2, Int(parts[0]) == epoch, let seen = Int(parts[1]), seen <= log.count else {
                throw MailboxSourceError(
                    kind: .invalidSyncState, code: "ErrorInvalidSyncStateData", message: "the sync state is not valid")
            }
            position = seen
        }
        let batch = Array(log.dropFirst(position).prefix(maxChanges))
        let end = position + batch.count
        return MailboxChanges(changes: batch, syncState: "\(epoch):\(end)", isComplete: end == log.count)
    }
}

extension MailboxSourceError {
    /// Exchange does not answer (the client already retried).
    public static let unavailable = MailboxSourceError(
        kind: .transient, code: "http 503", message: "the server is unavailable")
}

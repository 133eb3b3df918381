import Foundation
import Logging
import SyncCore

/// A page of FindItem ids.
public struct EWSItemPage: Sendable, Hashable {
    public var items: [EWSItem]
    public var paging: EWSPaging
    /// The offset of the next page, nil after the last one.
    public var nextOffset: Int? {
        guard !paging.includesLastItemInRange, let next = paging.indexedPagingOffset else { return nil }
        return next
    }
}

/// A SyncFolderItems answer.
public struct EWSSyncPage: Sendable, Hashable {
    public var changes: [EWSSyncChange]
    public var syncState: String
    public var includesLastItemInRange: Bool
}

extension EWSClient {
    /// GetFolder of a distinguished folder (id, display name, item count).
    public func getFolder(_ folder: DistinguishedFolder, mailbox: String) async throws(EWSError) -> EWSFolder {
        let request = EWSRequests.getFolder([.distinguished(folder)], context: context(mailbox))
        let message = try messages(try await send(request), count: 1, request)[0]
        if let error = message.error(operation: request.operation, mailbox: mailbox) { throw error }
        guard let found = message.folders.first else {
            throw EWSError(
                code: .decoding("no folder in GetFolder answer"), operation: request.operation, mailbox: mailbox,
                message: "")
        }
        return found
    }

    /// One FindItem page of ids (IdOnly, plus `additionalProperties`), `pageSize` ≤ 1000.
    public func findItems(
        in folder: FolderReference, mailbox: String, offset: Int, pageSize: Int? = nil,
        restriction: EWSRestriction? = nil, additionalProperties: [EWSFieldURI] = []
    ) async throws(EWSError) -> EWSItemPage {
        let request = EWSRequests.findItem(
            in: folder, offset: offset, maxEntries: pageSize ?? configuration.pageSize,
            restriction: restriction, additionalProperties: additionalProperties, context: context(mailbox))
        let message = try messages(try await send(request), count: 1, request)[0]
        if let error = message.error(operation: request.operation, mailbox: mailbox) { throw error }
        let paging =
            message.paging ?? EWSPaging(indexedPagingOffset: nil, totalItemsInView: nil, includesLastItemInRange: true)
        return EWSItemPage(items: message.items, paging: paging)
    }

    /// The ids of the items stamped with these CRM ids (see ``ExtendedPropertyName/snapsyncCRMId``).
    public func findItems(
        byCRMIDs ids: [UUID], in folder: DistinguishedFolder, mailbox: String
    ) async throws(EWSError) -> [UUID: ItemId] {
        try await stampedItems(ids, in: folder, mailbox: mailbox).compactMapValues(\.first)
    }

    /// Every item stamped with each of these CRM ids (more than one when a create was applied twice).
    func stampedItems(
        _ ids: [UUID], in folder: DistinguishedFolder, mailbox: String
    ) async throws(EWSError) -> [UUID: [ItemId]] {
        var found: [UUID: [ItemId]] = [:]
        for chunk in batches(ids) where !chunk.isEmpty {
            try await collectStampedItems(
                in: folder, mailbox: mailbox, restriction: .crmIDs(Array(chunk)), into: &found)
        }
        return found
    }

    /// Every item of the folder that carries a stamped CRM id, by that id (more than one when a create was applied
    /// twice): FindItem pages of ids and stamps only.
    public func stampedItems(in folder: DistinguishedFolder, mailbox: String) async throws(EWSError) -> [UUID: [ItemId]]
    {
        var found: [UUID: [ItemId]] = [:]
        try await collectStampedItems(in: folder, mailbox: mailbox, restriction: nil, into: &found)
        return found
    }

    private func collectStampedItems(
        in folder: DistinguishedFolder, mailbox: String, restriction: EWSRestriction?,
        into found: inout [UUID: [ItemId]]
    ) async throws(EWSError) {
        var offset = 0
        while true {
            let page = try await findItems(
                in: .distinguished(folder), mailbox: mailbox, offset: offset, pageSize: 1000,
                restriction: restriction, additionalProperties: [.extended(.snapsyncCRMId)])
            for item in page.items {
                if let crmID = item.crmID, let id = item.itemId { found[crmID, default: []].append(id) }
            }
            guard let next = page.nextOffset, !page.items.isEmpty else { return }
            offset = next
        }
    }

    /// CreateItem in batches. Every item carries its record's CRM id; when a batch's response is lost
    /// (connection dropped after sending, timeout), the client looks the ids up with
    /// ``findItems(byCRMIDs:in:mailbox:)`` and creates only the ones that are missing, so a retried
    /// create never duplicates an item.
    public func createItems<Record, Model>(
        _ records: [Record], mapping: EWSMapping<Record, Model>,
        mailbox: String
    ) async throws(EWSError) -> [Result<ItemId, EWSError>] {
        var results: [Result<ItemId, EWSError>] = []
        results.reserveCapacity(records.count)
        for batch in batches(records) {
            results += try await createBatch(Array(batch), mapping: mapping, mailbox: mailbox, recoveries: 0)
        }
        return results
    }

    func createBatch<Record, Model>(
        _ records: [Record], mapping: EWSMapping<Record, Model>, mailbox: String,
        recoveries: Int
    ) async throws(EWSError) -> [Result<ItemId, EWSError>] {
        var results = [Result<ItemId, EWSError>?](repeating: nil, count: records.count)
        var models: [(index: Int, id: UUID, model: Model)] = []
        for (index, record) in records.enumerated() {
            do {
                models.append(
                    (
                        index, mapping.recordID(record),
                        try mapping.model(of: record, operation: "CreateItem", mailbox: mailbox)
                    ))
            } catch { results[index] = .failure(error) }
        }
        guard !models.isEmpty else { return results.map { $0! } }
        let request = EWSRequests.createItem(
            count: models.count, in: .distinguished(mapping.folder), context: context(mailbox)
        ) { i, w in
            mapping.writeItem(models[i].model, into: &w)
        }
        do {
            let answer = try messages(try await send(request), count: models.count, request)
            for (entry, message) in zip(models, answer) {
                let crmID = entry.id.lowercasedString
                if let error = message.error(operation: request.operation, mailbox: mailbox, itemID: crmID) {
                    results[entry.index] = .failure(error)
                } else if let id = message.items.first?.itemId {
                    results[entry.index] = .success(id)
                } else {
                    results[entry.index] = .failure(
                        EWSError(
                            code: .decoding("no item id"), operation: request.operation,
                            mailbox: mailbox, itemID: crmID, message: ""))
                }
            }
        } catch  where error.isAmbiguous && recoveries < configuration.maxCreateRecoveries {
            logger.info(
                "EWS create response lost; looking up stamped CRM ids before creating again",
                metadata: [
                    "ews.mailbox": "\(mailbox)", "ews.operation": "CreateItem", "ews.items": "\(models.count)",
                    "ews.reason": "\(error.code)",
                ])
            let found = try await stampedItems(models.map(\.id), in: mapping.folder, mailbox: mailbox)
            var missing: [(index: Int, record: Record)] = []
            var doubles: [ItemId] = []
            for entry in models {
                if let ids = found[entry.id], let id = ids.first {
                    results[entry.index] = .success(id)
                    doubles += ids.dropFirst()  // the lost request was applied more than once: keep one
                } else {
                    missing.append((entry.index, records[entry.index]))
                }
            }
            if !doubles.isEmpty {
                logger.info(
                    "EWS create was applied more than once; deleting the extra items",
                    metadata: [
                        "ews.mailbox": "\(mailbox)", "ews.operation": "CreateItem", "ews.items": "\(doubles.count)",
                    ])
                _ = try await deleteItems(doubles, mailbox: mailbox)
            }
            if !missing.isEmpty {
                let retried = try await createBatch(
                    missing.map(\.record), mapping: mapping, mailbox: mailbox, recoveries: recoveries + 1)
                for (entry, result) in zip(missing, retried) { results[entry.index] = result }
            }
        }
        return results.map { $0! }
    }

    /// UpdateItem in batches: per item only the fields that changed since `previous` (all when nil).
    /// Items with no change are answered from their input without a request.
    public func updateItems<Record, Model>(
        _ changes: [(id: ItemId, previous: Record?, record: Record)], mapping: EWSMapping<Record, Model>,
        mailbox: String, conflictResolution: EWSConflictResolution = .autoResolve
    )
        async throws(EWSError) -> [Result<ItemId, EWSError>]
    {
        var results = [Result<ItemId, EWSError>?](repeating: nil, count: changes.count)
        var pending: [(index: Int, id: ItemId, updates: [UInt8])] = []
        for (index, change) in changes.enumerated() {
            do {
                let updates = try mapping.updates(from: change.previous, to: change.record, mailbox: mailbox)
                if updates.isEmpty {
                    results[index] = .success(change.id)
                } else {
                    pending.append((index, change.id, updates))
                }
            } catch {
                results[index] = .failure(error)
            }
        }
        try await sendUpdates(pending, into: &results, mailbox: mailbox, conflictResolution: conflictResolution)
        return results.map { $0! }
    }

    /// UpdateItem of built `Updates` in batches; each result goes to `results[index]`.
    func sendUpdates(
        _ pending: [(index: Int, id: ItemId, updates: [UInt8])], into results: inout [Result<ItemId, EWSError>?],
        mailbox: String, conflictResolution: EWSConflictResolution
    ) async throws(EWSError) {
        for batch in batches(pending) {
            let request = EWSRequests.updateItem(
                batch.map { ($0.id, $0.updates) }, conflictResolution: conflictResolution, context: context(mailbox))
            for (entry, message) in zip(batch, try messages(try await send(request), count: batch.count, request)) {
                if let error = message.error(operation: request.operation, mailbox: mailbox, itemID: entry.id.id) {
                    results[entry.index] = .failure(error)
                } else {
                    results[entry.index] = .success(message.items.first?.itemId ?? entry.id)
                }
            }
        }
    }

    /// DeleteItem in batches (hard delete by default).
    public func deleteItems(
        _ ids: [ItemId], mailbox: String, deleteType: EWSDeleteType = .hardDelete
    ) async throws(EWSError)
        -> [Result<Void, EWSError>]
    {
        var results: [Result<Void, EWSError>] = []
        for batch in batches(ids) {
            let request = EWSRequests.deleteItem(Array(batch), deleteType: deleteType, context: context(mailbox))
            for (id, message) in zip(batch, try messages(try await send(request), count: batch.count, request)) {
                if let error = message.error(operation: request.operation, mailbox: mailbox, itemID: id.id) {
                    results.append(.failure(error))
                } else {
                    results.append(.success(()))
                }
            }
        }
        return results
    }

    /// SyncFolderItems: up to `maxChanges` (≤ 512) changes since `syncState`. Throws ``EWSError/Code/invalidSyncState``
    /// when Exchange no longer accepts the state.
    public func syncFolderItems(
        _ folder: FolderReference, mailbox: String, syncState: String?,
        maxChanges: Int = 512
    ) async throws(EWSError) -> EWSSyncPage {
        let request = EWSRequests.syncFolderItems(
            folder, syncState: syncState, maxChanges: maxChanges, context: context(mailbox))
        let message = try messages(try await send(request), count: 1, request)[0]
        if let error = message.error(operation: request.operation, mailbox: mailbox) { throw error }
        return EWSSyncPage(
            changes: message.changes, syncState: message.syncState ?? "",
            includesLastItemInRange: message.includesLastItemInRange ?? true)
    }
}

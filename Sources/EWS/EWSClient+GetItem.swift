import Foundation
import Logging
import SyncCore

extension EWSClient {
    /// GetItem in batches, with the properties of `mapping`: one result per id, in order.
    ///
    /// An answer that cannot be used as a whole for a reason one item may cause (``EWSError/mayConcernOneItem``: it
    /// does not parse, it is over the size limit, it is a SOAP fault that is not about the request) does not fail the
    /// call: the batch is asked for again in halves, down to the single item, whose result is that failure. A bad item
    /// in a batch of 100 costs 14 more requests; a usable answer costs nothing more.
    public func getItems<Record, Model>(_ ids: [ItemId], mapping: EWSMapping<Record, Model>,
                                        mailbox: String) async throws(EWSError) -> [Result<EWSItem, EWSError>] {
        try await getItems(ids, additionalProperties: mapping.fieldURIs, mailbox: mailbox)
    }

    func getItems(_ ids: [ItemId], additionalProperties: [EWSFieldURI], mailbox: String) async throws(EWSError)
        -> [Result<EWSItem, EWSError>] {
        var results: [Result<EWSItem, EWSError>] = []
        results.reserveCapacity(ids.count)
        for batch in batches(ids) {
            results += try await getBatch(batch, additionalProperties: additionalProperties, mailbox: mailbox)
        }
        return results
    }

    /// One GetItem request, halved while its answer is unusable in a way one of its items may cause.
    func getBatch(_ ids: ArraySlice<ItemId>, additionalProperties: [EWSFieldURI], mailbox: String) async throws(EWSError)
        -> [Result<EWSItem, EWSError>] {
        let request = EWSRequests.getItem(Array(ids), additionalProperties: additionalProperties, context: context(mailbox))
        let answer: [EWSResponseMessage]
        do {
            answer = try messages(try await send(request), count: ids.count, request)
        } catch where error.mayConcernOneItem {
            guard ids.count > 1 else {
                var failure = error
                failure.itemID = ids.first?.id
                return [.failure(failure)]
            }
            logger.info("EWS GetItem answer unusable; asking for each half of the batch", metadata: [
                "ews.mailbox": "\(mailbox)", "ews.operation": "GetItem", "ews.items": "\(ids.count)",
                "ews.reason": "\(EWSError.describe(error.code))",
            ])
            let middle = ids.startIndex + ids.count / 2
            return try await getBatch(ids[..<middle], additionalProperties: additionalProperties, mailbox: mailbox)
                + getBatch(ids[middle...], additionalProperties: additionalProperties, mailbox: mailbox)
        }
        return zip(ids, answer).map { id, message in
            if let error = message.error(operation: request.operation, mailbox: mailbox, itemID: id.id) { return .failure(error) }
            if let item = message.items.first { return .success(item) }
            return .failure(EWSError(code: .decoding("no item"), operation: request.operation, mailbox: mailbox, itemID: id.id, message: ""))
        }
    }
}

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
    public func getItems<Record, Model>(
        _ ids: [ItemId], mapping: EWSMapping<Record, Model>,
        mailbox: String
    ) async throws(EWSError) -> [Result<EWSItem, EWSError>] {
        try await getItems(ids, additionalProperties: mapping.fieldURIs, mailbox: mailbox)
    }

    func getItems(
        _ ids: [ItemId], additionalProperties: [EWSFieldURI], mailbox: String
    ) async throws(EWSError)
        -> [Result<EWSItem, EWSError>]
    {
        var results: [Result<EWSItem, EWSError>] = []
        results.reserveCapacity(ids.count)
        for batch in batches(ids) {
            results += try await getBatch(batch, additionalProperties: additionalProperties, mailbox: mailbox)
        }
        return results
    }

    /// One GetItem request, halved while its answer is unusable in a way one of its items may cause.
    func getBatch(
        _ ids: ArraySlice<ItemId>, additionalProperties: [EWSFieldURI], mailbox: String
    ) async throws(EWSError)
        -> [Result<EWSItem, EWSError>]
    {
        let request = EWSRequests.getItem(
            Array(ids), additionalProperties: additionalProperties, context: context(mailbox))
        let answer: [EWSResponseMessage]
        do {
            answer = try messages(try await send(request), count: ids.count, request)
        } catch  where error.mayConcernOneItem {
            guard ids.count > 1 else {
                var failure = error
                failure.itemID = ids.first?.id
                return [.failure(failure)]
            }
            logger.info(
                "EWS GetItem answer unusable; asking for each half of the batch",
                metadata: [
                    "ews.mailbox": "\(mailbox)", "ews.operation": "GetItem", "ews.items": "\(ids.count)",
                    "ews.reason": "\(EWSError.describe(error.code))",
                ])
            let middle = ids.startIndex + ids.count / 2
            return try await getBatch(ids[..<middle], additionalProperties: additionalProperties, mailbox: mailbox)
                + getBatch(ids[middle...], additionalProperties: additionalProperties, mailbox: mailbox)
        }
        return zip(ids, answer).map { id, message in
            if let error = message.error(operation: request.operation, mailbox: mailbox, itemID: id.id) {
                return .failure(error)
            }
            if let item = message.items.first { return .success(item) }
            return .failure(
                EWSError(
                    code: .decoding("no item"), operation: request.operation, mailbox: mailbox, itemID: id.id,
                    message: ""))
        }
    }

    /// GetItem of calendar items with the appointment mapping, and of the modified occurrences of the series among
    /// them: a master lists only the times of its modified occurrences, so each one's Subject and Location are read
    /// from the occurrence itself (one more request per 100 modified occurrences; none for a batch without any). A
    /// series whose occurrence cannot be read fails (code `ExceptionsNotApplied`, with the occurrence's error as the
    /// cause) rather than reading as a series whose exceptions lost their subject.
    public func getAppointments(_ ids: [ItemId], mailbox: String) async throws(EWSError) -> [Result<EWSItem, EWSError>]
    {
        var results = try await getItems(ids, mapping: EWSMappings.appointment, mailbox: mailbox)
        var occurrences: [(result: Int, occurrence: Int, id: ItemId)] = []
        for (index, result) in results.enumerated() {
            guard case .success(.calendarItem(let series)) = result else { continue }
            for (position, occurrence) in series.modifiedOccurrences.enumerated() {
                if let id = occurrence.itemId { occurrences.append((index, position, ItemId(id.id))) }
            }
        }
        guard !occurrences.isEmpty else { return results }
        let read = try await getItems(
            occurrences.map(\.id), additionalProperties: EWSMappings.occurrenceFieldURIs, mailbox: mailbox)
        for (entry, result) in zip(occurrences, read) {
            guard case .success(.calendarItem(var series)) = results[entry.result] else { continue }
            switch result {
            case .success(.calendarItem(let occurrence)):
                series.modifiedOccurrences[entry.occurrence].subject = occurrence.subject
                series.modifiedOccurrences[entry.occurrence].location = occurrence.location
                results[entry.result] = .success(.calendarItem(series))
            case .success:
                results[entry.result] = .failure(
                    EWSError(
                        code: .decoding("a modified occurrence is not a calendar item"),
                        operation: "GetItem", mailbox: mailbox, itemID: series.itemId?.id, message: ""))
            case .failure(let error):
                // Not "not found": the series is there, only its occurrence could not be read.
                results[entry.result] = .failure(
                    EWSError(
                        code: .exceptionsNotApplied(
                            reason: "a modified occurrence could not be read", cause: error.code),
                        operation: "GetItem", mailbox: mailbox, itemID: series.itemId?.id, message: error.message))
            }
        }
        return results
    }
}

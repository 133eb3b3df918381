import Foundation
import Logging
import SyncCore

extension EWSClient {
    /// CreateItem of appointments, then their exceptions (see ``EWSExceptionPlan``): one result per
    /// record, the series master's latest id and change key on success.
    ///
    /// A record whose exceptions do not fit its series is not created. A series whose exceptions
    /// Exchange refused is deleted again and fails with ``EWSError/Code/exceptionsNotApplied(reason:cause:)``,
    /// so that a failed create leaves nothing behind (if that delete fails too, the master stays, stamped
    /// with its CRM id, where a retried create finds it).
    public func createAppointments(
        _ records: [CRMAppointment], mailbox: String
    ) async throws(EWSError) -> [Result<ItemId, EWSError>] {
        var results = [Result<ItemId, EWSError>?](repeating: nil, count: records.count)
        var plans: [Int: [EWSExceptionPlan.Operation]] = [:]
        var creates: [Int] = []
        for (index, record) in records.enumerated() {
            do {
                plans[index] = try EWSExceptionPlan.operations(for: record, operation: "CreateItem", mailbox: mailbox)
                creates.append(index)
            } catch {
                results[index] = .failure(error)
            }
        }
        var series: [(index: Int, master: ItemId, operations: [EWSExceptionPlan.Operation])] = []
        let created = try await createItems(
            creates.map { records[$0] }, mapping: EWSMappings.appointment, mailbox: mailbox)
        for (index, result) in zip(creates, created) {
            if case .success(let id) = result, let operations = plans[index], !operations.isEmpty {
                series.append((index, id, operations))
            } else {
                results[index] = result
            }
        }
        var rollback: [ItemId] = []
        for (entry, result) in zip(
            series, await applyExceptions(series.map { ($0.master, $0.operations) }, mailbox: mailbox))
        {
            results[entry.index] = result
            if case .failure = result { rollback.append(entry.master) }
        }
        if !rollback.isEmpty {
            logger.info(
                "EWS series created without its exceptions; deleting it again",
                metadata: [
                    "ews.mailbox": "\(mailbox)", "ews.operation": "CreateItem", "ews.items": "\(rollback.count)",
                ])
            let deleted = try? await deleteItems(rollback, mailbox: mailbox)
            let left =
                deleted.map { $0.filter { if case .failure = $0 { true } else { false } }.count } ?? rollback.count
            if left > 0 {
                logger.warning(
                    "EWS series without its exceptions could not be deleted; a retried create finds it by CRM id",
                    metadata: [
                        "ews.mailbox": "\(mailbox)", "ews.operation": "DeleteItem", "ews.items": "\(left)",
                    ])
            }
        }
        return results.map { $0! }
    }

    /// UpdateItem of appointments (only the fields that changed since `previous`, all when nil), then,
    /// for each series that ``EWSExceptionPlan/rewritesSeries(from:to:)``, the Recurrence again (which
    /// resets its occurrences in Exchange) and every exception. One result per change: the master's
    /// latest id and change key, or the failure; a series whose exceptions were refused fails with
    /// ``EWSError/Code/exceptionsNotApplied(reason:cause:)`` (its master fields are updated: a retry
    /// writes the series again).
    ///
    /// A series without its previous version is read first: when Exchange already has its rule, times
    /// and exceptions (as ``RecordDifference`` compares them), those are left as they are and only the
    /// modified occurrences are written again (their subject and location cannot be read back), so an
    /// unrelated change does not reset every occurrence, nor drop what an occurrence was given in
    /// Exchange and the CRM does not know.
    public func updateAppointments(
        _ changes: [(id: ItemId, previous: CRMAppointment?, record: CRMAppointment)], mailbox: String,
        conflictResolution: EWSConflictResolution = .autoResolve
    ) async throws(EWSError)
        -> [Result<ItemId, EWSError>]
    {
        var results = [Result<ItemId, EWSError>?](repeating: nil, count: changes.count)
        var operations: [Int: [EWSExceptionPlan.Operation]] = [:]
        for (index, change) in changes.enumerated() {
            do {
                operations[index] = try EWSExceptionPlan.operations(
                    for: change.record, operation: "UpdateItem", mailbox: mailbox)
            } catch {
                results[index] = .failure(error)
            }
        }
        let unknown = operations.keys.sorted().filter {
            changes[$0].previous == nil && changes[$0].record.recurrence?.isEmpty == false
        }
        let inPlace = await seriesInPlace(unknown.map { (changes[$0].id, changes[$0].record) }, mailbox: mailbox)
        var plans: [Int: [EWSExceptionPlan.Operation]] = [:]
        var pending: [(index: Int, id: ItemId, updates: [UInt8])] = []
        for index in operations.keys.sorted() {
            let (id, record) = (changes[index].id, changes[index].record)
            var previous = changes[index].previous
            var unchanged: Set<String> = []
            if let position = unknown.firstIndex(of: index), inPlace[position] {
                unchanged = ["recurrence", "starts_at", "ends_at"]
                plans[index] = operations[index]!.filter { $0.updates != nil }
            } else if EWSExceptionPlan.rewritesSeries(from: previous, to: record) {
                plans[index] = operations[index]!
                previous?.recurrence = nil  // a previous version without recurrence makes the mapping write it again
            }
            do {
                let updates = try EWSMappings.appointment.updates(
                    from: previous, to: record, mailbox: mailbox, unchanged: unchanged)
                if updates.isEmpty { results[index] = .success(id) } else { pending.append((index, id, updates)) }
            } catch {
                results[index] = .failure(error)
            }
        }
        try await sendUpdates(pending, into: &results, mailbox: mailbox, conflictResolution: conflictResolution)
        var series: [(index: Int, master: ItemId, operations: [EWSExceptionPlan.Operation])] = []
        for index in plans.keys.sorted() {
            if case .success(let id)? = results[index], let operations = plans[index], !operations.isEmpty {
                series.append((index, id, operations))
            }
        }
        for (entry, result) in zip(
            series, await applyExceptions(series.map { ($0.master, $0.operations) }, mailbox: mailbox))
        {
            results[entry.index] = result
        }
        return results.map { $0! }
    }

    /// Whether Exchange already has each series' rule, start, end and exceptions (false when it cannot
    /// be read: the series is then written again).
    func seriesInPlace(_ series: [(id: ItemId, record: CRMAppointment)], mailbox: String) async -> [Bool] {
        guard !series.isEmpty,
            let read = try? await getItems(
                series.map { ItemId($0.id.id) }, mapping: EWSMappings.appointment, mailbox: mailbox)
        else {
            return series.map { _ in false }
        }
        return zip(series, read).map { entry, result in
            guard case .success(.calendarItem(let item)) = result else { return false }
            let difference = RecordDifference(
                .appointment(EWSMappings.appointment.record(of: item)), .appointment(entry.record))
            return !["recurrence", "starts_at", "ends_at", "appointment_exceptions"].contains(
                where: difference.contains)
        }
    }

    /// Runs the occurrence operations of series masters (deletions, then modifications, batched across
    /// series), then reads each master's latest change key. One result per series: the master's id and
    /// latest change key, or the first failure, as ``EWSError/Code/exceptionsNotApplied(reason:cause:)``
    /// with Exchange's error as the cause. Never throws: a request that fails as a whole fails the
    /// series it carried.
    func applyExceptions(
        _ series: [(master: ItemId, operations: [EWSExceptionPlan.Operation])], mailbox: String
    ) async
        -> [Result<ItemId, EWSError>]
    {
        var failures: [Int: EWSError] = [:]
        var latest: [Int: ItemId] = [:]
        func fail(_ entry: Int, _ what: String, _ cause: EWSError) {
            guard failures[entry] == nil else { return }
            failures[entry] = EWSError(
                code: .exceptionsNotApplied(reason: what, cause: cause.code), operation: cause.operation,
                mailbox: mailbox, itemID: series[entry].master.id, message: cause.message)
        }
        let operations = series.enumerated().flatMap { entry, item in
            item.operations.map { (entry: entry, operation: $0) }
        }
        for phase in [
            operations.filter { $0.operation.updates == nil }, operations.filter { $0.operation.updates != nil },
        ] {
            for batch in batches(phase) {
                // Without the master's change key: each occurrence change gives the series a new one, so
                // the key the master was written with is stale from the second change on (the master's
                // own write was the version check).
                func target(_ item: (entry: Int, operation: EWSExceptionPlan.Operation)) -> EWSItemTarget {
                    .occurrence(
                        master: ItemId(series[item.entry].master.id), instanceIndex: item.operation.instanceIndex)
                }
                let deleting = batch.first?.operation.updates == nil
                let request =
                    deleting
                    ? EWSRequests.deleteItem(targets: batch.map(target), context: context(mailbox))
                    : EWSRequests.updateItem(
                        targets: batch.map { (target($0), $0.operation.updates ?? []) }, context: context(mailbox))
                func what(_ operation: EWSExceptionPlan.Operation) -> String {
                    "occurrence \(operation.instanceIndex) not " + (deleting ? "deleted" : "modified")
                }
                do {
                    for (item, message) in zip(
                        batch, try messages(try await send(request), count: batch.count, request))
                    {
                        // An occurrence already deleted is what a deletion wants (an Exchange that kept
                        // the deletions when the Recurrence was set again).
                        if let error = message.error(
                            operation: request.operation, mailbox: mailbox, itemID: series[item.entry].master.id),
                            !(deleting && error.responseCode == "ErrorCalendarOccurrenceIsDeletedFromRecurrence")
                        {
                            fail(item.entry, what(item.operation), error)
                        }
                    }
                } catch {
                    for item in batch { fail(item.entry, what(item.operation), error) }
                }
            }
        }
        // Every occurrence change gave the master a new change key; the responses carry the
        // occurrences' ids, so the masters' keys are read back. A master not read back is still
        // written: its id goes back without a change key (version unknown, the next update overwrites).
        var unread = 0
        for batch in batches(series.indices.filter { failures[$0] == nil }) {
            let request = EWSRequests.getItem(
                batch.map { series[$0].master }, additionalProperties: [], context: context(mailbox))
            if let answer = try? messages(try await send(request), count: batch.count, request) {
                for (entry, message) in zip(batch, answer)
                where message.error(operation: request.operation, mailbox: mailbox) == nil {
                    latest[entry] = message.items.first?.itemId
                }
            }
            unread += batch.filter { latest[$0] == nil }.count
        }
        if unread > 0 {
            logger.info(
                "EWS series masters not read back after their exceptions; returned without change key",
                metadata: [
                    "ews.mailbox": "\(mailbox)", "ews.operation": "GetItem", "ews.items": "\(unread)",
                ])
        }
        return series.indices.map { entry in
            if let failure = failures[entry] { return .failure(failure) }
            return .success(latest[entry] ?? ItemId(series[entry].master.id))
        }
    }
}

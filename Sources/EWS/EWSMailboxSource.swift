import Foundation
import SyncCore

/// The pipeline's view of Exchange: ``MailboxSource`` over an ``EWSClient`` and the mapping tables.
public struct EWSMailboxSource: MailboxSource {
    public let client: EWSClient

    public init(client: EWSClient) { self.client = client }

    /// The folder that holds a kind.
    public static func folder(of kind: ItemKind) -> DistinguishedFolder {
        switch kind {
        case .contacts: .contacts
        case .appointments: .calendar
        case .tasks: .tasks
        }
    }

    /// Pages by FindItem's indexed offset; the cursor is that offset in decimal.
    public func itemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        let offset: Int
        if let cursor {
            guard let decoded = Int(cursor), decoded >= 0 else {
                throw MailboxSourceError(kind: .permanent, code: "InvalidCursor", message: "not an EWS page offset")
            }
            offset = decoded
        } else {
            offset = 0
        }
        let page = try await neutral { () async throws(EWSError) in
            try await client.findItems(
                in: .distinguished(Self.folder(of: kind)), mailbox: mailbox.smtpAddress, offset: offset,
                pageSize: pageSize)
        }
        return MailboxPage(
            refs: page.items.compactMap { $0.itemId.map(Self.ref) }, nextCursor: page.nextOffset.map { String($0) },
            totalCount: page.paging.totalItemsInView)
    }

    public func items(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItem, MailboxSourceError>]
    {
        let ids = refs.map { ItemId($0.id, changeKey: $0.changeKey) }
        let results = try await neutral { () async throws(EWSError) -> [Result<EWSItem, EWSError>] in
            switch kind {
            case .contacts: try await client.getItems(ids, mapping: EWSMappings.contact, mailbox: mailbox.smtpAddress)
            case .appointments: try await client.getAppointments(ids, mailbox: mailbox.smtpAddress)
            case .tasks: try await client.getItems(ids, mapping: EWSMappings.task, mailbox: mailbox.smtpAddress)
            }
        }
        return zip(refs, results).map { ref, result in
            result.mapError(Self.neutral).flatMap { item in
                guard item.itemId != nil else {
                    return .failure(
                        MailboxSourceError(
                            kind: .permanent, code: "MissingItemId",
                            message: "Exchange returned the item without an ItemId",
                            itemID: ref.id))
                }
                guard let mapped = Self.mailboxItem(item, owner: mailbox) else {
                    return .failure(
                        MailboxSourceError(
                            kind: .permanent, code: "UnexpectedItemType", message: "not a \(kind.rawValue) item",
                            itemID: ref.id))
                }
                return mapped.mapError { problem in
                    MailboxSourceError(
                        kind: .permanent, code: "InvalidItem",
                        message: "EWS GetItem for \(mailbox.smtpAddress) item \(ref.id): \(problem.what)",
                        itemID: ref.id)
                }
            }
        }
    }

    public func create(
        _ records: [MailboxRecord], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        var results = [Result<MailboxItemRef, MailboxSourceError>?](repeating: nil, count: records.count)
        let address = mailbox.smtpAddress
        try await neutral { () async throws(EWSError) in
            let contacts = records.enumerated().compactMap { i, r in if case .contact(let c) = r { (i, c) } else { nil }
            }
            let appointments = records.enumerated().compactMap { i, r in
                if case .appointment(let a) = r { (i, a) } else { nil }
            }
            let tasks = records.enumerated().compactMap { i, r in if case .task(let t) = r { (i, t) } else { nil } }
            for (i, result) in zip(
                contacts.map(\.0),
                try await client.createItems(contacts.map(\.1), mapping: EWSMappings.contact, mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
            for (i, result) in zip(
                appointments.map(\.0), try await client.createAppointments(appointments.map(\.1), mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
            for (i, result) in zip(
                tasks.map(\.0),
                try await client.createItems(tasks.map(\.1), mapping: EWSMappings.task, mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
        }
        return results.map { $0! }
    }

    public func update(
        _ updates: [MailboxUpdate], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        var results = [Result<MailboxItemRef, MailboxSourceError>?](repeating: nil, count: updates.count)
        let address = mailbox.smtpAddress
        func id(_ u: MailboxUpdate) -> ItemId { ItemId(u.ref.id, changeKey: u.ref.changeKey) }
        try await neutral { () async throws(EWSError) in
            var contacts: [(Int, (id: ItemId, previous: CRMContact?, record: CRMContact))] = []
            var appointments: [(Int, (id: ItemId, previous: CRMAppointment?, record: CRMAppointment))] = []
            var tasks: [(Int, (id: ItemId, previous: CRMTask?, record: CRMTask))] = []
            for (i, u) in updates.enumerated() {
                switch (u.record, u.previous) {
                case (.contact(let r), let p):
                    if case .contact(let prev)? = p {
                        contacts.append((i, (id(u), prev, r)))
                    } else {
                        contacts.append((i, (id(u), nil, r)))
                    }
                case (.appointment(let r), let p):
                    if case .appointment(let prev)? = p {
                        appointments.append((i, (id(u), prev, r)))
                    } else {
                        appointments.append((i, (id(u), nil, r)))
                    }
                case (.task(let r), let p):
                    if case .task(let prev)? = p {
                        tasks.append((i, (id(u), prev, r)))
                    } else {
                        tasks.append((i, (id(u), nil, r)))
                    }
                }
            }
            for (i, result) in zip(
                contacts.map(\.0),
                try await client.updateItems(contacts.map(\.1), mapping: EWSMappings.contact, mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
            for (i, result) in zip(
                appointments.map(\.0), try await client.updateAppointments(appointments.map(\.1), mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
            for (i, result) in zip(
                tasks.map(\.0),
                try await client.updateItems(tasks.map(\.1), mapping: EWSMappings.task, mailbox: address))
            {
                results[i] = result.map(Self.ref).mapError(Self.neutral)
            }
        }
        return results.map { $0! }
    }

    public func delete(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<Void, MailboxSourceError>]
    {
        let results = try await neutral { () async throws(EWSError) in
            try await client.deleteItems(refs.map { ItemId($0.id) }, mailbox: mailbox.smtpAddress)
        }
        return results.map { $0.mapError(Self.neutral) }
    }

    public func findItems(
        crmIDs: [UUID], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: MailboxItemRef] {
        let found = try await neutral { () async throws(EWSError) in
            try await client.findItems(byCRMIDs: crmIDs, in: Self.folder(of: kind), mailbox: mailbox.smtpAddress)
        }
        return found.mapValues(Self.ref)
    }

    public func stampedItems(
        in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: [MailboxItemRef]] {
        let found = try await neutral { () async throws(EWSError) in
            try await client.stampedItems(in: Self.folder(of: kind), mailbox: mailbox.smtpAddress)
        }
        return found.mapValues { $0.map(Self.ref) }
    }

    /// SyncFolderItems over the whole folder: the window does not apply.
    public func changes(
        in mailbox: MailboxOwner, kind: ItemKind, since syncState: String?, window: MailboxChangeWindow,
        maxChanges: Int
    ) async throws(MailboxSourceError) -> MailboxChanges {
        let page = try await neutral { () async throws(EWSError) in
            try await client.syncFolderItems(
                .distinguished(Self.folder(of: kind)), mailbox: mailbox.smtpAddress,
                syncState: syncState, maxChanges: maxChanges)
        }
        let changes: [MailboxChange] = page.changes.compactMap { change in
            switch change {
            case .create(let item), .update(let item): item.itemId.map { .upserted(Self.ref($0)) }
            case .delete(let id): .deleted(id: id.id)
            case .readFlagChange: nil
            }
        }
        return MailboxChanges(changes: changes, syncState: page.syncState, isComplete: page.includesLastItemInRange)
    }

    // MARK: conversions

    static func ref(_ id: ItemId) -> MailboxItemRef { MailboxItemRef(id: id.id, changeKey: id.changeKey) }

    /// Why an item cannot be mapped as read (``EWSMapping/problem(in:)``).
    struct ItemProblem: Error { var what: String }

    /// The CRM record of an item, or why it cannot be one (a required field missing, a value unreadable); nil for an
    /// item of another type or without id.
    static func mailboxItem(_ item: EWSItem, owner: MailboxOwner) -> Result<MailboxItem, ItemProblem>? {
        guard let id = item.itemId else { return nil }
        switch item {
        case .contact(let c):
            if let problem = EWSMappings.contact.problem(in: c) { return .failure(ItemProblem(what: problem)) }
            return .success(
                MailboxItem(
                    ref: ref(id), crmID: c.crmID, lastModified: c.lastModified,
                    record: .contact(EWSMappings.contact.record(of: c))))
        case .calendarItem(let c):
            if let problem = EWSMappings.appointment.problem(in: c) { return .failure(ItemProblem(what: problem)) }
            var record = EWSMappings.appointment.record(of: c)
            record.ownerID = owner.userID
            return .success(
                MailboxItem(ref: ref(id), crmID: c.crmID, lastModified: c.lastModified, record: .appointment(record)))
        case .task(let t):
            if let problem = EWSMappings.task.problem(in: t) { return .failure(ItemProblem(what: problem)) }
            var record = EWSMappings.task.record(of: t)
            record.ownerID = owner.userID
            return .success(
                MailboxItem(ref: ref(id), crmID: t.crmID, lastModified: t.lastModified, record: .task(record)))
        case .other:
            return nil
        }
    }

    /// The neutral classification of an EWS error. A series whose exceptions were not applied reports
    /// the code `ExceptionsNotApplied`, of the kind of Exchange's error for the occurrence (permanent
    /// when the exceptions do not fit the series).
    public static func neutral(_ error: EWSError) -> MailboxSourceError {
        let (kind, retryAfter) = classify(error.code)
        let code: String
        switch error.code {
        case .exceptionsNotApplied: code = "ExceptionsNotApplied"
        case .blockedByPolicy: code = MailboxSourceError.ewsBlockedCode
        case .decoding: code = "UndecodableResponse"
        case .responseTooLarge: code = "ResponseTooLarge"
        default: code = error.responseCode ?? "\(error.code)"
        }
        return MailboxSourceError(
            kind: kind, code: code, message: error.description, itemID: error.itemID, retryAfter: retryAfter)
    }

    static func classify(_ code: EWSError.Code) -> (MailboxSourceError.Kind, Duration?) {
        switch code {
        case .invalidSyncState: return (.invalidSyncState, nil)
        case .serverBusy(let backOff): return (.transient, backOff)
        case .http(let status, let after):
            // The endpoint itself is not there (EWS answers every request on it, item errors included, with 200 or 500).
            if status == 404 || status == 405 || status == 410 { return (.wrongEndpoint, nil) }
            return (status >= 500 || status == 429 ? .transient : .permanent, after)
        case .transport: return (.transient, nil)
        case .responseTooLarge: return (.permanent, nil)  // the same request gets the same answer
        case .responseCode(let code), .soapFault(let code):
            switch code {
            case "ErrorItemNotFound", "ErrorFolderNotFound", "ErrorCalendarOccurrenceIsDeletedFromRecurrence":
                return (.notFound, nil)
            case "ErrorIrresolvableConflict", "ErrorStaleObject", "ErrorChangeKeyRequiredForWriteOperations":
                return (.conflict, nil)
            case "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorTimeoutExpired",
                "ErrorInternalServerTransientError",
                "ErrorMailboxStoreUnavailable", "ErrorMailboxMoveInProgress", "ErrorConnectionFailed",
                "ErrorBatchProcessingStopped":
                return (.transient, nil)
            default: return (.permanent, nil)
            }
        case .exceptionsNotApplied(_, let cause):
            // The master is in place: only a passing failure is worth retrying; anything else about an
            // occurrence (gone, conflicting, refused) will fail again the same way.
            guard let cause else { return (.permanent, nil) }
            let (kind, retryAfter) = classify(cause)
            return (kind == .transient ? .transient : .permanent, retryAfter)
        case .unauthorized: return (.unauthorized, nil)
        // The mailbox's, not the account's: the other mailboxes go on; a retry gets the same answer.
        case .blockedByPolicy: return (.mailboxRefused, nil)
        case .decoding, .invalidRequest, .configuration: return (.permanent, nil)
        }
    }

    func neutral<T>(_ body: () async throws(EWSError) -> T) async throws(MailboxSourceError) -> T {
        do { return try await body() } catch { throw Self.neutral(error) }
    }
}

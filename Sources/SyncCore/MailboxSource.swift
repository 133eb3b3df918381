import Foundation

/// The mailbox a source call works on: its SMTP address and the CRM user who owns it (appointments and
/// tasks read from it get that user as ``CRMAppointment/ownerID``/``CRMTask/ownerID``).
public struct MailboxOwner: Sendable, Hashable, Codable {
    public var smtpAddress: String
    public var userID: UUID
    public init(smtpAddress: String, userID: UUID) { self.smtpAddress = smtpAddress; self.userID = userID }
}

/// A mailbox item's identity in its source: an opaque id and the version token (EWS ChangeKey, Graph
/// changeKey) that changes whenever the item changes.
public struct MailboxItemRef: Sendable, Hashable, Codable {
    public var id: String
    public var changeKey: String?
    public init(id: String, changeKey: String? = nil) { self.id = id; self.changeKey = changeKey }
}

/// A CRM record in the form a mailbox holds it.
public enum MailboxRecord: Sendable, Hashable {
    case contact(CRMContact)
    case appointment(CRMAppointment)
    case task(CRMTask)

    /// The kind of item.
    public var kind: ItemKind {
        switch self {
        case .contact: .contacts
        case .appointment: .appointments
        case .task: .tasks
        }
    }

    /// The CRM id of the record.
    public var id: UUID {
        switch self {
        case .contact(let c): c.id
        case .appointment(let a): a.id
        case .task(let t): t.id
        }
    }

    /// When the CRM row last changed.
    public var updatedAt: Date {
        switch self {
        case .contact(let c): c.updatedAt
        case .appointment(let a): a.updatedAt
        case .task(let t): t.updatedAt
        }
    }
}

/// An item read from a mailbox, mapped to a CRM record.
public struct MailboxItem: Sendable, Hashable {
    public var ref: MailboxItemRef
    /// The CRM id stamped on the item when snapsync created it (nil for items created in the mailbox).
    /// When nil, ``record``'s id is a fresh random UUID the pipeline may use for a new row.
    public var crmID: UUID?
    /// When the item was last modified in the mailbox, if the source reports it.
    public var lastModified: Date?
    public var record: MailboxRecord

    public init(ref: MailboxItemRef, crmID: UUID?, lastModified: Date?, record: MailboxRecord) {
        self.ref = ref
        self.crmID = crmID
        self.lastModified = lastModified
        self.record = record
    }
}

/// An update of an existing mailbox item: the new record and, when known, the one last written, so that
/// only changed fields are sent (without it every mapped field is written).
public struct MailboxUpdate: Sendable, Hashable {
    public var ref: MailboxItemRef
    public var record: MailboxRecord
    public var previous: MailboxRecord?
    public init(ref: MailboxItemRef, record: MailboxRecord, previous: MailboxRecord? = nil) {
        self.ref = ref
        self.record = record
        self.previous = previous
    }
}

/// One page of a folder's items: their references, and the items themselves when the listing carried them whole.
public struct MailboxPage: Sendable, Hashable {
    public var refs: [MailboxItemRef]
    /// The source's opaque cursor of the next page (an EWS offset, a Graph `@odata.nextLink`), to pass back to the
    /// method that gave this page and to checkpoint as text; nil when this was the last page.
    public var nextCursor: String?
    /// The number of items in the folder when the page was read, if known.
    public var totalCount: Int?
    /// The page's items read whole, one result per item of the listing (a failure names its item), when the
    /// listing carried them (``MailboxSource/itemPage(in:kind:after:pageSize:)``); nil when they are to be read by
    /// their refs with ``MailboxSource/items(_:in:kind:)``.
    public var items: [Result<MailboxItem, MailboxSourceError>]?
    public init(
        refs: [MailboxItemRef], nextCursor: String?, totalCount: Int?,
        items: [Result<MailboxItem, MailboxSourceError>]? = nil
    ) {
        self.refs = refs
        self.nextCursor = nextCursor
        self.totalCount = totalCount
        self.items = items
    }
}

/// The dates change tracking covers where the protocol tracks a calendar through a window (Graph's
/// `calendarView/delta`); a source that tracks whole folders (EWS) ignores it. A stored sync state keeps the window
/// it was started with: a new window takes a new baseline.
public struct MailboxChangeWindow: Sendable, Hashable {
    public var start: Date
    public var end: Date
    public init(start: Date, end: Date) { self.start = start; self.end = end }

    /// `daysPast` days before `now` to `daysFuture` days after it, on whole UTC days so that runs of one day share it.
    public static func rolling(around now: Date, daysPast: Int = 365, daysFuture: Int = 730) -> MailboxChangeWindow {
        let day: TimeInterval = 86_400
        let today = (now.timeIntervalSince1970 / day).rounded(.down) * day
        return MailboxChangeWindow(
            start: Date(timeIntervalSince1970: today - Double(daysPast) * day),
            end: Date(timeIntervalSince1970: today + Double(daysFuture) * day))
    }
}

/// A change reported by ``MailboxSource/changes(in:kind:since:window:maxChanges:)``.
public enum MailboxChange: Sendable, Hashable {
    /// Created or updated: fetch the item to see its content.
    case upserted(MailboxItemRef)
    case deleted(id: String)
}

/// A batch of changes and the state to pass next time.
public struct MailboxChanges: Sendable, Hashable {
    public var changes: [MailboxChange]
    /// Opaque state to store and pass to the next call (EWS SyncState).
    public var syncState: String
    /// True when there are no more changes after these.
    public var isComplete: Bool
    public init(changes: [MailboxChange], syncState: String, isComplete: Bool) {
        self.changes = changes
        self.syncState = syncState
        self.isComplete = isComplete
    }
}

/// A source-neutral error: what the pipeline must do about it is in ``Kind``; the source's own code
/// (EWS ResponseCode, Graph error code, HTTP status) is kept for the run log.
public struct MailboxSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// How the pipeline should react.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Try again later (throttling, outage, timeout): the item or batch stays queued.
        case transient
        /// Will fail again as is (invalid data, access denied): quarantine or report.
        case permanent
        /// The stored sync state is no longer accepted: the folder needs a snapshot.
        case invalidSyncState
        /// The item (or folder) no longer exists.
        case notFound
        /// The item changed since it was read (change key mismatch).
        case conflict
        /// The source refused the account (wrong credentials, no right to use the service): no call succeeds
        /// until the configuration is fixed.
        case unauthorized
        /// The configured address does not serve the mailbox protocol (a wrong URL): no call succeeds until the
        /// configuration is fixed.
        case wrongEndpoint
        /// The source refuses this one mailbox (outside the app's or account's rights, not open to the protocol, or
        /// EWS blocked for it by Exchange Online's policy): its calls fail until the configuration is fixed, other
        /// mailboxes are served.
        case mailboxRefused
    }

    /// True when the error is about the source as a whole, not the item or folder: it is unavailable (a transient
    /// failure the client already retried) or refuses every call. The work stops there and stays to be resumed,
    /// rather than counting as the item's or the stage's failure.
    public var isSourceWide: Bool { kind == .transient || kind == .unauthorized || kind == .wrongEndpoint }

    /// How the recorded error of a stage failed by a ``Kind/mailboxRefused`` begins.
    public static let refusalPrefix = "configuration error:"

    public var kind: Kind
    /// The source's code, e.g. `ErrorItemNotFound` or `http 503`.
    public var code: String
    /// The source's message (never record data or secrets).
    public var message: String
    /// The item the error is about, if any.
    public var itemID: String?
    /// How long the source asked to wait before retrying, if it said.
    public var retryAfter: Duration?

    public init(kind: Kind, code: String, message: String, itemID: String? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.itemID = itemID
        self.retryAfter = retryAfter
    }

    /// The code of a mailbox whose EWS answers 403 with `X-EWS-Policy-Reason` (Exchange Online blocks EWS for it):
    /// only Microsoft Graph reaches it (`snapsync mailbox set-protocol ADDR graph`).
    public static let ewsBlockedCode = "EWSBlockedByPolicy"

    public var description: String {
        "\(kind.rawValue) mailbox error \(code)" + (itemID.map { " (item \($0))" } ?? "") + ": \(message)"
    }
}

extension MailboxSource {
    /// The refs of every item of `kind` in the mailbox's folder, paged through `pageSize` at a time.
    public func allItemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, pageSize: Int
    ) async throws(MailboxSourceError) -> [MailboxItemRef] {
        var refs: [MailboxItemRef] = []
        var cursor: String?
        while true {
            let page = try await itemRefs(in: mailbox, kind: kind, after: cursor, pageSize: pageSize)
            refs += page.refs
            guard let next = page.nextCursor else { return refs }
            cursor = next
        }
    }
}

/// What the pipeline uses to read and write a mailbox, independent of the protocol (EWS, Microsoft Graph). Batch calls return one result per input, in input order: one failed item never fails
/// its batch; a thrown error means the whole call failed.
public protocol MailboxSource: Sendable {
    /// One page of the ids of every item of `kind` in the mailbox's folder for that kind: the first page for a nil
    /// `cursor`, else the page a previous page's ``MailboxPage/nextCursor`` named (`pageSize` applies to the first).
    func itemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage

    /// One page of every item of `kind` in the mailbox's folder for that kind, read whole where the protocol lists
    /// whole items (Graph: one request a page instead of one an item), else as refs (``MailboxPage/items`` nil: read
    /// them with ``items(_:in:kind:)``). A source may answer one page each way. `cursor` is a
    /// ``MailboxPage/nextCursor`` of this method.
    func itemPage(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage

    /// The items with these refs, mapped to CRM records.
    func items(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItem, MailboxSourceError>]

    /// Creates items; each is stamped with its record's CRM id so that a create whose response was lost
    /// is found again (``findItems(crmIDs:in:kind:)``) instead of created twice.
    func create(
        _ records: [MailboxRecord], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]

    /// Updates items; a stale change key gives a `.conflict` result for that item.
    func update(
        _ updates: [MailboxUpdate], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]

    /// Deletes items; an item already gone gives a `.notFound` result.
    func delete(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<Void, MailboxSourceError>]

    /// The items stamped with these CRM ids (at most one each; missing ids are absent from the result).
    func findItems(
        crmIDs: [UUID], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: MailboxItemRef]

    /// Every item of the folder of `kind` that carries a stamped CRM id, by that id: more than one item for an id
    /// is a record created more than once. Reads ids and stamps only.
    func stampedItems(
        in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: [MailboxItemRef]]

    /// Changes in the folder of `kind` since `syncState` (nil: from the beginning), at most `maxChanges`; a new state
    /// tracks the calendar over `window` where the protocol needs one (a stored state keeps its own window).
    /// Throws `.invalidSyncState` when the state is no longer accepted.
    func changes(
        in mailbox: MailboxOwner, kind: ItemKind, since syncState: String?, window: MailboxChangeWindow,
        maxChanges: Int
    ) async throws(MailboxSourceError) -> MailboxChanges

    /// The ids `ids` of the mailbox's items, issued by protocol `from`, as protocol `to` names them (at most
    /// ``MailboxSource/maxTranslatedIDs`` a call); an id the source cannot translate is absent from the result. A
    /// source answers ids of its own protocol as they are; Graph translates between EWS and Graph ids
    /// (`translateExchangeIds`).
    func translateItemIDs(
        _ ids: [String], from: ExchangeProtocol, to: ExchangeProtocol, in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [String: String]

    /// Writes, for items another protocol wrote, what this one keeps of their records apart from the items' own
    /// properties (Graph: a To Do task's percentage, in snapsync's open extension), so that reading them through this
    /// protocol gives their records back. One result per item: its ref after the write (a new change key when one was
    /// written).
    func carryOver(
        _ items: [(ref: MailboxItemRef, record: MailboxRecord)], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>]
}

extension MailboxSource {
    /// A source that lists refs only (EWS's FindItem) pages refs, and the items are read by them.
    public func itemPage(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        try await itemRefs(in: mailbox, kind: kind, after: cursor, pageSize: pageSize)
    }

    /// The most ids one ``translateItemIDs(_:from:to:in:)`` call takes (Graph's `translateExchangeIds` limit).
    public static var maxTranslatedIDs: Int { 1000 }

    /// Ids of one protocol are answered as they are; a source that cannot translate between protocols refuses.
    public func translateItemIDs(
        _ ids: [String], from: ExchangeProtocol, to: ExchangeProtocol, in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [String: String] {
        guard from == to else {
            throw MailboxSourceError(
                kind: .permanent, code: "TranslationUnsupported",
                message: "this source does not translate \(from.rawValue) ids to \(to.rawValue) ids")
        }
        return Dictionary(ids.map { ($0, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A source whose items hold all of their records keeps nothing apart: the items stay as they are.
    public func carryOver(
        _ items: [(ref: MailboxItemRef, record: MailboxRecord)], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>] {
        items.map { .success($0.ref) }
    }
}

import Foundation

/// An extended (MAPI) property stamped on an item: its identity (`key`, normalised from the
/// ExtendedFieldURI attributes), the URI attributes as the client sent them, and its value(s).
struct ExtendedProperty: Sendable, Equatable {
    var key: String
    var uri: [(String, String)]
    var values: [String]
    var isMulti: Bool

    static func == (a: ExtendedProperty, b: ExtendedProperty) -> Bool {
        a.key == b.key && a.values == b.values && a.isMulti == b.isMulti
    }

    /// Normalised identity of an `ExtendedFieldURI` element: tags compare numerically, set ids and
    /// names case-insensitively as Exchange does.
    static func key(of uri: XElement) -> String? {
        let type = uri.attr("PropertyType") ?? ""
        if let tag = uri.attr("PropertyTag") {
            let t = tag.lowercased()
            let n = t.hasPrefix("0x") ? UInt32(t.dropFirst(2), radix: 16) : UInt32(t)
            guard let n else { return nil }
            return "tag:\(n):\(type)"
        }
        let set =
            uri.attr("PropertySetId")?.lowercased()
            ?? uri.attr("DistinguishedPropertySetId").map { distinguishedSets[$0]?.lowercased() ?? $0.lowercased() }
        guard let set else { return nil }
        if let name = uri.attr("PropertyName") { return "name:\(set):\(name):\(type)" }
        if let id = uri.attr("PropertyId"), let n = Int(id) { return "id:\(set):\(n):\(type)" }
        return nil
    }

    /// The GUIDs of the distinguished property sets ([MS-OXPROPS] 1.3.2): `PublicStrings` and the GUID
    /// {00020329-0000-0000-C000-000000000046} name the same set, so the same property (Graph names sets by GUID).
    static let distinguishedSets: [String: String] = [
        "PublicStrings": "00020329-0000-0000-C000-000000000046", "Common": "00062008-0000-0000-C000-000000000046",
        "Address": "00062004-0000-0000-C000-000000000046", "Appointment": "00062002-0000-0000-C000-000000000046",
        "Task": "00062003-0000-0000-C000-000000000046", "InternetHeaders": "00020386-0000-0000-C000-000000000046",
        "Meeting": "6ED8DA90-450B-101B-98DA-00AA003F1305", "CalendarAssistant": "11000E07-B51B-40D6-AF21-CAA85EDAB1D0",
        "UnifiedMessaging": "4442858E-A9E3-4E80-B900-317A210CC15B", "Sharing": "00062040-0000-0000-C000-000000000046",
    ]

    var element: XElement {
        var e = XElement("ExtendedProperty")
        e.children.append(XElement("ExtendedFieldURI", attributes: uri))
        if isMulti {
            e.children.append(XElement("Values", children: values.map { XElement("Value", text: $0) }))
        } else {
            e.children.append(XElement("Value", text: values.first ?? ""))
        }
        return e
    }
}

/// One stored item. Fields are kept as the schema's element trees keyed by element name, so every
/// schema-valid property a client sets round-trips unchanged.
struct StoredItem: Sendable, Codable {
    var number: UInt64
    var kind: ExchangeItemType
    var folder: String
    var changeNumber: UInt64
    var fields: [String: XElement]
    /// Change number of the last write of each field (for AutoResolve conflict detection).
    var fieldChanges: [String: UInt64]
    var extended: [ExtendedProperty]
    /// Mailbox sequence number at which the item entered its folder, and of its last change.
    var createdSeq: UInt64
    var lastSeq: UInt64
}

/// A folder: its items, a cached sorted order, and the change log used by SyncFolderItems.
struct StoredFolder: Sendable {
    var key: String
    var displayName: String
    var folderClass: String?
    var parent: String?
    var elementName: String
    var items = FolderItems()
    /// Change log: (sequence, item number). Entries whose sequence no longer equals the item's
    /// `lastSeq` are stale and skipped.
    var log: [(seq: UInt64, item: UInt64)] = []
    /// Items deleted from this folder: number -> (seq the item entered the folder, seq of deletion).
    var tombstones: [UInt64: (created: UInt64, deleted: UInt64)] = [:]
    /// Bumped on every change; invalidates cached views.
    var version: UInt64 = 0

    mutating func appendLog(seq: UInt64, item: UInt64) {
        log.append((seq, item))
        version &+= 1
    }

    /// One change since a sync state: an item as it is now (created or changed), or a deleted item's number.
    enum Change { case changed(StoredItem), deleted(UInt64) }

    /// At most `limit` changes after sequence `since`, in sequence order, as EWS SyncFolderItems and Graph delta
    /// read them: the change log with stale entries (superseded by a later change) skipped, and deletions of items
    /// that existed at `since` merged in. Also the sequence the changes reach and whether the log is exhausted.
    func changes(
        since: UInt64, limit: Int, skip: (UInt64) -> Bool = { _ in false }
    ) -> (changes: [Change], reached: UInt64, done: Bool) {
        var lo = 0, hi = log.count
        while lo < hi { let mid = (lo + hi) / 2; if log[mid].seq <= since { lo = mid + 1 } else { hi = mid } }
        let deletions = tombstones.filter { $0.value.deleted > since && $0.value.created <= since }
            .map { (seq: $0.value.deleted, item: $0.key) }.sorted { $0.seq < $1.seq }
        var changes: [Change] = [], reached = since, i = lo, d = 0
        var seen = Set<UInt64>()
        while changes.count < limit {
            let nextLog = i < log.count ? log[i].seq : UInt64.max
            let nextDel = d < deletions.count ? deletions[d].seq : UInt64.max
            if nextLog == UInt64.max && nextDel == UInt64.max { break }
            if nextDel < nextLog {
                let n = deletions[d].item
                d += 1; reached = nextDel
                if items[n] == nil && !skip(n) { changes.append(.deleted(n)) }
                continue
            }
            let entry = log[i]
            i += 1; reached = entry.seq
            guard let item = items[entry.item], item.lastSeq == entry.seq, seen.insert(item.number).inserted,
                !skip(item.number)
            else { continue }
            changes.append(.changed(item))
        }
        return (changes, reached, i >= log.count && d >= deletions.count)
    }
}

/// A mailbox: its folders and its synchronisation bookkeeping.
struct StoredMailbox: Sendable {
    var address: String
    var displayName: String
    /// Random per mailbox incarnation; sync states of another incarnation are invalid.
    var epoch: UInt32
    /// Last sequence number handed to a change in this mailbox (monotonic, also across restores).
    var seq: UInt64
    /// Sequence ranges (lower exclusive, upper inclusive) invalidated by restores.
    var invalidRanges: [ClosedRange<UInt64>]
    var folders: [String: StoredFolder]
    /// Item number -> folder key.
    var locations: [UInt64: String]

    static let wellKnownFolders: [(key: String, name: String, cls: String?, parent: String?, element: String)] = [
        ("root", "Top of Information Store", nil, nil, "Folder"),
        ("msgfolderroot", "Top of Information Store", "IPF.Note", "root", "Folder"),
        ("inbox", "Inbox", "IPF.Note", "msgfolderroot", "Folder"),
        ("drafts", "Drafts", "IPF.Note", "msgfolderroot", "Folder"),
        ("sentitems", "Sent Items", "IPF.Note", "msgfolderroot", "Folder"),
        ("outbox", "Outbox", "IPF.Note", "msgfolderroot", "Folder"),
        ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot", "Folder"),
        ("junkemail", "Junk Email", "IPF.Note", "msgfolderroot", "Folder"),
        ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot", "CalendarFolder"),
        ("contacts", "Contacts", "IPF.Contact", "msgfolderroot", "ContactsFolder"),
        ("tasks", "Tasks", "IPF.Task", "msgfolderroot", "TasksFolder"),
        ("notes", "Notes", "IPF.StickyNote", "msgfolderroot", "Folder"),
        ("journal", "Journal", "IPF.Journal", "msgfolderroot", "Folder"),
    ]

    init(address: String, displayName: String? = nil, epoch: UInt32 = UInt32.random(in: 1...UInt32.max)) {
        self.address = address
        self.displayName = displayName ?? address
        self.epoch = epoch
        self.seq = 0
        self.invalidRanges = []
        self.locations = [:]
        var folders: [String: StoredFolder] = [:]
        for f in Self.wellKnownFolders {
            folders[f.key] = StoredFolder(
                key: f.key, displayName: f.name, folderClass: f.cls, parent: f.parent, elementName: f.element)
        }
        self.folders = folders
    }

    mutating func nextSeq() -> UInt64 { seq += 1; return seq }
}

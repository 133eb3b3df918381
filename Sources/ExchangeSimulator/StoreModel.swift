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
        let set = (uri.attr("PropertySetId") ?? uri.attr("DistinguishedPropertySetId"))?.lowercased()
        guard let set else { return nil }
        if let name = uri.attr("PropertyName") { return "name:\(set):\(name):\(type)" }
        if let id = uri.attr("PropertyId"), let n = Int(id) { return "id:\(set):\(n):\(type)" }
        return nil
    }

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
    var kind: ItemKind
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
    var items: [UInt64: StoredItem] = [:]
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
            folders[f.key] = StoredFolder(key: f.key, displayName: f.name, folderClass: f.cls, parent: f.parent, elementName: f.element)
        }
        self.folders = folders
    }

    mutating func nextSeq() -> UInt64 { seq += 1; return seq }
}

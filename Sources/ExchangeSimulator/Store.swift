import Foundation
import Synchronization

/// Whole-server state: mailboxes plus server-wide counters. A value type, so a backup is a copy.
struct StoreState: Sendable {
    var mailboxes: [String: StoredMailbox] = [:]
    /// Server-wide counters: next item number and last change number (ChangeKeys).
    var nextItem: UInt64 = 1
    var changeCounter: UInt64 = 0
    /// Named backups: the mailboxes as they were.
    var backups: [String: [String: StoredMailbox]] = [:]
    /// What changed since the last journal write; tracked only when the store persists (`--data`).
    var pending = PendingChanges()

    mutating func nextChange() -> UInt64 { changeCounter += 1; return changeCounter }
}

/// The simulator's store: all state behind one lock. Requests are short, and a lock keeps the model
/// simple and linearisable (as a single Exchange mailbox database is for one mailbox).
final class Store: Sendable {
    private let box: Mutex<StoreState>
    /// The data directory's journal, when persistent; only used under the lock.
    let persistence: StorePersistence?

    init(state: StoreState = StoreState(), persistence: StorePersistence? = nil) {
        var state = state
        state.pending.tracking = persistence != nil
        self.box = Mutex(state)
        self.persistence = persistence
    }

    /// Runs `body` with exclusive access to the state. When persistent, what `body` changed is appended to
    /// the journal before the lock is released, so a response is only sent for a change that is on disk.
    func withState<T, E: Error>(_ body: (inout StoreState) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = box.withLock { s in
            defer {
                if let persistence, !s.pending.isEmpty {
                    persistence.append(s)
                    s.pending.clear()
                }
            }
            do throws(E) { return .success(try body(&s)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// Item-level mutations shared by EWS operations, seeding and restores.
extension StoreState {
    static func key(_ address: String) -> String { address.lowercased() }

    func mailbox(_ address: String) -> StoredMailbox? { mailboxes[Self.key(address)] }

    @discardableResult
    mutating func createMailbox(_ address: String, displayName: String? = nil) -> Bool {
        let k = Self.key(address)
        if mailboxes[k] != nil { return false }
        mailboxes[k] = StoredMailbox(address: k, displayName: displayName)
        pending.mailbox(k)
        return true
    }

    /// Inserts a new item into `folder`; returns it.
    mutating func insertItem(
        mailbox: String, folder: String, kind: ExchangeItemType, fields: consuming [String: XElement],
        extended: [ExtendedProperty], now: Double
    ) -> StoredItem {
        let mk = Self.key(mailbox)
        let number = nextItem; nextItem += 1
        let change = nextChange()
        var f = fields
        StoreState.applyComputed(kind: kind, fields: &f, created: now, modified: now)
        var changes = [String: UInt64](minimumCapacity: f.count)
        for k in f.keys { changes[k] = change }
        let seq = mailboxes[mk]!.nextSeq()
        let item = StoredItem(
            number: number, kind: kind, folder: folder, changeNumber: change, fields: f,
            fieldChanges: changes, extended: extended, createdSeq: seq, lastSeq: seq)
        mailboxes[mk]!.folders[folder]!.items[number] = item
        mailboxes[mk]!.folders[folder]!.appendLog(seq: seq, item: number)
        mailboxes[mk]!.locations[number] = folder
        pending.item(mk, number)
        return item
    }

    /// Stores a changed item (new ChangeKey, new sequence).
    mutating func replaceItem(
        mailbox: String, _ item: StoredItem, changedFields: Set<String>, now: Double
    ) -> StoredItem {
        let mk = Self.key(mailbox)
        var it = item
        let change = nextChange()
        it.changeNumber = change
        for f in changedFields { it.fieldChanges[f] = change }
        let created = it.fields["DateTimeCreated"].flatMap { FieldValue.parseDate($0.value) } ?? now
        StoreState.applyComputed(kind: it.kind, fields: &it.fields, created: created, modified: now)
        let seq = mailboxes[mk]!.nextSeq()
        it.lastSeq = seq
        mailboxes[mk]!.folders[it.folder]!.items[it.number] = it
        mailboxes[mk]!.folders[it.folder]!.appendLog(seq: seq, item: it.number)
        pending.item(mk, it.number)
        return it
    }

    /// Removes an item from its folder (hard delete), leaving a tombstone for sync.
    mutating func removeItem(mailbox: String, number: UInt64) -> StoredItem? {
        let mk = Self.key(mailbox)
        guard let folder = mailboxes[mk]?.locations[number],
            let item = mailboxes[mk]?.folders[folder]?.items.removeValue(forKey: number)
        else { return nil }
        let seq = mailboxes[mk]!.nextSeq()
        mailboxes[mk]!.folders[folder]!.tombstones[number] = (item.createdSeq, seq)
        mailboxes[mk]!.folders[folder]!.version &+= 1
        mailboxes[mk]!.locations[number] = nil
        pending.item(mk, number)
        return item
    }

    /// Moves an item to another folder of the same mailbox (a delete there, a create here).
    mutating func moveItem(mailbox: String, number: UInt64, to folder: String, now: Double) -> StoredItem? {
        guard var item = removeItem(mailbox: mailbox, number: number) else { return nil }
        let mk = Self.key(mailbox)
        item.folder = folder
        item.changeNumber = nextChange()
        let seq = mailboxes[mk]!.nextSeq()
        item.createdSeq = seq; item.lastSeq = seq
        mailboxes[mk]!.folders[folder]!.tombstones[number] = nil
        mailboxes[mk]!.folders[folder]!.items[number] = item
        mailboxes[mk]!.folders[folder]!.appendLog(seq: seq, item: number)
        mailboxes[mk]!.locations[number] = folder
        return item
    }

    /// Server-computed properties Exchange maintains itself.
    static func applyComputed(
        kind: ExchangeItemType, fields f: inout [String: XElement], created: Double, modified: Double
    ) {
        // Changes are collected first: writing to `f` while iterating it would copy the whole dictionary per write.
        var normalized: [(String, String)] = []
        for (k, v) in f where FieldValue.dateTimeFields.contains(k) && v.children.isEmpty {
            let n = FieldValue.normalize(field: k, v.text)
            if n != v.text { normalized.append((k, n)) }
        }
        for (k, n) in normalized { f[k]!.text = n }
        if f["ItemClass"] == nil { f["ItemClass"] = XElement("ItemClass", text: kind.itemClass) }
        let createdText = FieldValue.formatDate(created)
        f["DateTimeCreated"] = XElement("DateTimeCreated", text: createdText)
        f["DateTimeReceived"] = XElement("DateTimeReceived", text: createdText)
        f["LastModifiedTime"] = XElement(
            "LastModifiedTime", text: modified == created ? createdText : FieldValue.formatDate(modified))
        f["HasAttachments"] = XElement("HasAttachments", text: "false")
        if f["Sensitivity"] == nil { f["Sensitivity"] = XElement("Sensitivity", text: "Normal") }
        if f["Importance"] == nil { f["Importance"] = XElement("Importance", text: "Normal") }
        if f["Subject"] == nil, kind == .contact, let dn = f["DisplayName"] {
            f["Subject"] = XElement("Subject", text: dn.text)
        }
        switch kind {
        case .calendarItem:
            let recurring = f["Recurrence"] != nil
            f["IsRecurring"] = XElement("IsRecurring", text: recurring ? "true" : "false")
            f["CalendarItemType"] = XElement("CalendarItemType", text: recurring ? "RecurringMaster" : "Single")
            if f["IsAllDayEvent"] == nil { f["IsAllDayEvent"] = XElement("IsAllDayEvent", text: "false") }
            if f["LegacyFreeBusyStatus"] == nil {
                f["LegacyFreeBusyStatus"] = XElement("LegacyFreeBusyStatus", text: "Busy")
            }
            let meeting = f["RequiredAttendees"] != nil || f["OptionalAttendees"] != nil || f["Resources"] != nil
            f["IsMeeting"] = XElement("IsMeeting", text: meeting ? "true" : "false")
            if f["UID"] == nil { f["UID"] = XElement("UID", text: RandomUUID.lowercased()) }
        case .task:
            if f["Status"] == nil { f["Status"] = XElement("Status", text: "NotStarted") }
            if f["PercentComplete"] == nil { f["PercentComplete"] = XElement("PercentComplete", text: "0") }
            f["IsComplete"] = XElement("IsComplete", text: f["Status"]?.value == "Completed" ? "true" : "false")
            f["IsRecurring"] = XElement("IsRecurring", text: f["Recurrence"] != nil ? "true" : "false")
        case .contact:
            if f["DisplayName"] == nil {
                let name = [f["GivenName"]?.value, f["Surname"]?.value].compactMap { $0 }.joined(separator: " ")
                if !name.isEmpty { f["DisplayName"] = XElement("DisplayName", text: name) }
            }
            if f["FileAs"] == nil, let s = f["Surname"]?.value {
                f["FileAs"] = XElement(
                    "FileAs", text: [s, f["GivenName"]?.value].compactMap { $0 }.joined(separator: ", "))
            }
        }
    }
}

import Foundation
import Logging

/// What changed in the state since the last journal write: items by (mailbox, number), whole mailboxes
/// (created or restored) and backups.
struct PendingChanges: Sendable {
    var tracking = false
    var items: [String: Set<UInt64>] = [:]
    var mailboxes: Set<String> = []
    var backups: Set<String> = []

    var isEmpty: Bool { items.isEmpty && mailboxes.isEmpty && backups.isEmpty }

    mutating func item(_ mailbox: String, _ number: UInt64) {
        if tracking { items[mailbox, default: []].insert(number) }
    }
    mutating func mailbox(_ address: String) { if tracking { mailboxes.insert(address) } }
    mutating func backup(_ name: String) { if tracking { backups.insert(name) } }
    mutating func clear() { items = [:]; mailboxes = []; backups = [] }
}

/// `--data DIR`: the state as a snapshot (`store.json`) plus a journal (`journal.jsonl`) of what every
/// request changed, appended before the response is sent. Opening replays the journal over the snapshot
/// and compacts both into a new snapshot; closing compacts too. A torn last journal line (the process
/// was killed mid-write, before any response for it) is ignored.
final class StorePersistence: @unchecked Sendable {
    // @unchecked: `journal` is only touched under the store's lock (Store.withState), at open and at close.
    let directory: URL
    private var journal: FileHandle?
    private let logger: Logger

    var snapshotURL: URL { directory.appendingPathComponent("store.json") }
    var journalURL: URL { directory.appendingPathComponent("journal.jsonl") }

    private init(directory: URL, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Loads the state kept in `directory` (created if missing) and opens its journal for appending.
    static func open(directory path: String, logger: Logger) throws -> (StorePersistence, StoreState) {
        let p = StorePersistence(directory: URL(fileURLWithPath: path, isDirectory: true), logger: logger)
        do {
            try FileManager.default.createDirectory(at: p.directory, withIntermediateDirectories: true)
            var state = StoreState()
            if let data = try? Data(contentsOf: p.snapshotURL) {
                state = try JSONDecoder().decode(Snapshot.self, from: data).state
            }
            var replayed = 0
            if let data = try? Data(contentsOf: p.journalURL) {
                let decoder = JSONDecoder()
                for line in data.split(separator: UInt8(ascii: "\n")) {
                    guard let delta = try? decoder.decode(Delta.self, from: Data(line)) else { break }
                    delta.apply(to: &state)
                    replayed += 1
                }
            }
            state.rebuildIndexes()
            try p.compact(state)
            logger.info(
                "exchange-sim data loaded",
                metadata: [
                    "sim.data.directory": "\(path)", "sim.data.mailboxes": "\(state.mailboxes.count)",
                    "sim.data.journal_entries": "\(replayed)",
                ])
            return (p, state)
        } catch {
            throw SimulatorControl.ControlError(code: "DataDirectoryUnusable", detail: "\(path): \(error)")
        }
    }

    /// Writes a new snapshot (atomically) and starts an empty journal.
    func compact(_ state: StoreState) throws {
        let enc = JSONEncoder()
        try enc.encode(Snapshot(state)).write(to: snapshotURL, options: .atomic)
        try? journal?.close()
        _ = FileManager.default.createFile(atPath: journalURL.path, contents: nil)
        journal = try FileHandle(forWritingTo: journalURL)
    }

    /// Appends what `state.pending` names, as it is now, to the journal.
    func append(_ state: StoreState) {
        guard let journal else { return }
        do {
            var line = try JSONEncoder().encode(Delta(state))
            line.append(UInt8(ascii: "\n"))
            try journal.write(contentsOf: line)
        } catch {
            logger.info("exchange-sim could not write its journal", metadata: ["sim.data.error": "\(error)"])
        }
    }

    /// Compacts and closes the journal (at shutdown).
    func close(_ state: StoreState) {
        do { try compact(state) } catch {
            logger.info("exchange-sim could not write its snapshot", metadata: ["sim.data.error": "\(error)"])
        }
        try? journal?.close()
        journal = nil
    }
}

extension Store {
    /// Opens a store, persistent when `dataDirectory` is set.
    static func open(dataDirectory: String?, logger: Logger) throws -> Store {
        guard let dataDirectory else { return Store() }
        let (persistence, state) = try StorePersistence.open(directory: dataDirectory, logger: logger)
        return Store(state: state, persistence: persistence)
    }

    /// Flushes persistent state into a fresh snapshot.
    func close() {
        guard let persistence else { return }
        withState { s in persistence.close(s) }
    }
}

extension StoreState {
    /// Rebuilds the derived indexes (item locations, per-folder change logs) from the items.
    mutating func rebuildIndexes() {
        for (address, var m) in mailboxes {
            m.locations = [:]
            for (key, var f) in m.folders {
                f.log = f.items.values.map { (seq: $0.lastSeq, item: $0.number) }.sorted { $0.seq < $1.seq }
                for n in f.items.keys { m.locations[n] = key }
                f.version &+= 1
                m.folders[key] = f
            }
            mailboxes[address] = m
        }
    }
}

// MARK: - On-disk forms

/// The whole state.
private struct Snapshot: Codable {
    var nextItem: UInt64
    var changeCounter: UInt64
    var mailboxes: [StoredMailbox]
    var backups: [String: [StoredMailbox]]

    init(_ s: StoreState) {
        nextItem = s.nextItem; changeCounter = s.changeCounter
        mailboxes = Array(s.mailboxes.values)
        backups = s.backups.mapValues { Array($0.values) }
    }

    var state: StoreState {
        var s = StoreState()
        s.nextItem = nextItem; s.changeCounter = changeCounter
        for m in mailboxes { s.mailboxes[m.address] = m }
        s.backups = backups.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.address, $0) }) }
        for (name, var b) in s.backups {
            for (k, var m) in b { m.rebuildLocations(); b[k] = m }
            s.backups[name] = b
        }
        return s
    }
}

/// One journal entry: the current form of everything one locked section changed.
private struct Delta: Codable {
    /// One item number's state in a mailbox: the item (nil when gone) and its tombstones by folder.
    struct ItemState: Codable {
        var mailbox: String
        var number: UInt64
        var item: StoredItem?
        var tombstones: [String: [UInt64]]
    }
    struct MailboxHeader: Codable {
        var address: String
        var seq: UInt64
        var invalidRanges: [[UInt64]]
    }

    var nextItem: UInt64
    var changeCounter: UInt64
    var mailboxes: [StoredMailbox]
    var headers: [MailboxHeader]
    var items: [ItemState]
    var backups: [String: [StoredMailbox]]

    init(_ s: StoreState) {
        nextItem = s.nextItem; changeCounter = s.changeCounter
        mailboxes = s.pending.mailboxes.compactMap { s.mailboxes[$0] }
        headers = []; items = []
        for (address, numbers) in s.pending.items where !s.pending.mailboxes.contains(address) {
            guard let m = s.mailboxes[address] else { continue }
            headers.append(
                MailboxHeader(
                    address: address, seq: m.seq, invalidRanges: m.invalidRanges.map { [$0.lowerBound, $0.upperBound] })
            )
            for n in numbers {
                var tombs: [String: [UInt64]] = [:]
                for (key, f) in m.folders { if let t = f.tombstones[n] { tombs[key] = [t.created, t.deleted] } }
                items.append(
                    ItemState(
                        mailbox: address, number: n, item: m.locations[n].flatMap { m.folders[$0]?.items[n] },
                        tombstones: tombs))
            }
        }
        backups = [:]
        for name in s.pending.backups { backups[name] = s.backups[name].map { Array($0.values) } ?? [] }
    }

    func apply(to s: inout StoreState) {
        s.nextItem = nextItem; s.changeCounter = changeCounter
        for m in mailboxes { s.mailboxes[m.address] = m }
        for h in headers {
            s.mailboxes[h.address]?.seq = h.seq
            s.mailboxes[h.address]?.invalidRanges = h.invalidRanges.compactMap { $0.count == 2 ? $0[0]...$0[1] : nil }
        }
        for i in items {
            guard var m = s.mailboxes[i.mailbox] else { continue }
            for key in m.folders.keys {
                m.folders[key]!.items[i.number] = nil
                m.folders[key]!.tombstones[i.number] = i.tombstones[key].flatMap {
                    $0.count == 2 ? ($0[0], $0[1]) : nil
                }
            }
            if let item = i.item, m.folders[item.folder] != nil { m.folders[item.folder]!.items[i.number] = item }
            s.mailboxes[i.mailbox] = m
        }
        for (name, b) in backups {
            var dict = Dictionary(uniqueKeysWithValues: b.map { ($0.address, $0) })
            for (k, var m) in dict { m.rebuildLocations(); dict[k] = m }
            s.backups[name] = dict
        }
    }
}

extension StoredMailbox {
    mutating func rebuildLocations() {
        locations = [:]
        for (key, f) in folders { for n in f.items.keys { locations[n] = key } }
    }
}

// MARK: - Codable forms of the model

extension XElement: Codable {
    private enum CodingKeys: String, CodingKey { case n, s, a, c, t }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try c.decode(String.self, forKey: .n), ns: try c.decodeIfPresent(String.self, forKey: .s) ?? NS.types,
            attributes: (try c.decodeIfPresent([[String]].self, forKey: .a) ?? []).compactMap {
                $0.count == 2 ? ($0[0], $0[1]) : nil
            },
            children: try c.decodeIfPresent([XElement].self, forKey: .c) ?? [],
            text: try c.decodeIfPresent(String.self, forKey: .t) ?? "")
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .n)
        if ns != NS.types { try c.encode(ns, forKey: .s) }
        if !attributes.isEmpty { try c.encode(attributes.map { [$0.0, $0.1] }, forKey: .a) }
        if !children.isEmpty { try c.encode(children, forKey: .c) }
        if !text.isEmpty { try c.encode(text, forKey: .t) }
    }
}

extension ExtendedProperty: Codable {
    private enum CodingKeys: String, CodingKey { case key, uri, values, isMulti }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let uri = try c.decode([[String]].self, forKey: .uri).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        // The key is derived again from the URI, so data written before a change of the key's form reads the same.
        let stored = try c.decode(String.self, forKey: .key)
        self.init(
            key: uri.isEmpty ? stored : (Self.key(of: XElement("ExtendedFieldURI", attributes: uri)) ?? stored),
            uri: uri,
            values: try c.decode([String].self, forKey: .values), isMulti: try c.decode(Bool.self, forKey: .isMulti))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(uri.map { [$0.0, $0.1] }, forKey: .uri)
        try c.encode(values, forKey: .values)
        try c.encode(isMulti, forKey: .isMulti)
    }
}

extension StoredFolder: Codable {
    private enum CodingKeys: String, CodingKey {
        case key, displayName, folderClass, parent, elementName, items, tombstones
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            key: try c.decode(String.self, forKey: .key), displayName: try c.decode(String.self, forKey: .displayName),
            folderClass: try c.decodeIfPresent(String.self, forKey: .folderClass),
            parent: try c.decodeIfPresent(String.self, forKey: .parent),
            elementName: try c.decode(String.self, forKey: .elementName))
        for item in try c.decode([StoredItem].self, forKey: .items) { items[item.number] = item }
        for t in try c.decode([[UInt64]].self, forKey: .tombstones) where t.count == 3 {
            tombstones[t[0]] = (t[1], t[2])
        }
        log = items.values.map { (seq: $0.lastSeq, item: $0.number) }.sorted { $0.seq < $1.seq }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(displayName, forKey: .displayName)
        try c.encodeIfPresent(folderClass, forKey: .folderClass)
        try c.encodeIfPresent(parent, forKey: .parent)
        try c.encode(elementName, forKey: .elementName)
        try c.encode(items.values.sorted { $0.number < $1.number }, forKey: .items)
        try c.encode(tombstones.map { [$0.key, $0.value.created, $0.value.deleted] }, forKey: .tombstones)
    }
}

extension StoredMailbox: Codable {
    private enum CodingKeys: String, CodingKey { case address, displayName, epoch, seq, invalidRanges, folders }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            address: try c.decode(String.self, forKey: .address),
            displayName: try c.decode(String.self, forKey: .displayName),
            epoch: try c.decode(UInt32.self, forKey: .epoch))
        seq = try c.decode(UInt64.self, forKey: .seq)
        invalidRanges = try c.decode([[UInt64]].self, forKey: .invalidRanges).compactMap {
            $0.count == 2 ? $0[0]...$0[1] : nil
        }
        folders = [:]
        for f in try c.decode([StoredFolder].self, forKey: .folders) { folders[f.key] = f }
        rebuildLocations()
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(seq, forKey: .seq)
        try c.encode(invalidRanges.map { [$0.lowerBound, $0.upperBound] }, forKey: .invalidRanges)
        try c.encode(folders.values.sorted { $0.key < $1.key }, forKey: .folders)
    }
}

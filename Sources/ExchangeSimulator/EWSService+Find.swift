import Foundation
import Synchronization

/// Caches the ordered item numbers of a folder view (restriction + sort) until the folder changes, so
/// paging through a large folder costs one sort, not one per page.
final class ViewCache: Sendable {
    private struct Entry { var version: UInt64; var numbers: [UInt64] }
    private let entries = Mutex<[String: Entry]>([:])

    func view(key: String, version: UInt64, build: () -> [UInt64]) -> [UInt64] {
        if let e = entries.withLock({ $0[key] }), e.version == version { return e.numbers }
        let numbers = build()
        if numbers.count >= 500 {
            entries.withLock { d in
                if d.count > 64 { d.removeAll() }
                d[key] = Entry(version: version, numbers: numbers)
            }
        }
        return numbers
    }
}

extension EWSService {
    /// EWSFindCountLimit: Exchange returns at most 1000 items per FindItem page.
    static let findCountLimit = 1000

    func findItem(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let parents = body.child("ParentFolderIds") else {
            throw .schemaValidation("FindItem requires ParentFolderIds.")
        }
        let shape = try ItemShape(body.child("ItemShape"))
        var restriction: Restriction?
        if let r = body.child("Restriction")?.children.first { restriction = try Restriction.parse(r) }
        if let cal = body.child("CalendarView") {
            return try calendarView(cal, parents: parents, shape: shape, restriction: restriction, mailbox: mailbox)
        }
        var sort: [(PropertyPath, Bool)] = []
        for o in body.child("SortOrder")?.children ?? [] {
            guard let p = o.children.first.flatMap(PropertyPath.parse) else {
                throw .schemaValidation("FieldOrder requires a property path.")
            }
            sort.append((p, o.attr("Order") != "Descending"))
        }
        var offset = 0, maxEntries = Self.findCountLimit, fromEnd = false
        if let v = body.child("IndexedPageItemView") {
            offset = v.attr("Offset").flatMap(Int.init) ?? 0
            maxEntries = min(v.attr("MaxEntriesReturned").flatMap(Int.init) ?? Self.findCountLimit, Self.findCountLimit)
            fromEnd = v.attr("BasePoint") == "End"
        } else if let v = body.child("FractionalPageItemView") ?? body.child("CalendarView")
            ?? body.child("ContactsView")
        {
            maxEntries = min(v.attr("MaxEntriesReturned").flatMap(Int.init) ?? Self.findCountLimit, Self.findCountLimit)
        }
        guard offset >= 0, maxEntries > 0 else { throw .schemaValidation("Invalid paging values.") }
        var cacheKey = XMLWriter(capacity: 256)
        if let r = body.child("Restriction") { cacheKey.element(r) }
        if let r = body.child("SortOrder") { cacheKey.element(r) }
        if let r = body.child("CalendarView") { cacheKey.element(r) }
        let viewKey = String(decoding: cacheKey.bytes, as: UTF8.self)
        let cache = self.viewCache
        return store.withState { s in
            SOAPEnvelope.response("FindItem", capacity: 200 * min(maxEntries, 1000)) { w in
                for parent in parents.children {
                    do {
                        let (mb, key) = try resolveFolder(parent, mailbox: mailbox, in: s)
                        let folder = s.mailbox(mb)!.folders[key]!
                        let numbers = cache.view(key: mb + "\u{0}" + key + "\u{0}" + viewKey, version: folder.version) {
                            Self.orderedView(folder, restriction: restriction, sort: sort)
                        }
                        let total = numbers.count
                        let start = fromEnd ? max(0, total - offset - maxEntries) : min(offset, total)
                        let end = fromEnd ? max(0, total - offset) : min(total, offset + maxEntries)
                        SOAPEnvelope.openSuccess(&w, "FindItem")
                        let nextOffset = fromEnd ? start : end
                        let last = fromEnd ? start == 0 : end >= total
                        w.open(
                            "m:RootFolder",
                            [
                                ("IndexedPagingOffset", String(nextOffset)), ("TotalItemsInView", String(total)),
                                ("IncludesLastItemInRange", last ? "true" : "false"),
                            ])
                        w.open("t:Items")
                        for n in numbers[start..<end] {
                            Self.writeItem(&w, folder.items[n]!, mailbox: mb, shape: shape)
                        }
                        w.close("t:Items")
                        w.close("m:RootFolder")
                        w.close("m:FindItemResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "FindItem", error)
                    }
                }
            }
        }
    }

    /// FindItem with a CalendarView: single items and the occurrences of recurring series (exceptions in place of
    /// their occurrences, cancelled ones absent) whose times overlap [StartDate, EndDate), by start, at most
    /// MaxEntriesReturned of them; series masters are not listed (as Exchange expands them).
    func calendarView(
        _ view: XElement, parents: XElement, shape: ItemShape, restriction: Restriction?, mailbox: String
    ) throws(EWSFailure) -> [UInt8] {
        guard let from = view.attr("StartDate").flatMap(FieldValue.parseDate),
            let to = view.attr("EndDate").flatMap(FieldValue.parseDate)
        else {
            throw .schemaValidation("CalendarView requires StartDate and EndDate.")
        }
        guard to >= from else {
            throw EWSFailure(
                code: "ErrorCalendarEndDateIsEarlierThanStartDate", message: "EndDate is earlier than StartDate")
        }
        let maxEntries = view.attr("MaxEntriesReturned").flatMap(Int.init) ?? Int.max
        return store.withState { s in
            SOAPEnvelope.response("FindItem") { w in
                for parent in parents.children {
                    do {
                        let (mb, key) = try resolveFolder(parent, mailbox: mailbox, in: s)
                        var found = GraphService.calendarView(
                            s.mailbox(mb)!.folders[key]!, mailbox: mb, from: from, to: to)
                        if let restriction { found.removeAll { !restriction.matches($0.item) } }
                        let shown = found.prefix(maxEntries)
                        SOAPEnvelope.openSuccess(&w, "FindItem")
                        w.open(
                            "m:RootFolder",
                            [
                                ("TotalItemsInView", String(found.count)),
                                ("IncludesLastItemInRange", shown.count == found.count ? "true" : "false"),
                            ])
                        w.open("t:Items")
                        for v in shown {
                            let id = v.master.map {
                                Identifier.occurrenceId(
                                    mailbox: mb, master: $0.number, originalStart: Int64(v.originalStart ?? 0))
                            }
                            Self.writeItem(&w, v.item, mailbox: mb, shape: shape, itemId: id)
                        }
                        w.close("t:Items")
                        w.close("m:RootFolder")
                        w.close("m:FindItemResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "FindItem", error)
                    }
                }
            }
        }
    }

    /// Item numbers of `folder` passing `restriction`, in `sort` order (creation order by default).
    static func orderedView(_ folder: StoredFolder, restriction: Restriction?, sort: [(PropertyPath, Bool)]) -> [UInt64]
    {
        var items = Array(folder.items.values)
        if let restriction { items.removeAll { !restriction.matches($0) } }
        if sort.isEmpty {
            return items.map(\.number).sorted()
        }
        let keyed = items.map { item in (item.number, sort.map { $0.0.value(in: item) }) }
        return keyed.sorted { a, b in
            for (i, (_, ascending)) in sort.enumerated() {
                let x = a.1[i], y = b.1[i]
                if x == y { continue }
                guard let x else { return ascending }  // missing values sort first ascending
                guard let y else { return !ascending }
                let c = FieldValue.compare(x, y)
                if c != 0 { return ascending ? c < 0 : c > 0 }
            }
            return a.0 < b.0
        }.map(\.0)
    }

    func syncFolderItems(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        let shape = try ItemShape(body.child("ItemShape"))
        guard let folderId = body.child("SyncFolderId")?.children.first else {
            throw .schemaValidation("SyncFolderItems requires SyncFolderId.")
        }
        let maxChanges = body.child("MaxChangesReturned").flatMap { Int($0.value) } ?? 0
        guard (1...512).contains(maxChanges) else {
            throw .schemaValidation("The value of MaxChangesReturned must be between 1 and 512.")
        }
        let ignored = Set(
            (body.child("Ignore")?.children ?? []).compactMap { $0.attr("Id").flatMap(Identifier.parseItemId)?.number })
        let stateText = body.child("SyncState")?.value ?? ""
        return store.withState { s in
            SOAPEnvelope.response("SyncFolderItems", capacity: 600 * maxChanges) { w in
                do {
                    let (mb, key) = try resolveFolder(folderId, mailbox: mailbox, in: s)
                    let m = s.mailbox(mb)!
                    let folder = m.folders[key]!
                    var since: UInt64 = 0
                    if !stateText.isEmpty {
                        guard let st = Identifier.parseSyncState(stateText), st.epoch == m.epoch, st.folder == key,
                            st.seq <= m.seq,
                            !m.invalidRanges.contains(where: { $0.contains(st.seq) })
                        else {
                            throw EWSFailure.invalidSyncState()
                        }
                        since = st.seq
                    }
                    let (changes, last, done) = folder.changes(since: since, limit: maxChanges) { ignored.contains($0) }
                    let reached = done ? max(last, m.seq) : last
                    SOAPEnvelope.openSuccess(&w, "SyncFolderItems")
                    w.leaf("m:SyncState", Identifier.syncState(epoch: m.epoch, folder: key, seq: reached))
                    w.leaf("m:IncludesLastItemInRange", done ? "true" : "false")
                    w.open("m:Changes")
                    for c in changes {
                        switch c {
                        case .changed(let item) where item.createdSeq > since:
                            w.open("t:Create"); Self.writeItem(&w, item, mailbox: mb, shape: shape); w.close("t:Create")
                        case .changed(let item):
                            w.open("t:Update"); Self.writeItem(&w, item, mailbox: mb, shape: shape); w.close("t:Update")
                        case .deleted(let n):
                            w.open("t:Delete");
                            w.empty("t:ItemId", [("Id", Identifier.itemId(mailbox: mb, number: n))]);
                            w.close("t:Delete")
                        }
                    }
                    w.close("m:Changes")
                    w.close("m:SyncFolderItemsResponseMessage")
                } catch {
                    SOAPEnvelope.openError(&w, "SyncFolderItems", error)
                    w.empty("m:SyncState")
                    w.leaf("m:IncludesLastItemInRange", "true")
                    w.close("m:SyncFolderItemsResponseMessage")
                }
            }
        }
    }
}

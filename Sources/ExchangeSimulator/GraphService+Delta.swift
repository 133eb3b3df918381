import Foundation
import Synchronization

/// Delta queries over one folder (contacts, To Do tasks): the folder's change log read from the sequence a
/// token names, as SyncFolderItems reads it, in pages ending in an `@odata.nextLink` (`$skiptoken`) and at
/// last an `@odata.deltaLink` (`$deltatoken`). Tokens are opaque sync states; a token a restore or the control
/// API invalidated, or one of another mailbox incarnation, is `410 Gone` with `SyncStateNotFound`.
extension GraphService {
    /// A delta token: the REST form of a sync state (mailbox epoch, folder, sequence).
    static func deltaToken(epoch: UInt32, folder: String, seq: UInt64) -> String {
        GraphIdentifier.rest(fromEWS: Identifier.syncState(epoch: epoch, folder: folder, seq: seq))
    }

    /// The sequence a token stands for in `folder`, or 410 when the service no longer knows it.
    static func tokenSequence(_ token: String, folder: String, in m: StoredMailbox) throws(GraphError) -> UInt64 {
        guard let st = Identifier.parseSyncState(GraphIdentifier.ews(fromREST: token)), st.epoch == m.epoch,
            st.folder == folder,
            st.seq <= m.seq, !m.invalidRanges.contains(where: { $0.contains(st.seq) })
        else {
            throw GraphError.syncStateNotFound()
        }
        return st.seq
    }

    /// The query a delta link carries besides its token.
    static func carriedQuery(_ ctx: Context) -> [(String, String)] {
        ctx.request.query.filter { !["$skiptoken", "$deltatoken"].contains($0.0.lowercased()) }
    }

    func folderDelta(
        folder: String, kind: ExchangeItemType, type: String, path: String, _ ctx: inout Context,
        render: (StoredItem, Context) throws(GraphError) -> JSON
    ) throws(GraphError) -> GraphResponse {
        if ctx.query.filter != nil || ctx.query.orderBy != nil || ctx.query.skip != nil {
            throw GraphError.notSupported("$filter, $orderby and $skip on delta")
        }
        let size = ctx.prefs.maxPageSize ?? ctx.query.top ?? 10
        let token = ctx.query.skipToken ?? ctx.query.deltaToken
        let mailbox = ctx.mailbox
        let (changes, reached, done, epoch) = try store.withState {
            (s: inout StoreState) throws(GraphError) -> ([StoredFolder.Change], UInt64, Bool, UInt32) in
            guard let m = s.mailbox(mailbox), let f = m.folders[folder] else { throw GraphError.folderNotFound() }
            let since = try token.map { t throws(GraphError) in try Self.tokenSequence(t, folder: folder, in: m) } ?? 0
            let (changes, reached, done) = f.changes(since: since, limit: size) {
                f.items[$0].map { $0.kind != kind } ?? false
            }
            return (changes, done ? max(reached, m.seq) : reached, done, m.epoch)
        }
        var values: [JSON] = []
        values.reserveCapacity(changes.count)
        for c in changes {
            switch c {
            case .changed(let item): values.append(try render(item, ctx))
            case .deleted(let n):
                values.append(
                    .object([
                        ("@odata.type", .string("#microsoft.graph.\(type)")), ("id", .string(ctx.id(mailbox, n))),
                        ("@removed", .object([("reason", .string("deleted"))])),
                    ]))
            }
        }
        let next = Self.deltaToken(epoch: epoch, folder: folder, seq: reached)
        var q = Self.carriedQuery(ctx)
        q.append((done ? "$deltatoken" : "$skiptoken", next))
        let link = ctx.link(path + "?" + Self.encodeQuery(q))
        return GraphResponse(
            status: 200,
            body: .object([
                ("@odata.context", ctx.context("Collection(\(type))")), ("value", .array(values)),
                (done ? "@odata.deltaLink" : "@odata.nextLink", link),
            ]))
    }
}

/// `calendarView/delta`: the instances of a window (singles, series masters, their occurrences and exceptions), then
/// per round what changed in it. A changed single or series comes again in full (a series with its instances in the
/// window, and `@removed` for its cancelled ones); an event deleted, or moved out of the window, comes as `@removed`.
/// Occurrences are sparse, as the service sends them: id, type, seriesMasterId, start and end (their content is the
/// master's). A token holds the window, the round's bounds in the mailbox's change sequence and the page's offset.
extension GraphService {
    struct CalendarDeltaToken: Equatable {
        var epoch: UInt32
        var since: UInt64
        var upto: UInt64
        var offset: Int
        var from: Int64
        var to: Int64

        private static let tag: [UInt8] = [0x43, 0x56, 0x44, 0x01]  // "CVD\u{1}"

        var text: String {
            var b = Self.tag
            withUnsafeBytes(of: epoch.bigEndian) { b.append(contentsOf: $0) }
            for v in [since, upto, UInt64(offset), UInt64(bitPattern: from), UInt64(bitPattern: to)] {
                withUnsafeBytes(of: v.bigEndian) { b.append(contentsOf: $0) }
            }
            return GraphIdentifier.rest(fromEWS: Data(b).base64EncodedString())
        }

        init(epoch: UInt32, since: UInt64, upto: UInt64, offset: Int, from: Int64, to: Int64) {
            self.epoch = epoch; self.since = since; self.upto = upto; self.offset = offset; self.from = from;
            self.to = to
        }

        init?(_ text: String) {
            guard let d = Data(base64Encoded: GraphIdentifier.ews(fromREST: text)), d.count == 48,
                Array(d.prefix(4)) == Self.tag
            else { return nil }
            let a = Array(d)
            func u64(_ at: Int) -> UInt64 { a[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
            epoch = a[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
            since = u64(8); upto = u64(16); offset = Int(u64(24)); from = Int64(bitPattern: u64(32));
            to = Int64(bitPattern: u64(40))
        }
    }

    enum CalendarDeltaEntry {
        case event(EventView, sparse: Bool)
        case occurrence(OccurrenceRef)
        case removed(String)
    }

    /// Every entry of one round (`since` 0: the initial round), in change order.
    static func calendarDeltaEntries(
        _ m: StoredMailbox, since: UInt64, upto: UInt64, from: Double, to: Double, ctx: Context
    ) -> [CalendarDeltaEntry] {
        guard let f = m.folders["calendar"] else { return [] }
        var out: [CalendarDeltaEntry] = []
        func emit(_ item: StoredItem) {
            let id = ctx.id(m.address, item.number)
            if item.fields["Recurrence"] != nil {
                let inWindow = occurrences(of: item, mailbox: m.address, from: from, to: to)
                guard !inWindow.isEmpty else { if since > 0 { out.append(.removed(id)) }; return }
                out.append(.event(EventView(item: item, id: id, type: "seriesMaster"), sparse: false))
                for o in inWindow {
                    switch o {
                    case .plain(let ref): out.append(.occurrence(ref))
                    case .built(let v): out.append(.event(v, sparse: v.type == "occurrence"))
                    }
                }
                if since > 0 {
                    for start in EWSService.deletedStartsList(item)
                    where Double(start) < to && Double(start) + (endOf(item) - startOf(item)) > from {
                        out.append(
                            .removed(
                                GraphIdentifier.occurrenceId(
                                    mailbox: m.address, master: item.number, originalStart: start)))
                    }
                }
            } else if overlaps(item, from, to) {
                out.append(.event(EventView(item: item, id: id, type: "singleInstance"), sparse: false))
            } else if since > 0 {
                out.append(.removed(id))
            }
        }
        if since == 0 {
            for item in f.items.values.sorted(by: { $0.lastSeq < $1.lastSeq })
            where item.kind == .calendarItem && item.lastSeq <= upto { emit(item) }
            return out
        }
        var lo = 0, hi = f.log.count
        while lo < hi { let mid = (lo + hi) / 2; if f.log[mid].seq <= since { lo = mid + 1 } else { hi = mid } }
        var items: [(UInt64, StoredItem)] = []
        for entry in f.log[lo...] where entry.seq <= upto {
            if let item = f.items[entry.item], item.lastSeq == entry.seq, item.kind == .calendarItem {
                items.append((entry.seq, item))
            }
        }
        let deletions = f.tombstones.filter {
            $0.value.deleted > since && $0.value.deleted <= upto && $0.value.created <= since
        }
        var merged: [(UInt64, Either)] = items.map { ($0.0, Either.item($0.1)) }
        for (n, t) in deletions where f.items[n] == nil {
            merged.append((t.deleted, .entry(.removed(ctx.id(m.address, n)))))
        }
        merged.sort { $0.0 < $1.0 }
        for (_, e) in merged {
            switch e {
            case .item(let item): emit(item)
            case .entry(let entry): out.append(entry)
            }
        }
        return out
    }

    enum Either { case item(StoredItem), entry(CalendarDeltaEntry) }

    func calendarViewDelta(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        if ctx.query.filter != nil || ctx.query.orderBy != nil || ctx.query.skip != nil || ctx.query.select != nil
            || ctx.query.expand != nil
        {
            throw GraphError.notSupported("$select, $filter, $orderby, $expand and $skip on calendarView delta")
        }
        let size = ctx.prefs.maxPageSize ?? 10
        let mailbox = ctx.mailbox
        let tokenText = ctx.query.skipToken ?? ctx.query.deltaToken
        let window: (Double, Double)? = tokenText == nil ? try Self.window(ctx) : nil
        let c = ctx
        let (entries, token, done) = try store.withState {
            (s: inout StoreState) throws(GraphError) -> ([CalendarDeltaEntry], CalendarDeltaToken, Bool) in
            guard let m = s.mailbox(mailbox) else { throw GraphError.folderNotFound() }
            var token: CalendarDeltaToken
            if let tokenText {
                guard let t = CalendarDeltaToken(tokenText), t.epoch == m.epoch, t.since <= m.seq,
                    !m.invalidRanges.contains(where: { $0.contains(t.since) || (t.upto > 0 && $0.contains(t.upto)) })
                else {
                    throw GraphError.syncStateNotFound()
                }
                token = t
                if ctx.query.deltaToken != nil { token.upto = m.seq; token.offset = 0 }
            } else {
                token = CalendarDeltaToken(
                    epoch: m.epoch, since: 0, upto: m.seq, offset: 0, from: Int64(window!.0), to: Int64(window!.1))
            }
            let round = CalendarDeltaRounds.Key(
                mailbox: mailbox, epoch: m.epoch, since: token.since, upto: token.upto, from: token.from, to: token.to,
                mailboxSeq: m.seq, immutableIds: c.prefs.immutableIds)
            let all = calendarDeltaRounds.entries(of: round) {
                Self.calendarDeltaEntries(
                    m, since: token.since, upto: token.upto, from: Double(token.from), to: Double(token.to), ctx: c)
            }
            let page = Array(all.dropFirst(token.offset).prefix(size))
            return (page, token, token.offset + size >= all.count)
        }
        var values: [JSON] = []
        var series: SeriesText?
        for e in entries {
            switch e {
            case .event(let v, let sparse):
                values.append(try eventJSON(v, ctx, context: nil, sparse: sparse, typed: true))
            case .occurrence(let o): values.append(Self.sparseJSON(o, ctx, series: &series))
            case .removed(let id):
                values.append(
                    .object([
                        ("@odata.type", .string("#microsoft.graph.event")), ("id", .string(id)),
                        ("@removed", .object([("reason", .string("deleted"))])),
                    ]))
            }
        }
        var next = token
        if done { next.since = token.upto; next.upto = 0; next.offset = 0 } else { next.offset += size }
        let link = ctx.link(
            ctx.userPath + "/calendarView/delta?" + Self.encodeQuery([(done ? "$deltatoken" : "$skiptoken", next.text)])
        )
        return GraphResponse(
            status: 200,
            body: .object([
                ("@odata.context", ctx.context("Collection(event)")), ("value", .array(values)),
                (done ? "@odata.deltaLink" : "@odata.nextLink", link),
            ]))
    }
}

/// The entries of the calendar delta rounds being paged, one round per mailbox: a round is expanded once and its
/// pages are slices of it, instead of expanding every series of the window again for each page. A round is the same
/// only while the mailbox has not changed since (its sequence number is part of the key).
final class CalendarDeltaRounds: Sendable {
    struct Key: Hashable, Sendable {
        var mailbox: String
        var epoch: UInt32
        var since: UInt64
        var upto: UInt64
        var from: Int64
        var to: Int64
        var mailboxSeq: UInt64
        var immutableIds: Bool
    }

    private let rounds = Mutex<[String: (key: Key, entries: [GraphService.CalendarDeltaEntry])]>([:])

    func entries(
        of key: Key, _ compute: () -> [GraphService.CalendarDeltaEntry]
    ) -> [GraphService.CalendarDeltaEntry] {
        if let cached = rounds.withLock({ $0[key.mailbox] }), cached.key == key { return cached.entries }
        let entries = compute()
        rounds.withLock { $0[key.mailbox] = (key, entries) }
        return entries
    }
}

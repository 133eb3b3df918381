import Foundation
import HTTP
import SyncCore

/// The pipeline's view of Exchange Online: ``MailboxSource`` over a ``GraphClient`` and the mapping tables. The
/// folders are those EWS uses (the default contacts folder, the default calendar, the default To Do list, which is
/// the mailbox's Tasks folder), so a mailbox can switch protocols with nothing moved.
///
/// - Pages are `@odata.nextLink`s: the cursor is the next link itself.
/// - Changes come from delta: per folder for contacts and To Do, by `calendarView/delta` over the window for events;
///   the sync state is the full next or delta link.
/// - Contacts and events carry the CRM id in the named extended property EWS writes; To Do tasks, which take no
///   extended properties, in a `linkedResource` (`applicationName` snapsync, `externalId` the CRM id), and their
///   percentage in an open extension (``GraphMappings/taskExtensionName``).
/// - A series is its master plus exceptions and cancellations; occurrences are written through `/instances`.
public struct GraphMailboxSource: MailboxSource {
    public let client: GraphClient
    let lists = GraphTaskListCache()

    public init(client: GraphClient) { self.client = client }

    // MARK: paths

    func collection(_ kind: ItemKind, _ mailbox: MailboxOwner) async throws(MailboxSourceError) -> String {
        let user = GraphClient.user(mailbox.smtpAddress)
        switch kind {
        case .contacts: return "\(user)/contacts"
        case .appointments: return "\(user)/events"
        case .tasks:
            let list = try await neutral { () async throws(GraphError) in try await defaultList(mailbox.smtpAddress) }
            return "\(user)/todo/lists/\(GraphPath.segment(list))/tasks"
        }
    }

    /// The id of the mailbox's default To Do list (`wellknownListName` `defaultList`).
    func defaultList(_ mailbox: String) async throws(GraphError) -> String {
        if let known = await lists.list(of: mailbox) { return known }
        var target: String? = "\(GraphClient.user(mailbox))/todo/lists"
        while let next = target {
            let page = try await client.send(GraphRequest(.get, next, operation: "GET todo/lists"), mailbox: mailbox)
            for list in page.body?["value"]?.array ?? [] where list["wellknownListName"]?.string == "defaultList" {
                if let id = list["id"]?.string {
                    await lists.remember(id, of: mailbox)
                    return id
                }
            }
            target = page.body?["@odata.nextLink"]?.string
        }
        throw GraphError(
            .service(status: 404, code: "ErrorItemNotFound"), operation: "GET todo/lists", mailbox: mailbox,
            message: "the mailbox has no default To Do list")
    }

    static func query(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "?" + pairs.map { "\($0.0)=\(GraphPath.segment($0.1))" }.joined(separator: "&")
    }

    static var stampExpand: String { "singleValueExtendedProperties($filter=id eq '\(GraphMappings.crmIDProperty)')" }
    static var taskExpand: String {
        "linkedResources,extensions($filter=id eq '\(GraphMappings.taskExtensionID)')"
    }
    static var eventExpand: String {
        "singleValueExtendedProperties($filter=id eq '\(GraphMappings.crmIDProperty)' or id eq '\(GraphMappings.icalUIDProperty)')"
    }

    /// The query that reads a whole item of `kind`.
    public static func itemQuery(_ kind: ItemKind) -> String { query(itemQueryPairs(kind)) }

    /// The `$select` and `$expand` that read whole items of `kind`, one item or a listing.
    static func itemQueryPairs(_ kind: ItemKind) -> [(String, String)] {
        switch kind {
        case .contacts:
            [
                ("$select", (GraphMappings.contact.select + ["changeKey"]).joined(separator: ",")),
                ("$expand", stampExpand),
            ]
        case .appointments:
            [
                (
                    "$select",
                    (GraphMappings.appointment.select + ["changeKey", "type", "cancelledOccurrences"]).joined(
                        separator: ",")
                ),
                ("$expand", "exceptionOccurrences,\(eventExpand)"),
            ]
        case .tasks:
            // No $select: a task is small, and a $select would have to name the expanded linkedResources as well.
            [("$expand", taskExpand)]
        }
    }

    /// The `$select` of a listing of refs.
    static func refsSelect(_ kind: ItemKind) -> String { kind == .tasks ? "id" : "id,changeKey" }

    /// A link of a listing with its `$select` and `$expand` replaced by `pairs`: the same page of the same listing,
    /// read with other properties (Graph pages events, contacts and tasks by `$skip`, which the link keeps).
    static func link(_ link: String, reading pairs: [(String, String)]) -> String {
        let (base, query) =
            link.firstIndex(of: "?").map { (link[..<$0], link[link.index(after: $0)...]) } ?? (link[...], "")
        let kept = query.split(separator: "&").filter { part in
            let key = part.prefix { $0 != "=" }.replacingOccurrences(of: "%24", with: "$").lowercased()
            return key != "$select" && key != "$expand"
        }
        let added = pairs.map { "\($0.0)=\(GraphPath.segment($0.1))" }
        return base + "?" + (added + kept.map(String.init)).joined(separator: "&")
    }
    /// The members ``ref(_:kind:)`` reads.
    static let refMembers: Set<String> = ["id", "changeKey", "@odata.etag"]

    /// The ref of an item as Graph returned it: its id and version (`changeKey`, or a To Do task's etag).
    static func ref(_ item: GraphJSON?, kind: ItemKind) -> MailboxItemRef? {
        guard let id = item?["id"]?.string, !id.isEmpty else { return nil }
        let version =
            kind == .tasks ? item?["@odata.etag"]?.string : (item?["changeKey"]?.string ?? item?["@odata.etag"]?.string)
        return MailboxItemRef(id: id, changeKey: version)
    }

    /// `If-Match` for a ref's version.
    static func ifMatch(_ ref: MailboxItemRef, kind: ItemKind) -> [String: String] {
        guard let version = ref.changeKey, !version.isEmpty else { return [:] }
        return ["If-Match": version.hasPrefix("W/") || version.hasPrefix("\"") ? version : "W/\"\(version)\""]
    }

    /// Only next and delta links of the configured Graph root are followed (a cursor is never sent a token elsewhere).
    func isLink(_ text: String) -> Bool { text.hasPrefix(client.configuration.baseURL + "/") }

    // MARK: reading

    public func itemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        let target = Self.link(
            try await listing(kind, in: mailbox, after: cursor, pageSize: pageSize),
            reading: [("$select", Self.refsSelect(kind))])
        return try await refsPage(target, kind: kind, in: mailbox, pageSize: pageSize)
    }

    /// The page a cursor names (a next link of the configured Graph root), or the folder's first page of `pageSize`
    /// items (at most 1,000).
    func listing(
        _ kind: ItemKind, in mailbox: MailboxOwner, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> String {
        guard let cursor else {
            return try await collection(kind, mailbox) + Self.query([("$top", String(min(max(pageSize, 1), 1000)))])
        }
        guard isLink(cursor) else {
            throw MailboxSourceError(kind: .permanent, code: "InvalidCursor", message: "not a Graph next link")
        }
        return cursor
    }

    /// The refs of the page `target` names.
    func refsPage(
        _ target: String, kind: ItemKind, in mailbox: MailboxOwner, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        let (page, values) = try await readPage(
            target, pageSize: pageSize, operation: "GET \(kind.rawValue)", what: "list of \(kind.rawValue)", in: mailbox
        )
        return MailboxPage(
            refs: values.compactMap { Self.ref($0, kind: kind) }, nextCursor: page.body?["@odata.nextLink"]?.string,
            totalCount: nil)
    }

    /// Graph lists whole items: a page of up to 1,000 with the query that reads one whole item, one request where
    /// reading by refs takes one an item (and Exchange Online budgets requests per mailbox). A page Graph cannot
    /// answer whole (an undecodable or oversized answer, an error about the page) is read again as refs, whose items
    /// are then read one by one: only a bad item is quarantined.
    public func itemPage(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        let size = min(max(pageSize, 1), 1000)
        let page = try await listing(kind, in: mailbox, after: cursor, pageSize: size)
        var refsListing: String { Self.link(page, reading: [("$select", Self.refsSelect(kind))]) }
        let answer: GraphResponse
        do {
            answer = try await client.send(
                GraphRequest(
                    .get, Self.link(page, reading: Self.itemQueryPairs(kind)),
                    prefer: ["odata.maxpagesize=\(size)"], operation: "GET \(kind.rawValue)"),
                mailbox: mailbox.smtpAddress)
        } catch {
            let failure = Self.neutral(error)
            guard failure.kind == .permanent else { throw failure }
            return try await refsPage(refsListing, kind: kind, in: mailbox, pageSize: size)
        }
        guard let values = answer.body?["value"]?.array else {
            return try await refsPage(refsListing, kind: kind, in: mailbox, pageSize: size)
        }
        var refs: [MailboxItemRef] = []
        var items: [Result<MailboxItem, MailboxSourceError>] = []
        refs.reserveCapacity(values.count)
        items.reserveCapacity(values.count)
        for value in values {
            guard let ref = Self.ref(value, kind: kind) else {
                items.append(.failure(Self.invalid("an item without an id", kind: kind, mailbox: mailbox, id: "?")))
                continue
            }
            refs.append(ref)
            items.append(readItem(value, kind: kind, owner: mailbox, requested: ref.id))
        }
        return MailboxPage(
            refs: refs, nextCursor: answer.body?["@odata.nextLink"]?.string, totalCount: nil, items: items)
    }

    public func items(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItem, MailboxSourceError>]
    {
        if refs.isEmpty { return [] }
        let base = try await collection(kind, mailbox)
        let query = Self.itemQuery(kind)
        let requests = refs.map {
            GraphRequest(
                .get, "\(base)/\(GraphPath.segment($0.id))\(query)", operation: "GET \(kind.rawValue)", itemID: $0.id)
        }
        let results = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        return zip(refs, results).map { ref, result in
            result.mapError(Self.neutral).flatMap { response in
                guard let body = response.body else {
                    return .failure(Self.invalid("an empty answer", kind: kind, mailbox: mailbox, id: ref.id))
                }
                return readItem(body, kind: kind, owner: mailbox, requested: ref.id)
            }
        }
    }

    /// The record of an item Graph answered, unless its free text is over the configured limit.
    func readItem(
        _ body: GraphJSON, kind: ItemKind, owner: MailboxOwner, requested: String
    ) -> Result<MailboxItem, MailboxSourceError> {
        let maxBytes = client.configuration.maxItemBytes
        guard Self.textBytes(of: body) <= maxBytes else {
            return .failure(
                MailboxSourceError(
                    kind: .permanent, code: "ItemTooLarge",
                    message:
                        "Graph \(kind.rawValue) for \(owner.smtpAddress) item \(requested) is over \(maxBytes) bytes",
                    itemID: requested))
        }
        return Self.mailboxItem(body, kind: kind, owner: owner, requested: requested)
    }

    /// The size of an item's free text (its body or notes: the part of an item without a bound).
    static func textBytes(of item: GraphJSON) -> Int {
        (item["body"]?["content"]?.string?.utf8.count ?? 0) + (item["personalNotes"]?.string?.utf8.count ?? 0)
    }

    static func invalid(_ what: String, kind: ItemKind, mailbox: MailboxOwner, id: String) -> MailboxSourceError {
        MailboxSourceError(
            kind: .permanent, code: "InvalidItem",
            message: "Graph \(kind.rawValue) for \(mailbox.smtpAddress) item \(id): \(what)", itemID: id)
    }

    /// The CRM record of a Graph item, or why it cannot be one.
    static func mailboxItem(
        _ body: GraphJSON, kind: ItemKind, owner: MailboxOwner, requested: String
    ) -> Result<MailboxItem, MailboxSourceError> {
        guard body.object != nil else {
            return .failure(invalid("not an object", kind: kind, mailbox: owner, id: requested))
        }
        guard let ref = ref(body, kind: kind) else {
            return .failure(invalid("no id", kind: kind, mailbox: owner, id: requested))
        }
        let modified = GraphDates.offsetDateTime(body["lastModifiedDateTime"])
        do {
            switch kind {
            case .contacts:
                let crmID = GraphMappings.stampedID(body)
                var record = try GraphMappings.contact.record(of: body, crmID: crmID)
                if crmID == nil { record.id = UUID() }
                return .success(MailboxItem(ref: ref, crmID: crmID, lastModified: modified, record: .contact(record)))
            case .tasks:
                let crmID = GraphMappings.linkedID(body)
                var record = try GraphMappings.task.record(of: body, crmID: crmID)
                if crmID == nil { record.id = UUID() }
                record.ownerID = owner.userID
                return .success(MailboxItem(ref: ref, crmID: crmID, lastModified: modified, record: .task(record)))
            case .appointments:
                if let type = body["type"]?.string, type != "singleInstance", type != "seriesMaster" {
                    return .failure(
                        MailboxSourceError(
                            kind: .permanent, code: "UnexpectedItemType",
                            message: "not a single event or series master",
                            itemID: requested))
                }
                let crmID = GraphMappings.stampedID(body)
                var record = try GraphMappings.appointment.record(of: body, crmID: crmID)
                if crmID == nil { record.id = UUID() }
                record.ownerID = owner.userID
                record.exceptions = GraphEvents.exceptions(of: body, master: record)
                return .success(
                    MailboxItem(ref: ref, crmID: crmID, lastModified: modified, record: .appointment(record)))
            }
        } catch {
            return .failure(invalid(error.what, kind: kind, mailbox: owner, id: ref.id))
        }
    }

    // MARK: writing

    public func create(
        _ records: [MailboxRecord], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        var results = [Result<MailboxItemRef, MailboxSourceError>?](repeating: nil, count: records.count)
        var requests: [GraphRequest] = []
        var indexes: [Int] = []
        var collections: [ItemKind: String] = [:]
        for (index, record) in records.enumerated() {
            let base: String
            if let known = collections[record.kind] {
                base = known
            } else {
                base = try await collection(record.kind, mailbox)
                collections[record.kind] = base
            }
            do {
                var body: GraphJSON.Members
                switch record {
                case .contact(let c):
                    body = try GraphMappings.contact.body(c, previous: nil)
                    body["singleValueExtendedProperties"] = [
                        ["id": .string(GraphMappings.crmIDProperty), "value": .string(c.id.uuidString)]
                    ]
                case .task(let t):
                    body = try GraphMappings.task.body(t, previous: nil)
                    body["linkedResources"] = [
                        [
                            "applicationName": .string(GraphMappings.applicationName),
                            "externalId": .string(t.id.uuidString),
                            "displayName": "CRM task",
                        ]
                    ]
                    body["extensions"] = [GraphMappings.taskExtension(t)]
                case .appointment(let a):
                    body = try GraphMappings.appointment.body(a, previous: nil)
                    body["singleValueExtendedProperties"] = GraphMappings.eventProperties(a, stamp: true)
                    body["transactionId"] = .string(a.id.uuidString)
                }
                // An event's transactionId makes a repeated POST return the first event: safe to resend.
                var request = GraphRequest(
                    .post, base, body: .object(body), operation: "POST \(record.kind.rawValue)",
                    isIdempotent: record.kind == .appointments)
                request.keeping = Self.refMembers  // Graph answers the whole item: only its ref is used
                requests.append(request)
                indexes.append(index)
            } catch {
                results[index] = .failure(
                    MailboxSourceError(
                        kind: .permanent, code: "InvalidRecord",
                        message:
                            "CRM \(record.kind.rawValue) for \(mailbox.smtpAddress) cannot be written to Graph: \(error.what)"
                    ))
            }
        }
        let answers = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        for (index, answer) in zip(indexes, answers) {
            let kind = records[index].kind
            results[index] = answer.mapError(Self.neutral).flatMap { response in
                guard let ref = Self.ref(response.body, kind: kind) else {
                    return .failure(
                        MailboxSourceError(
                            kind: .permanent, code: "UndecodableResponse", message: "Graph create without id"))
                }
                return .success(ref)
            }
        }
        // A series' exceptions go occurrence by occurrence once its master exists.
        var series: [(index: Int, series: GraphEvents.Series)] = []
        for (index, record) in records.enumerated() {
            guard case .appointment(let a) = record, !a.exceptions.isEmpty, a.recurrence != nil,
                case .success(let ref)? = results[index]
            else { continue }
            series.append((index, GraphEvents.Series(record: a, previous: nil, master: ref)))
        }
        await applyExceptions(series, to: &results, in: mailbox)
        return results.map { $0! }
    }

    public func update(
        _ updates: [MailboxUpdate], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError)
        -> [Result<MailboxItemRef, MailboxSourceError>]
    {
        var results = [Result<MailboxItemRef, MailboxSourceError>?](repeating: nil, count: updates.count)
        var requests: [GraphRequest] = []
        var indexes: [Int] = []
        for (index, update) in updates.enumerated() {
            let kind = update.record.kind
            let base = try await collection(kind, mailbox)
            do {
                var body: GraphJSON.Members
                switch (update.record, update.previous) {
                case (.contact(let c), .contact(let p)?): body = try GraphMappings.contact.body(c, previous: p)
                case (.contact(let c), _): body = try GraphMappings.contact.body(c, previous: nil)
                case (.task(let t), .task(let p)?): body = try GraphMappings.task.body(t, previous: p)
                case (.task(let t), _): body = try GraphMappings.task.body(t, previous: nil)
                case (.appointment(let a), .appointment(let p)?):
                    body = try GraphMappings.appointment.body(a, previous: p)
                case (.appointment(let a), _): body = try GraphMappings.appointment.body(a, previous: nil)
                }
                if case .appointment(let a) = update.record {
                    var previousUID: String?
                    if case .appointment(let p)? = update.previous {
                        previousUID = p.icalUID
                    } else {
                        previousUID = nil
                    }
                    if update.previous == nil || previousUID != a.icalUID,
                        let properties = GraphMappings.eventProperties(a, stamp: false)
                    {
                        body["singleValueExtendedProperties"] = properties
                    }
                }
                var request = GraphRequest(
                    .patch, "\(base)/\(GraphPath.segment(update.ref.id))", body: .object(body),
                    headers: Self.ifMatch(update.ref, kind: kind), operation: "PATCH \(kind.rawValue)",
                    itemID: update.ref.id)
                request.keeping = Self.refMembers
                requests.append(request)
                indexes.append(index)
            } catch {
                results[index] = .failure(
                    MailboxSourceError(
                        kind: .permanent, code: "InvalidRecord",
                        message:
                            "CRM \(kind.rawValue) for \(mailbox.smtpAddress) cannot be written to Graph: \(error.what)",
                        itemID: update.ref.id))
            }
        }
        let answers = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        for (index, answer) in zip(indexes, answers) {
            let kind = updates[index].record.kind
            results[index] = answer.mapError(Self.neutral).map { Self.ref($0.body, kind: kind) ?? updates[index].ref }
        }
        try await writeTaskPercentages(updates, results: &results, in: mailbox)
        var series: [(index: Int, series: GraphEvents.Series)] = []
        for (index, update) in updates.enumerated() {
            guard case .appointment(let a) = update.record, a.recurrence != nil,
                case .success(let ref)? = results[index]
            else { continue }
            var previous: CRMAppointment?
            if case .appointment(let p)? = update.previous { previous = p }
            if a.exceptions.isEmpty && (previous?.exceptions.isEmpty ?? true) { continue }
            series.append((index, GraphEvents.Series(record: a, previous: previous, master: ref)))
        }
        await applyExceptions(series, to: &results, in: mailbox)
        return results.map { $0! }
    }

    /// Writes the exceptions of the written series, all together, into their results.
    func applyExceptions(
        _ series: [(index: Int, series: GraphEvents.Series)],
        to results: inout [Result<MailboxItemRef, MailboxSourceError>?], in mailbox: MailboxOwner
    ) async {
        guard !series.isEmpty else { return }
        let applied = await GraphEvents.apply(series.map(\.series), source: self, mailbox: mailbox)
        for ((index, _), result) in zip(series, applied) { results[index] = result }
    }

    /// Writes the percentage extension of each task (To Do keeps a task's percentage nowhere else), for tasks EWS
    /// wrote before the mailbox was switched to Graph.
    public func carryOver(
        _ items: [(ref: MailboxItemRef, record: MailboxRecord)], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>] {
        var results: [Result<MailboxItemRef, MailboxSourceError>?] = items.map { .success($0.ref) }
        try await writeTaskPercentages(
            items.map { MailboxUpdate(ref: $0.ref, record: $0.record) }, results: &results, in: mailbox)
        return results.map { $0! }
    }

    /// Writes the percentage extension of each updated task whose percentage changed (after its PATCH succeeded),
    /// creating the extension on a task that has none, then reads the task's new version: the extension is part of
    /// the task, so writing it changes the task's etag.
    func writeTaskPercentages(
        _ updates: [MailboxUpdate], results: inout [Result<MailboxItemRef, MailboxSourceError>?],
        in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) {
        var changed: [(index: Int, ref: MailboxItemRef, task: CRMTask)] = []
        for (index, update) in updates.enumerated() {
            guard case .task(let t) = update.record, case .success(let ref)? = results[index] else { continue }
            if case .task(let p)? = update.previous, p.percentComplete == t.percentComplete { continue }
            changed.append((index, ref, t))
        }
        if changed.isEmpty { return }
        let base = try await collection(.tasks, mailbox)
        func path(_ ref: MailboxItemRef) -> String { "\(base)/\(GraphPath.segment(ref.id))/extensions" }
        func send(_ requests: [GraphRequest]) async throws(MailboxSourceError) -> [Result<GraphResponse, GraphError>] {
            try await neutral { () async throws(GraphError) in
                try await client.batch(requests, mailbox: mailbox.smtpAddress)
            }
        }
        let patched = try await send(
            changed.map {
                GraphRequest(
                    .patch, path($0.ref) + "/" + GraphPath.segment(GraphMappings.taskExtensionName),
                    body: GraphMappings.taskExtension($0.task), operation: "PATCH tasks extension", itemID: $0.ref.id)
            })
        var missing: [Int] = []
        var written: [Int] = []
        for (n, answer) in patched.enumerated() {
            switch answer {
            case .success: written.append(n)
            case .failure(let error) where Self.neutral(error).kind == .notFound: missing.append(n)
            case .failure(let error): results[changed[n].index] = .failure(Self.neutral(error))
            }
        }
        let created = try await send(
            missing.map {
                GraphRequest(
                    .post, path(changed[$0].ref), body: GraphMappings.taskExtension(changed[$0].task),
                    operation: "POST tasks extension", itemID: changed[$0].ref.id, isIdempotent: true)
            })
        for (n, answer) in zip(missing, created) {
            switch answer {
            case .success: written.append(n)
            case .failure(let error): results[changed[n].index] = .failure(Self.neutral(error))
            }
        }
        written.sort()
        let versions = try await send(
            written.map {
                GraphRequest(
                    .get, "\(base)/\(GraphPath.segment(changed[$0].ref.id))" + Self.query([("$select", "id")]),
                    operation: "GET tasks", itemID: changed[$0].ref.id)
            })
        for (n, answer) in zip(written, versions) {
            results[changed[n].index] = answer.mapError(Self.neutral).map {
                Self.ref($0.body, kind: .tasks) ?? changed[n].ref
            }
        }
    }

    public func delete(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError)
        -> [Result<Void, MailboxSourceError>]
    {
        if refs.isEmpty { return [] }
        let base = try await collection(kind, mailbox)
        let requests = refs.map {
            GraphRequest(
                .delete, "\(base)/\(GraphPath.segment($0.id))", operation: "DELETE \(kind.rawValue)", itemID: $0.id)
        }
        let answers = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        return answers.map { $0.map { _ in () }.mapError(Self.neutral) }
    }

    // MARK: stamps

    public func findItems(
        crmIDs: [UUID], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: MailboxItemRef] {
        if crmIDs.isEmpty { return [:] }
        if kind == .tasks {
            // To Do cannot filter by linked resource: the list's stamps are read whole.
            let wanted = Set(crmIDs)
            return try await stampedItems(in: mailbox, kind: kind).filter { wanted.contains($0.key) }.compactMapValues(
                \.first)
        }
        let base = try await collection(kind, mailbox)
        let requests = crmIDs.map { id in
            GraphRequest(
                .get,
                base
                    + Self.query([
                        (
                            "$filter",
                            "singleValueExtendedProperties/Any(ep: ep/id eq '\(GraphMappings.crmIDProperty)' and ep/value eq '\(id.uuidString)')"
                        ),
                        ("$select", "id,changeKey"),
                    ]), operation: "GET \(kind.rawValue) by stamp")
        }
        let answers = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        var found: [UUID: MailboxItemRef] = [:]
        for (id, answer) in zip(crmIDs, answers) {
            let response = try Self.neutralResult(answer)
            if let ref = response.body?["value"]?.array?.first.flatMap({ Self.ref($0, kind: kind) }) { found[id] = ref }
        }
        return found
    }

    public func stampedItems(
        in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: [MailboxItemRef]] {
        let base = try await collection(kind, mailbox)
        var target: String? =
            base
            + (kind == .tasks
                ? Self.query([("$expand", "linkedResources"), ("$top", "1000")])
                : Self.query([("$select", "id,changeKey"), ("$expand", Self.stampExpand), ("$top", "1000")]))
        var stamped: [UUID: [MailboxItemRef]] = [:]
        while let next = target {
            let page = try await neutral { () async throws(GraphError) in
                try await client.send(
                    GraphRequest(
                        .get, next, prefer: ["odata.maxpagesize=1000"], operation: "GET \(kind.rawValue) stamps"),
                    mailbox: mailbox.smtpAddress)
            }
            for item in page.body?["value"]?.array ?? [] {
                guard let ref = Self.ref(item, kind: kind),
                    let id = kind == .tasks ? GraphMappings.linkedID(item) : GraphMappings.stampedID(item)
                else { continue }
                stamped[id, default: []].append(ref)
            }
            target = page.body?["@odata.nextLink"]?.string
            if let link = target, !isLink(link) { target = nil }
        }
        return stamped
    }

    // MARK: changes

    /// What a delta page is read for: the links, and of each entry what says which item changed how.
    static let deltaMembers: Set<String> = [
        "value", "@odata.nextLink", "@odata.deltaLink", "id", "@removed", "type", "seriesMasterId", "changeKey",
        "@odata.etag",
    ]

    public func changes(
        in mailbox: MailboxOwner, kind: ItemKind, since syncState: String?, window: MailboxChangeWindow,
        maxChanges: Int
    ) async throws(MailboxSourceError) -> MailboxChanges {
        let target: String
        if let syncState {
            // A state of another protocol (an EWS SyncState) is no state here: the folder needs a new baseline.
            guard isLink(syncState) else {
                throw MailboxSourceError(
                    kind: .invalidSyncState, code: "SyncStateNotFound", message: "not a Graph delta link")
            }
            target = syncState
        } else {
            switch kind {
            case .contacts:
                target =
                    GraphClient.user(mailbox.smtpAddress) + "/contacts/delta"
                    + Self.query([("$select", "id,changeKey")])
            case .tasks: target = try await collection(kind, mailbox) + "/delta"
            case .appointments:
                target =
                    GraphClient.user(mailbox.smtpAddress) + "/calendarView/delta"
                    + Self.query([
                        ("startDateTime", ISO8601.format(window.start)), ("endDateTime", ISO8601.format(window.end)),
                    ])
            }
        }
        let (page, values) = try await readPage(
            target, pageSize: maxChanges, operation: "GET \(kind.rawValue) delta", what: "delta of \(kind.rawValue)",
            keeping: Self.deltaMembers, in: mailbox)
        var changes: [MailboxChange] = []
        var seen = Set<String>()  // delta may repeat an item within a page
        for value in values {
            guard let id = value["id"]?.string else { continue }
            if value["@removed"] != nil {
                if seen.insert("-" + id).inserted { changes.append(.deleted(id: id)) }
                continue
            }
            // An occurrence or exception stands for its series: the master is what the pipeline reads.
            if kind == .appointments, let type = value["type"]?.string, type == "occurrence" || type == "exception" {
                if let master = value["seriesMasterId"]?.string, seen.insert(master).inserted {
                    changes.append(.upserted(MailboxItemRef(id: master)))
                }
                continue
            }
            if seen.insert(id).inserted {
                changes.append(.upserted(Self.ref(value, kind: kind) ?? MailboxItemRef(id: id)))
            }
        }
        if kind == .appointments { changes = try await confirmRemovals(changes, in: mailbox) }
        if let next = page.body?["@odata.nextLink"]?.string {
            return MailboxChanges(changes: changes, syncState: next, isComplete: false)
        }
        guard let delta = page.body?["@odata.deltaLink"]?.string else {
            throw MailboxSourceError(
                kind: .permanent, code: "UndecodableResponse", message: "Graph delta page without a next or delta link")
        }
        return MailboxChanges(changes: changes, syncState: delta, isComplete: true)
    }

    /// `calendarView/delta` also removes events that moved out of its window: an event it removed that still exists
    /// is a change, not a deletion (and an occurrence it removed is its series' change, reported with the series).
    func confirmRemovals(
        _ changes: [MailboxChange], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [MailboxChange] {
        let removed = changes.compactMap { if case .deleted(let id) = $0 { id } else { nil } }
        if removed.isEmpty { return changes }
        let base = try await collection(.appointments, mailbox)
        let requests = removed.map { id in
            GraphRequest(
                .get, "\(base)/\(GraphPath.segment(id))" + Self.query([("$select", "id,changeKey,type")]),
                operation: "GET events", itemID: id)
        }
        let answers = try await neutral { () async throws(GraphError) in
            try await client.batch(requests, mailbox: mailbox.smtpAddress)
        }
        var existing: [String: MailboxChange?] = [:]
        for (id, answer) in zip(removed, answers) {
            switch answer {
            case .success(let response):
                let type = response.body?["type"]?.string
                existing[id] =
                    type == "occurrence" || type == "exception"
                    ? .some(nil)
                    : .some(.upserted(Self.ref(response.body, kind: .appointments) ?? MailboxItemRef(id: id)))
            case .failure(let error):
                let neutral = Self.neutral(error)
                if neutral.kind != .notFound { throw neutral }
            }
        }
        return changes.compactMap { change in
            guard case .deleted(let id) = change, let replacement = existing[id] else { return change }
            return replacement
        }
    }

    // MARK: errors

    /// The neutral classification of a Graph error.
    public static func neutral(_ error: GraphError) -> MailboxSourceError {
        let kind: MailboxSourceError.Kind
        let code: String
        switch error.code {
        case .service(let status, let graphCode):
            code = graphCode
            switch (status, graphCode) {
            case (410, _), (_, "SyncStateNotFound"), (_, "resyncRequired"), (_, "SyncStateInvalid"),
                (_, "ErrorInvalidSyncStateData"):
                kind = .invalidSyncState
            case (401, _): kind = .unauthorized
            // Outside the app's mailbox scope ("Access to OData is disabled"), or a mailbox without REST.
            case (403, _), (_, "MailboxNotEnabledForRESTAPI"), (_, "ErrorAccessDenied"): kind = .mailboxRefused
            case (404, _), (_, "ErrorItemNotFound"): kind = .notFound
            case (409, _), (412, _), (_, "ErrorIrresolvableConflict"): kind = .conflict
            case (429, _), (500..., _): kind = .transient
            default: kind = .permanent
            }
        case .transport(let what, _): kind = .transient; code = "transport \(what)"
        case .decoding: kind = .permanent; code = "UndecodableResponse"
        case .tokenRefused(let what): kind = .unauthorized; code = what
        case .configuration: kind = .unauthorized; code = "configuration"
        }
        return MailboxSourceError(
            kind: kind, code: code, message: error.description, itemID: error.itemID, retryAfter: error.retryAfter)
    }

    static func neutralResult<T>(_ result: Result<T, GraphError>) throws(MailboxSourceError) -> T {
        switch result {
        case .success(let value): return value
        case .failure(let error): throw neutral(error)
        }
    }

    func neutral<T>(_ body: () async throws(GraphError) -> T) async throws(MailboxSourceError) -> T {
        do { return try await body() } catch { throw Self.neutral(error) }
    }

    /// GETs one page of a collection or delta (at most `pageSize` items, 1...1,000) and its `value` array; a page
    /// without one is an undecodable response naming `what` and the mailbox.
    func readPage(
        _ target: String, pageSize: Int, operation: String, what: String, keeping: Set<String>? = nil,
        in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> (page: GraphResponse, values: [GraphJSON]) {
        var request = GraphRequest(
            .get, target, prefer: ["odata.maxpagesize=\(min(max(pageSize, 1), 1000))"], operation: operation)
        request.keeping = keeping
        let page = try await neutral { () async throws(GraphError) in
            try await client.send(request, mailbox: mailbox.smtpAddress)
        }
        guard let values = page.body?["value"]?.array else {
            throw MailboxSourceError(
                kind: .permanent, code: "UndecodableResponse",
                message: "Graph \(what) for \(mailbox.smtpAddress) without value")
        }
        return (page, values)
    }
}

/// The default To Do list of each mailbox, looked up once.
actor GraphTaskListCache {
    private var lists: [String: String] = [:]
    func list(of mailbox: String) -> String? { lists[mailbox.lowercased()] }
    func remember(_ list: String, of mailbox: String) { lists[mailbox.lowercased()] = list }
}

import Foundation

/// One Graph request as the front-end sees it: after authentication, before faults.
struct GraphRequest: Sendable {
    var method: String
    /// The path after `/v1.0`, still percent-encoded (`/users/a%40b.com/contacts`).
    var path: String
    /// Query options in order, percent-decoded.
    var query: [(String, String)]
    /// Request headers, names lower-cased.
    var headers: [String: String]
    var body: Data
    /// The body already parsed (a request of a `$batch`, parsed with the batch).
    var parsedBody: JSON?
    /// `http://host:port` the request came to (links are absolute on it).
    var base: String
    var clientId: String
    /// The mailbox the user segment names, when the HTTP layer resolved it already (for throttling).
    var mailbox: String?
    /// What routing reads of `path`, when the HTTP layer looked it up already (for throttling).
    var route: GraphService.PathRoute?

    var requestId: String = RandomUUID.lowercased()
    var clientRequestId: String? { headers["client-request-id"] }

    func header(_ name: String) -> String? { headers[name] }

    /// A path segment percent-decoded (as it is when it cannot be decoded).
    static func decoded<S: StringProtocol>(_ segment: S) -> String {
        percentDecoded(segment) ?? String(segment)
    }

    /// `text` percent-decoded, with `+` read as a space when `plusAsSpace`, as Foundation's `removingPercentEncoding`
    /// decodes it: nil for a `%` without two hex digits after it, or for bytes that are not UTF-8. Done on the UTF-8
    /// bytes, without Foundation's NSString bridging, and without a copy when there is nothing to decode.
    static func percentDecoded<S: StringProtocol>(_ text: S, plusAsSpace: Bool = false) -> String? {
        let utf8 = text.utf8
        let percent = UInt8(ascii: "%"), plus = UInt8(ascii: "+")
        // Ids in paths run to a hundred bytes and more: looked through with memchr where the text is contiguous.
        let plain =
            utf8.withContiguousStorageIfAvailable { bytes in
                guard let base = bytes.baseAddress else { return true }
                return memchr(base, Int32(percent), bytes.count) == nil
                    && (!plusAsSpace || memchr(base, Int32(plus), bytes.count) == nil)
            } ?? !utf8.contains(where: { $0 == percent || (plusAsSpace && $0 == plus) })
        guard !plain else { return String(text) }
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let b = utf8[i]
            i = utf8.index(after: i)
            if b == percent {
                guard i != utf8.endIndex, let high = hex(utf8[i]) else { return nil }
                i = utf8.index(after: i)
                guard i != utf8.endIndex, let low = hex(utf8[i]) else { return nil }
                i = utf8.index(after: i)
                out.append(high << 4 | low)
            } else if plusAsSpace, b == plus {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The non-empty `/`-separated segments of `path`, split on its UTF-8 bytes.
    static func segments(_ path: String) -> [Substring] {
        var out: [Substring] = []
        let utf8 = path.utf8
        var start = utf8.startIndex
        while start != utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            if start != end { out.append(path[start..<end]) }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
        return out
    }

    /// Splits `path?query` (`uri`) into the path and its decoded query options (`+` a space; an option that does not
    /// decode kept as written), reading the UTF-8 bytes.
    static func split(_ uri: String) -> (path: String, query: [(String, String)]) {
        let utf8 = uri.utf8
        guard let mark = utf8.firstIndex(of: UInt8(ascii: "?")) else { return (uri, []) }
        var query: [(String, String)] = []
        var start = utf8.index(after: mark)
        while start != utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "&")) ?? utf8.endIndex
            if start != end {
                let pair = uri[start..<end]
                if let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                    let key = pair[..<equals], value = pair[pair.utf8.index(after: equals)...]
                    query.append(
                        (
                            percentDecoded(key, plusAsSpace: true) ?? String(key),
                            percentDecoded(value, plusAsSpace: true) ?? String(value)
                        ))
                } else {
                    query.append((percentDecoded(pair, plusAsSpace: true) ?? String(pair), ""))
                }
            }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
        return (String(uri[..<mark]), query)
    }
}

/// A Graph response: status, headers and JSON body (nil for 204 and the like).
struct GraphResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: JSON?
}

/// The client's `Prefer` header: page size, time zone, body type and id type.
struct GraphPreferences: Sendable {
    var maxPageSize: Int?
    var timeZone = GraphTimeZone.utc
    var timeZoneGiven = false
    var bodyContentType: String?
    var immutableIds = false
    var applied: [String] = []

    /// The preferences of a `Prefer` header, parsed once per distinct text.
    static func parsed(_ header: String?) throws(GraphError) -> GraphPreferences {
        guard let header else { return GraphPreferences() }
        return try memo(header).get()
    }

    static let memo = TextMemo { header in
        Result { () throws(GraphError) in try GraphPreferences(header) }
    }

    init() {}

    init(_ header: String?) throws(GraphError) {
        guard let header else { return }
        for raw in Self.items(header) {
            let kv = raw.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let name = kv[0].lowercased()
            let value = kv.count > 1 ? kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) : ""
            switch name {
            case "odata.maxpagesize":
                if let n = Int(value), n > 0 {
                    maxPageSize = min(n, 1000); applied.append("odata.maxpagesize=\(min(n, 1000))")
                }
            case "outlook.timezone":
                guard let z = GraphTimeZone(value) else { throw GraphTimeZone.unsupported(value) }
                timeZone = z; timeZoneGiven = true
                applied.append("outlook.timezone=\"\(value)\"")
            case "outlook.body-content-type":
                let v = value.lowercased()
                if v == "text" || v == "html" {
                    bodyContentType = v; applied.append("outlook.body-content-type=\"\(v)\"")
                }
            case "idtype":
                immutableIds = value.lowercased() == "immutableid"
            default:
                continue  // other preferences (return=minimal, odata.track-changes) are ignored, as by the service
            }
        }
    }

    /// Comma-separated preferences; commas inside quotes belong to the value.
    static func items(_ header: String) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        for c in header {
            if c == "\"" { quoted.toggle() }
            if c == ",", !quoted { out.append(cur.trimmingCharacters(in: .whitespaces)); cur = ""; continue }
            cur.append(c)
        }
        if !cur.trimmingCharacters(in: .whitespaces).isEmpty { out.append(cur.trimmingCharacters(in: .whitespaces)) }
        return out
    }
}

/// The OData system query options of a request, checked against what the target supports.
struct GraphQuery: Sendable {
    var select: [String]? { didSet { selected = select.map { SelectedNames(Set($0)) } } }
    /// `$select`'s names, ready for the entity writers (nil without `$select`).
    private(set) var selected: SelectedNames?
    var top: Int?
    var skip: Int?
    var filter: String?
    /// `$expand` as written; `expansion` is its parsed form.
    var expand: String? { didSet { expansion = expand.map(GraphExpansion.parsed) } }
    private(set) var expansion: GraphExpansion?
    var orderBy: String?
    var skipToken: String?
    var deltaToken: String?
    var parameters: [String: String] = [:]

    static let known: Set<String> = [
        "$select", "$top", "$skip", "$filter", "$expand", "$orderby", "$skiptoken", "$deltatoken",
    ]

    static let selectMemo = TextMemo { v in
        let names = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return (names, SelectedNames(Set(names)))
    }

    init(_ options: [(String, String)]) throws(GraphError) {
        for (k, v) in options {
            let key = k.lowercased()
            if key.hasPrefix("$"), !Self.known.contains(key) {
                throw GraphError.badRequest("Query option '\(k)' is not supported.")
            }
            switch key {
            case "$select": (select, selected) = Self.selectMemo(v)
            case "$top":
                guard let n = Int(v), n >= 0 else {
                    throw GraphError.badRequest("Invalid value '\(v)' for query option '$top'.")
                }
                top = n
            case "$skip":
                guard let n = Int(v), n >= 0 else {
                    throw GraphError.badRequest("Invalid value '\(v)' for query option '$skip'.")
                }
                skip = n
            case "$filter": filter = v
            case "$expand": expand = v; expansion = GraphExpansion.parsed(v)
            case "$orderby": orderBy = v
            case "$skiptoken": skipToken = v
            case "$deltatoken": deltaToken = v
            default: parameters[k] = v
            }
        }
    }
}

/// Microsoft Graph v1.0 over the store: the second front-end of the same mailboxes EWS serves. Pure
/// request-in, response-out; the HTTP layer does transport, authentication and faults.
struct GraphService: Sendable {
    let store: Store
    let auth: GraphAuth
    var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    let calendarDeltaRounds = CalendarDeltaRounds()

    /// What one request is about, once its user segment is resolved.
    struct Context {
        var request: GraphRequest
        /// The mailbox address (lower-cased) and the user segment as the client wrote it (decoded, and as written).
        var mailbox: String
        var user: String
        var userSegment: String
        var prefs: GraphPreferences
        var query: GraphQuery

        /// `{base}/v1.0/$metadata#users('{user}')/` + `rest`.
        func context(_ rest: String) -> JSON { .string(request.base + "/v1.0/$metadata#" + rest) }
        var userContext: String { "users('\(user)')" }
        /// `/users/{id}` as the client wrote it (still percent-encoded), the start of links.
        var userPath: String { "/users/" + userSegment }
        /// An absolute link on the host the request came to.
        func link(_ pathAndQuery: String) -> JSON { .string(request.base + "/v1.0" + pathAndQuery) }
        func id(_ mailbox: String, _ number: UInt64) -> String {
            GraphIdentifier.id(mailbox: mailbox, number: number, immutable: prefs.immutableIds)
        }
    }

    /// The mailbox a `users/{id}` segment names (an address, or the REST id of the user).
    func resolveUser(_ segment: String) throws(GraphError) -> String {
        let decoded = GraphRequest.decoded(segment).lowercased()
        let found = store.withState { s -> String? in
            if s.mailbox(decoded) != nil { return decoded }
            guard UUID(uuidString: decoded) != nil else { return nil }
            return s.mailboxes.keys.first { GraphIdentifier.userId($0) == decoded }
        }
        if let found { return found }
        throw GraphError(
            404, "ErrorInvalidUser", "The requested user '\(segment.removingPercentEncoding ?? segment)' is invalid.")
    }

    /// The mailbox a request on `route` targets (its user segment resolved, nil when it names none), and the key it
    /// is throttled by ("" for none).
    func throttlingMailbox(_ route: PathRoute) -> (resolved: String?, key: String) {
        guard let user = route.user else { return (nil, "") }
        let resolved = try? resolveUser(user)
        return (resolved, resolved ?? user)
    }

    /// What routing reads of a request path, worked out once per distinct path (TextMemo) rather than three times per
    /// request (throttling, fault rules, routing): the requests of a `$batch` mostly share theirs.
    struct PathRoute: Sendable {
        /// The segments, a function's empty parentheses dropped (`delta()`, as the SDKs write them).
        var segments: [String]
        /// The user (mailbox) the path targets, decoded and lower-cased; nil for none.
        var user: String?
        /// The resource names of the path after the user (`todo/lists/tasks`), for the operation's name.
        var resource: String

        init(_ path: String) {
            let raw = GraphRequest.segments(path)
            segments = raw.map { $0.hasSuffix("()") ? String($0.dropLast(2)) : String($0) }
            user = raw.count >= 2 && raw[0] == "users" ? GraphRequest.decoded(raw[1]).lowercased() : nil
            resource = segments.dropFirst(2).filter { resourceNames.contains($0) }.joined(separator: "/")
        }

        static let memo = TextMemo(limit: 256) { PathRoute($0) }
    }

    /// A name for the request's operation (`POST contacts`), the unit of fault rules and counters.
    static func operation(method: String, route: PathRoute) -> String {
        if route.segments.first == "$batch" { return "POST $batch" }
        return method + " " + route.resource
    }

    static let resourceNames: Set<String> = [
        "contacts", "contactFolders", "events", "calendarView", "delta", "instances", "todo", "lists", "tasks",
        "linkedResources", "extensions", "translateExchangeIds", "calendar",
    ]

    func handle(_ request: GraphRequest) -> GraphResponse {
        do {
            return try route(request)
        } catch {
            return Self.failure(error, request)
        }
    }

    static func failure(_ error: GraphError, _ request: GraphRequest) -> GraphResponse {
        let body = try? JSONParser.parse(
            Data(
                error.body(
                    requestId: request.requestId, clientRequestId: request.clientRequestId,
                    date: Date().timeIntervalSince1970)))
        return GraphResponse(status: error.status, headers: error.headers, body: body)
    }

    private func route(_ request: GraphRequest) throws(GraphError) -> GraphResponse {
        let segments = (request.route ?? PathRoute.memo(request.path)).segments
        guard let first = segments.first else { throw GraphError.badRequest("Invalid request.") }
        switch first {
        case "me":
            throw GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        case "users":
            guard segments.count >= 2 else {
                throw GraphError(
                    403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
            }
            let mailbox: String
            if let resolved = request.mailbox { mailbox = resolved } else { mailbox = try resolveUser(segments[1]) }
            try auth.authorize(clientId: request.clientId, mailbox: mailbox)
            if segments.count == 2 { return try getUser(mailbox, request) }
            let prefs = try GraphPreferences.parsed(request.header("prefer"))
            var ctx = Context(
                request: request, mailbox: mailbox, user: GraphRequest.decoded(segments[1]), userSegment: segments[1],
                prefs: prefs, query: try GraphQuery(request.query))
            var response = try routeUser(Array(segments.dropFirst(2)), &ctx)
            if !ctx.prefs.applied.isEmpty {
                response.headers.append(("Preference-Applied", ctx.prefs.applied.joined(separator: ", ")))
            }
            return response
        default:
            throw GraphError.resourceNotFound(first)
        }
    }

    private func routeUser(_ s: [String], _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let method = ctx.request.method
        switch (s.first ?? "", s.count) {
        case ("contacts", _), ("contactFolders", _):
            return try routeContacts(s, &ctx)
        case ("events", _), ("calendarView", _), ("calendar", _):
            return try routeEvents(s, &ctx)
        case ("todo", _):
            return try routeTodo(s, &ctx)
        case ("translateExchangeIds", 1):
            guard method == "POST" else { throw GraphError.methodNotAllowed() }
            return try translateExchangeIds(&ctx)
        default:
            throw GraphError.resourceNotFound(s.first ?? "")
        }
    }

    /// `GET /users/{id}`: the user of a mailbox (id, UPN, mail, display name).
    func getUser(_ mailbox: String, _ request: GraphRequest) throws(GraphError) -> GraphResponse {
        guard request.method == "GET" else { throw GraphError.methodNotAllowed() }
        let name = store.withState { $0.mailbox(mailbox)?.displayName } ?? mailbox
        return GraphResponse(
            status: 200,
            body: .object([
                ("@odata.context", .string(request.base + "/v1.0/$metadata#users/$entity")),
                ("id", .string(GraphIdentifier.userId(mailbox))), ("userPrincipalName", .string(mailbox)),
                ("mail", .string(mailbox)),
                ("displayName", .string(name)),
            ]))
    }

    // MARK: shared pieces

    /// The store key of the folder a Graph folder id (percent-decoded already) names when it is `root` of
    /// `mailbox` or a folder right below it; nil when it names another; Graph's 400 when it is no folder id.
    func folder(_ id: String, under root: String, of mailbox: String) throws(GraphError) -> String? {
        guard let (owner, key) = GraphIdentifier.parseFolder(id) else { throw GraphError.invalidId() }
        guard owner == mailbox else { return nil }
        let found = key == root || store.withState { s in s.mailbox(owner)?.folders[key]?.parent == root }
        return found ? key : nil
    }

    /// The body of a POST or PATCH as a JSON object, or Graph's 400.
    static func bodyObject(_ request: GraphRequest) throws(GraphError) -> [(String, JSON)] {
        if let parsed = request.parsedBody {
            guard let m = parsed.members else { throw GraphError.badRequest("The request body must be a JSON object.") }
            return m
        }
        guard !request.body.isEmpty else { throw GraphError.badRequest("Empty Payload. JSON content expected.") }
        let v: JSON
        do { v = try JSONParser.parse(request.body) } catch {
            throw GraphError.badRequest(
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. \(error.message)"
            )
        }
        guard let m = v.members else { throw GraphError.badRequest("The request body must be a JSON object.") }
        return m
    }

    /// Applies `$select` to an entity's members: `id` and annotations stay, unknown names are a 400.
    static func select(
        _ members: [(String, JSON)], _ select: [String]?, known: Set<String>, type: String
    ) throws(GraphError) -> [(String, JSON)] {
        guard let select else { return members }
        for s in select where !known.contains(s) {
            throw GraphError(
                400, "RequestBroker--ParseUri", "Could not find a property named '\(s)' on type '\(type)'.")
        }
        let wanted = Set(select)
        return members.filter { $0.0.hasPrefix("@") || $0.0 == "id" || wanted.contains($0.0) }
    }

    /// A 400 for a `$select` naming a property the type does not have (before any item is read).
    static func checkSelect(_ ctx: Context, known: Set<String>, type: String) throws(GraphError) {
        _ = try select([], ctx.query.select, known: known, type: type)
    }

    /// The page size a list answers with: `$top`, else `Prefer: odata.maxpagesize`, else 10 (as Outlook's APIs).
    static func pageSize(_ ctx: Context, maximum: Int = 1000) -> Int {
        min(ctx.query.top ?? ctx.prefs.maxPageSize ?? 10, maximum)
    }

    /// A collection page: `@odata.context`, `value` and an absolute `@odata.nextLink` when more remain.
    static func page(_ ctx: Context, context: String, values: [JSON], nextSkip: Int?, path: String) -> GraphResponse {
        var members: [(String, JSON)] = [("@odata.context", ctx.context(context)), ("value", .array(values))]
        if let nextSkip {
            var q = ctx.request.query.filter { $0.0.lowercased() != "$skip" && $0.0.lowercased() != "$top" }
            q.append(("$top", String(pageSize(ctx))))
            q.append(("$skip", String(nextSkip)))
            members.append(("@odata.nextLink", ctx.link(path + "?" + encodeQuery(q))))
        }
        return GraphResponse(status: 200, body: .object(members))
    }

    static func encodeQuery(_ q: [(String, String)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        return q.map {
            "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)"
        }
        .joined(separator: "&")
    }

    /// Finds a stored item of `kind` in `mailbox` by Graph id; 400 for a malformed id, 404 for an unknown one.
    static func lookup(
        _ id: String, kind: ExchangeItemType, mailbox: String, in s: StoreState
    ) throws(GraphError) -> StoredItem {
        guard let target = GraphIdentifier.parse(GraphRequest.decoded(id)) else { throw GraphError.invalidId() }
        guard case .item(let mb, let number) = target, mb == mailbox,
            let m = s.mailbox(mailbox), let folder = m.locations[number], let item = m.folders[folder]?.items[number],
            item.kind == kind, folder != "deleteditems"
        else { throw GraphError.itemNotFound() }
        return item
    }

    /// `$expand=singleValueExtendedProperties($filter=id eq '...')`: the expanded properties of `item`, or nil when
    /// not expanded. Other expansions are a 400 unless `allowed` names them.
    static func expandedExtended(_ ctx: Context, _ item: StoredItem) throws(GraphError) -> JSON? {
        guard let expansion = ctx.query.expansion else { return nil }
        for part in expansion.parts where part.text.hasPrefix("singleValueExtendedProperties") {
            _ = try part.filterIds.get()
            let keys = part.extendedKeys
            let values = item.extended.filter { keys?.contains($0.key) ?? true }.compactMap(GraphExtendedProperty.json)
            return .array(values)
        }
        return nil
    }

    /// Checks `$expand` names only what `allowed` lists.
    static func checkExpand(_ ctx: Context, allowed: Set<String>) throws(GraphError) {
        guard let expansion = ctx.query.expansion else { return }
        for part in expansion.parts {
            let name = part.name
            guard allowed.contains(name) else {
                throw GraphError(
                    400, "BadRequest",
                    "Parsing OData Select and Expand failed: Could not find a property named '\(name)' on type 'microsoft.graph.\(allowed.contains("exceptionOccurrences") ? "event" : "contact")'."
                )
            }
        }
    }

    // MARK: translateExchangeIds

    func translateExchangeIds(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        var ids: [String] = [], source = "", target = ""
        for (k, v) in body {
            switch k {
            case "inputIds": ids = try GraphInput.strings(v, k) ?? []
            case "sourceIdType": source = try GraphInput.string(v, k) ?? ""
            case "targetIdType": target = try GraphInput.string(v, k) ?? ""
            default: throw GraphError.invalidProperty(k, type: "translateExchangeIds")
            }
        }
        let types = ["entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId"]
        guard types.contains(source), types.contains(target) else {
            throw GraphError.badRequest(
                "sourceIdType and targetIdType must be one of \(types.joined(separator: ", ")).")
        }
        guard !ids.isEmpty, ids.count <= 1000 else {
            throw GraphError.badRequest("inputIds must hold between 1 and 1000 ids.")
        }
        let mailbox = ctx.mailbox
        var values: [JSON] = []
        for id in ids {
            var number: UInt64?
            switch source {
            case "ewsId": if let p = Identifier.parseItemId(id), p.mailbox == mailbox { number = p.number }
            case "restId", "restImmutableEntryId":
                if case .item(let mb, let n) = GraphIdentifier.parse(id), mb == mailbox { number = n }
            case "entryId", "immutableEntryId":
                if let d = Data(base64Encoded: GraphIdentifier.ews(fromREST: id)), d.count == 8 {
                    number = d.reduce(0) { $0 << 8 | UInt64($1) }
                }
            default: break
            }
            var out: String?
            if let n = number {
                switch target {
                case "ewsId": out = Identifier.itemId(mailbox: mailbox, number: n)
                case "restId": out = GraphIdentifier.id(mailbox: mailbox, number: n, immutable: false)
                case "restImmutableEntryId": out = GraphIdentifier.id(mailbox: mailbox, number: n, immutable: true)
                default:
                    var b: [UInt8] = []
                    withUnsafeBytes(of: n.bigEndian) { b.append(contentsOf: $0) }
                    out = GraphIdentifier.rest(fromEWS: Data(b).base64EncodedString())
                }
            }
            var m: [(String, JSON)] = [("sourceId", .string(id))]
            if let out { m.append(("targetId", .string(out))) }
            values.append(.object(m))
        }
        return GraphResponse(
            status: 200,
            body: .object([
                ("@odata.context", ctx.context("Collection(microsoft.graph.convertIdResult)")),
                ("value", .array(values)),
            ]))
    }
}

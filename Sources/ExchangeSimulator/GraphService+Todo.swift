import Foundation

/// Microsoft To Do over the mailbox's task folders: `/todo/lists` (the Tasks folder is the `defaultList`),
/// `/todo/lists/{id}/tasks` with `linkedResources`, and tasks `delta` per list. A To Do task is the EWS Task of
/// the same folder; its linked resources are kept on the item where EWS clients cannot see them. To Do tasks
/// take no extended properties (`todoTask` is a closed type), as in Graph, but they take open extensions: the one
/// the simulator keeps is ``GraphTaskExtension`` (the task's percentage, shared with EWS).
extension GraphService {
    static let taskStatuses = ["notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"]
    static let importances = ["low", "normal", "high"]
    static let taskReadable: Set<String> = [
        "id", "importance", "isReminderOn", "status", "title", "createdDateTime", "lastModifiedDateTime",
        "hasAttachments",
        "categories", "body", "bodyLastModifiedDateTime", "dueDateTime", "startDateTime", "completedDateTime",
        "reminderDateTime",
        "linkedResources",
    ]
    static let linkedResourcesKey = GraphItemMapping.hiddenPrefix + "linkedResources"

    func routeTodo(_ s: [String], _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let method = ctx.request.method
        guard s.count >= 2, s[1] == "lists" else { throw GraphError.resourceNotFound(s.count > 1 ? s[1] : "todo") }
        if s.count == 2 {
            switch method {
            case "GET": return listTodoLists(&ctx)
            case "POST": return try createTodoList(&ctx)
            default: throw GraphError.methodNotAllowed()
            }
        }
        let listId = GraphRequest.decoded(s[2])
        let folder = try todoList(listId, mailbox: ctx.mailbox)
        if s.count == 3 {
            guard method == "GET" else { throw GraphError.methodNotAllowed() }
            let f = store.withState { $0.mailbox(ctx.mailbox)!.folders[folder]! }
            return GraphResponse(
                status: 200,
                body: .object(
                    [("@odata.context", ctx.context("\(ctx.userContext)/todo/lists/$entity"))] + listJSON(f, ctx)))
        }
        guard s[3] == "tasks" else { throw GraphError.resourceNotFound(s[3]) }
        // Links are written only by listings and delta.
        func listPath() -> String { "\(ctx.userPath)/todo/lists/\(s[2])/tasks" }
        let contextPath = "\(ctx.userContext)/todo/lists('\(listId)')/tasks"
        switch (s.count, method) {
        case (4, "GET"): return try listTasks(folder: folder, contextPath: contextPath, path: listPath(), &ctx)
        case (4, "POST"): return try createTask(folder: folder, contextPath: contextPath, &ctx)
        case (5, "GET") where s[4] == "delta":
            return try folderDelta(folder: folder, kind: .task, type: "todoTask", path: listPath() + "/delta", &ctx) {
                item, ctx throws(GraphError) in
                try taskJSON(item, ctx, withContext: nil)
            }
        case (5, "GET"): return try getTask(s[4], folder: folder, contextPath: contextPath, &ctx)
        case (5, "PATCH"): return try updateTask(s[4], folder: folder, contextPath: contextPath, &ctx)
        case (5, "DELETE"):
            _ = try taskInList(s[4], folder: folder, ctx)
            return try deleteItem(s[4], kind: .task, &ctx)
        case (6, "GET") where s[5] == "linkedResources":
            let item = try taskInList(s[4], folder: folder, ctx)
            return GraphResponse(
                status: 200,
                body: .object([
                    ("@odata.context", ctx.context("\(contextPath)('\(s[4])')/linkedResources")),
                    ("value", .array(Self.linkedResources(item))),
                ]))
        case (6, "POST") where s[5] == "linkedResources":
            return try addLinkedResource(
                s[4], folder: folder, contextPath: "\(contextPath)('\(s[4])')/linkedResources", &ctx)
        case (6, "GET") where s[5] == "extensions":
            let item = try taskInList(s[4], folder: folder, ctx)
            return GraphResponse(
                status: 200,
                body: .object([
                    ("@odata.context", ctx.context("\(contextPath)('\(s[4])')/extensions")),
                    ("value", .array([GraphTaskExtension.json(item)])),
                ]))
        case (6, "POST") where s[5] == "extensions":
            // Every task has the extension (its percentage is the task's own): creating it again is a conflict.
            let body = try Self.bodyObject(ctx.request)
            _ = try taskInList(s[4], folder: folder, ctx)
            var scratch = StoredItem(
                number: 0, kind: .task, folder: folder, changeNumber: 0, fields: [:], fieldChanges: [:], extended: [],
                createdSeq: 0, lastSeq: 0)
            _ = try GraphTaskExtension.apply(body, to: &scratch)
            throw GraphError(409, "NameAlreadyExists", "An extension already exists with given id.")
        case (7, _) where s[5] == "extensions":
            guard GraphTaskExtension.names(GraphRequest.decoded(s[6])) else {
                throw GraphError(404, "ErrorItemNotFound", "The specified extension was not found.")
            }
            return try taskExtension(
                s[4], folder: folder, contextPath: "\(contextPath)('\(s[4])')/extensions", method: method, &ctx)
        case (4, _), (5, _), (6, _), (7, _): throw GraphError.methodNotAllowed()
        default: throw GraphError.resourceNotFound(s.last ?? "")
        }
    }

    /// The task folder a To Do list id (percent-decoded already) of `mailbox` names: the Tasks folder or one below
    /// it; Graph's 404 for any other.
    func todoList(_ id: String, mailbox: String) throws(GraphError) -> String {
        guard let key = try folder(id, under: "tasks", of: mailbox) else {
            throw GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        }
        return key
    }

    func listJSON(_ f: StoredFolder, _ ctx: Context) -> [(String, JSON)] {
        [
            ("@odata.etag", .string(GraphIdentifier.etag(f.version))), ("displayName", .string(f.displayName)),
            ("isOwner", .bool(true)), ("isShared", .bool(false)),
            ("wellknownListName", .string(f.key == "tasks" ? "defaultList" : "none")),
            ("id", .string(GraphIdentifier.folderId(mailbox: ctx.mailbox, key: f.key))),
        ]
    }

    func listTodoLists(_ ctx: inout Context) -> GraphResponse {
        let folders = store.withState { s in
            (s.mailbox(ctx.mailbox)?.folders.values.filter { $0.key == "tasks" || $0.parent == "tasks" } ?? [])
                .sorted { ($0.key == "tasks" ? 0 : 1, $0.displayName) < ($1.key == "tasks" ? 0 : 1, $1.displayName) }
        }
        return GraphResponse(
            status: 200,
            body: .object([
                ("@odata.context", ctx.context("\(ctx.userContext)/todo/lists")),
                ("value", .array(folders.map { .object(listJSON($0, ctx)) })),
            ]))
    }

    func createTodoList(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        var name: String?
        for (k, v) in try Self.bodyObject(ctx.request) {
            guard k == "displayName" else { throw GraphError.invalidProperty(k, type: "microsoft.graph.todoTaskList") }
            name = try GraphInput.string(v, k)
        }
        guard let name, !name.isEmpty else { throw GraphError.invalidRequest("The list needs a displayName.") }
        let folder = try store.withState { (s: inout StoreState) throws(GraphError) -> StoredFolder in
            try s.createFolder(
                mailbox: ctx.mailbox, parent: "tasks", displayName: name, folderClass: "IPF.Task",
                element: "TasksFolder")
        }
        return GraphResponse(
            status: 201,
            body: .object(
                [("@odata.context", ctx.context("\(ctx.userContext)/todo/lists/$entity"))] + listJSON(folder, ctx)))
    }

    // MARK: tasks

    static func dateTimeTimeZone(_ item: StoredItem, _ field: String, _ ctx: Context) -> JSON? {
        guard let t = item.fields[field].flatMap({ FieldValue.parseDate($0.value) }) else { return nil }
        return .object([
            ("dateTime", .string(GraphDates.local(t, in: ctx.prefs.timeZone))),
            ("timeZone", .string(ctx.prefs.timeZone.name)),
        ])
    }

    static func linkedResources(_ item: StoredItem) -> [JSON] {
        (item.extended.first { $0.key == linkedResourcesKey }?.values ?? []).compactMap {
            try? JSONParser.parse(Data($0.utf8))
        }
    }

    /// A task's stored status as Graph names it (`InProgress` → `inProgress`).
    static let taskStatusByLowercased = Dictionary(uniqueKeysWithValues: taskStatuses.map { ($0.lowercased(), $0) })

    /// A task as Graph returns it, written straight to JSON text: `$expand` and `$select` applied. Its linked
    /// resources are copied as they are stored (JSON text written when they were).
    func taskJSON(_ item: StoredItem, _ ctx: Context, withContext context: String?) throws(GraphError) -> JSON {
        try Self.checkExpand(ctx, allowed: ["linkedResources", "extensions"])
        let linked = Self.expands(ctx, "linkedResources")
        let wanted = try GraphTaskExtension.expanded(ctx.query.expansion)
        try Self.checkSelect(ctx, known: Self.taskReadable, type: "microsoft.graph.todoTask")
        let fields = item.fields
        var o = JSONObjectWriter(capacity: 1024, select: ctx.query.selected)
        if let context { o.value("@odata.context", ctx.context(context)) }
        o.string("@odata.etag", GraphIdentifier.etag(item.changeNumber))
        o.string("importance", (fields["Importance"]?.value ?? "Normal").lowercased())
        o.bool("isReminderOn", fields["ReminderIsSet"]?.value == "true")
        o.string(
            "status",
            Self.taskStatusByLowercased[(fields["Status"]?.value ?? "NotStarted").lowercased()] ?? "notStarted")
        o.string("title", fields["Subject"]?.text ?? "")
        o.string("createdDateTime", fields["DateTimeCreated"]?.value ?? "")
        o.string("lastModifiedDateTime", fields["LastModifiedTime"]?.value ?? "")
        o.bool("hasAttachments", false)
        o.strings("categories", (fields["Categories"]?.children ?? []).lazy.map(\.text))
        o.string("id", ctx.id(ctx.mailbox, item.number))
        if o.key("body") {
            let body = fields["Body"]
            o.w.raw("{\"content\":")
            o.w.string(body?.text ?? "")
            o.w.raw(",\"contentType\":")
            o.w.string((body?.attr("BodyType") ?? "Text").lowercased() == "html" ? "html" : "text")
            o.w.raw("}")
        }
        for (graph, ews) in [
            ("dueDateTime", "DueDate"), ("startDateTime", "StartDate"), ("completedDateTime", "CompleteDate"),
            ("reminderDateTime", "ReminderDueBy"),
        ] {
            guard let t = fields[ews].flatMap({ FieldValue.parseDate($0.value) }), o.key(graph) else { continue }
            GraphEventMapping.write(dateTimeTimeZone: t, ctx.prefs.timeZone, to: &o.w)
        }
        if linked, o.key("linkedResources") {
            o.w.raw("[")
            for (i, text) in (item.extended.first { $0.key == Self.linkedResourcesKey }?.values ?? []).enumerated() {
                if i > 0 { o.w.raw(",") }
                o.w.bytes.append(contentsOf: text.utf8)
            }
            o.w.raw("]")
        }
        if let wanted, o.key("extensions") {
            o.w.raw("[")
            if wanted { GraphTaskExtension.write(item, to: &o.w) }
            o.w.raw("]")
        }
        return o.finish()
    }

    func taskInList(_ id: String, folder: String, _ ctx: Context) throws(GraphError) -> StoredItem {
        let item = try store.withState { (s: inout StoreState) throws(GraphError) in
            try Self.lookup(id, kind: .task, mailbox: ctx.mailbox, in: s)
        }
        guard item.folder == folder else { throw GraphError.itemNotFound() }
        return item
    }

    func listTasks(
        folder: String, contextPath: String, path: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        try Self.checkSelect(ctx, known: Self.taskReadable, type: "microsoft.graph.todoTask")
        try Self.checkExpand(ctx, allowed: ["linkedResources", "extensions"])
        let filterable: Set<String> = ["title", "status", "importance"]
        let filter = try ctx.query.filter.map { f throws(GraphError) in try GraphFilter(f, properties: filterable) }
        let order = try Self.orderBy(ctx, allowed: ["title", "createdDateTime", "lastModifiedDateTime"])
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let (page, more) = store.withState { s -> ([StoredItem], Bool) in
            guard let f = s.mailbox(ctx.mailbox)?.folders[folder] else { return ([], false) }
            guard filter != nil || order != nil else { return f.items.page(of: .task, skip: skip, size: size) }
            var items = f.items.values.filter {
                $0.kind == .task && (filter?.matches($0, value: Self.taskValue) ?? true)
            }
            Self.sort(&items, order, value: Self.taskValue)
            return (Array(items.dropFirst(skip).prefix(size)), items.count > skip + size)
        }
        var values: [JSON] = []
        for item in page { values.append(try taskJSON(item, ctx, withContext: nil)) }
        return Self.page(
            ctx, context: contextPath + Self.selectSuffix(ctx), values: values, nextSkip: more ? skip + size : nil,
            path: path)
    }

    static func taskValue(_ item: StoredItem, _ property: String) -> String? {
        switch property {
        case "title": item.fields["Subject"]?.text
        case "status": item.fields["Status"]?.value
        case "importance": item.fields["Importance"]?.value
        case "createdDateTime": item.fields["DateTimeCreated"]?.value
        case "lastModifiedDateTime": item.fields["LastModifiedTime"]?.value
        default: nil
        }
    }

    func getTask(
        _ id: String, folder: String, contextPath: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        let item = try taskInList(id, folder: folder, ctx)
        return GraphResponse(
            status: 200, body: try taskJSON(item, ctx, withContext: contextPath + Self.selectSuffix(ctx) + "/$entity"))
    }

    /// The EWS fields of a todoTask's dates.
    static let taskDateFields = [
        "dueDateTime": "DueDate", "startDateTime": "StartDate", "completedDateTime": "CompleteDate",
        "reminderDateTime": "ReminderDueBy",
    ]

    /// Applies a todoTask's properties to `item`; returns the EWS fields changed (none when not `tracking`: a new
    /// task's fields are all new).
    static func applyTask(
        _ body: [(String, JSON)], to item: inout StoredItem, zone: GraphTimeZone, tracking: Bool = true
    ) throws(GraphError) -> Set<String> {
        var changed = Set<String>()
        func set(_ field: String, _ e: XElement?) {
            item.fields[field] = e
            if tracking { changed.insert(field) }
        }
        var extensions: JSON?
        for (name, value) in body {
            if name.hasPrefix("@odata.") { continue }
            switch name {
            case "extensions": extensions = value
            case "title": set("Subject", try GraphInput.string(value, name).map { XElement("Subject", text: $0) })
            case "importance":
                set(
                    "Importance",
                    try GraphInput.enumMember(value, name, importances).map {
                        XElement("Importance", text: $0.prefix(1).uppercased() + $0.dropFirst())
                    })
            case "status":
                guard let st = try GraphInput.enumMember(value, name, taskStatuses) else {
                    throw GraphError.wrongType(name, expected: "microsoft.graph.taskStatus")
                }
                set("Status", XElement("Status", text: st.prefix(1).uppercased() + st.dropFirst()))
                if st == "completed", item.fields["CompleteDate"] == nil {
                    set(
                        "CompleteDate",
                        XElement("CompleteDate", text: FieldValue.formatDate(Date().timeIntervalSince1970)))
                }
                if st == "completed" { set("PercentComplete", XElement("PercentComplete", text: "100")) }
            case "isReminderOn":
                set(
                    "ReminderIsSet",
                    try GraphInput.bool(value, name).map { XElement("ReminderIsSet", text: $0 ? "true" : "false") })
            case "categories":
                set(
                    "Categories",
                    try GraphInput.strings(value, name).map {
                        XElement("Categories", children: $0.map { XElement("String", text: $0) })
                    })
            case "body":
                if value.isNull { set("Body", nil); continue }
                try GraphInput.closed(value, "itemBody", ["content", "contentType"])
                let type =
                    try GraphInput.enumMember(value["contentType"] ?? .null, "contentType", ["text", "html"]) ?? "text"
                set(
                    "Body",
                    XElement(
                        "Body", attributes: [("BodyType", type == "html" ? "HTML" : "Text")],
                        text: try GraphInput.string(value["content"] ?? .null, "content") ?? ""))
            case "dueDateTime", "startDateTime", "completedDateTime", "reminderDateTime":
                let field = taskDateFields[name]!
                set(
                    field,
                    try dateTimeTimeZone(value, name, zone: zone).map {
                        XElement(field, text: FieldValue.formatDate($0))
                    })
            case "linkedResources":
                guard let list = try GraphInput.objects(value, name) else { continue }
                var stored: [String] = []
                for o in list { stored.append(try linkedResourceText(o)) }
                item.extended.removeAll { $0.key == linkedResourcesKey }
                if !stored.isEmpty {
                    item.extended.append(
                        ExtendedProperty(key: linkedResourcesKey, uri: [], values: stored, isMulti: true))
                }
            case "id", "createdDateTime", "lastModifiedDateTime", "hasAttachments", "bodyLastModifiedDateTime":
                continue
            default:
                throw GraphError.invalidProperty(name, type: "microsoft.graph.todoTask")
            }
        }
        // After `status`, which sets the percentage of a completed task: the extension's own value wins.
        if let extensions {
            let percentage = try GraphTaskExtension.applyList(extensions, to: &item)
            if tracking { changed.formUnion(percentage) }
        }
        return changed
    }

    /// A `dateTimeTimeZone` value as an instant.
    static func dateTimeTimeZone(_ value: JSON, _ name: String, zone: GraphTimeZone) throws(GraphError) -> Double? {
        if value.isNull { return nil }
        try GraphInput.closed(value, "dateTimeTimeZone", ["dateTime", "timeZone"])
        let zoneName = try GraphInput.string(value["timeZone"] ?? .null, "timeZone")
        let z =
            try zoneName.map { n throws(GraphError) -> GraphTimeZone in
                guard let z = GraphTimeZone.named(n) else { throw GraphTimeZone.unsupported(n) }
                return z
            } ?? zone
        guard let text = try GraphInput.string(value["dateTime"] ?? .null, "dateTime"),
            let t = GraphDates.parse(text, in: z)
        else {
            throw GraphError.wrongType("\(name).dateTime", expected: "Edm.String (an ISO 8601 date-time)")
        }
        return t
    }

    /// A linkedResource as stored, as JSON text: its properties checked, an id given when it has none.
    static func linkedResourceText(_ o: JSON) throws(GraphError) -> String {
        try GraphInput.closed(o, "linkedResource", ["id", "webUrl", "applicationName", "displayName", "externalId"])
        var w = JSONWriter(capacity: 256)
        var first = true
        for k in ["webUrl", "applicationName", "displayName", "externalId"] {
            guard let s = try GraphInput.string(o[k] ?? .null, k) else { continue }
            w.raw(first ? "{" : ",")
            first = false
            w.string(k)
            w.raw(":")
            w.string(s)
        }
        w.raw(first ? "{\"id\":" : ",\"id\":")
        w.string(try GraphInput.string(o["id"] ?? .null, "id") ?? RandomUUID.lowercased())
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }

    func createTask(folder: String, contextPath: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        var draft = StoredItem(
            number: 0, kind: .task, folder: folder, changeNumber: 0,
            fields: Dictionary(minimumCapacity: body.count + 12), fieldChanges: [:], extended: [],
            createdSeq: 0, lastSeq: 0)
        _ = try Self.applyTask(body, to: &draft, zone: ctx.prefs.timeZone, tracking: false)
        guard draft.fields["Subject"] != nil else { throw GraphError.invalidRequest("A task needs a title.") }
        let now = self.now(), mailbox = ctx.mailbox
        let item = store.withState { s in
            var fields: [String: XElement] = [:]
            swap(&fields, &draft.fields)  // the store's copy is then the only one (see createContact)
            return s.insertItem(
                mailbox: mailbox, folder: folder, kind: .task, fields: fields, extended: draft.extended, now: now)
        }
        // The answer carries the linked resources and extensions the request wrote, as if expanded.
        let expanded = ["linkedResources", "extensions"].filter { name in body.contains { $0.0 == name } }
        if !expanded.isEmpty { ctx.query.expand = expanded.joined(separator: ",") }
        return GraphResponse(status: 201, body: try taskJSON(item, ctx, withContext: contextPath + "/$entity"))
    }

    func updateTask(
        _ id: String, folder: String, contextPath: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        let now = self.now()
        let ifMatch = ctx.request.header("if-match")
        let item = try store.withState { (s: inout StoreState) throws(GraphError) -> StoredItem in
            var item = try Self.lookup(id, kind: .task, mailbox: ctx.mailbox, in: s)
            guard item.folder == folder else { throw GraphError.itemNotFound() }
            try Self.checkIfMatch(ifMatch, item)
            let changed = try Self.applyTask(body, to: &item, zone: ctx.prefs.timeZone)
            return s.replaceItem(mailbox: ctx.mailbox, item, changedFields: changed, now: now)
        }
        return GraphResponse(status: 200, body: try taskJSON(item, ctx, withContext: contextPath + "/$entity"))
    }

    func addLinkedResource(
        _ id: String, folder: String, contextPath: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        let text = try Self.linkedResourceText(.object(try Self.bodyObject(ctx.request)))
        let now = self.now()
        try store.withState { (s: inout StoreState) throws(GraphError) in
            var item = try Self.lookup(id, kind: .task, mailbox: ctx.mailbox, in: s)
            guard item.folder == folder else { throw GraphError.itemNotFound() }
            var values = item.extended.first { $0.key == Self.linkedResourcesKey }?.values ?? []
            values.append(text)
            item.extended.removeAll { $0.key == Self.linkedResourcesKey }
            item.extended.append(ExtendedProperty(key: Self.linkedResourcesKey, uri: [], values: values, isMulti: true))
            _ = s.replaceItem(mailbox: ctx.mailbox, item, changedFields: [], now: now)
        }
        var members: [(String, JSON)] = [("@odata.context", ctx.context(contextPath + "/$entity"))]
        members += (try? JSONParser.parse(Data(text.utf8)))?.members ?? []
        return GraphResponse(status: 201, body: .object(members))
    }

    /// GET, PATCH or DELETE of a task's ``GraphTaskExtension``.
    func taskExtension(
        _ id: String, folder: String, contextPath: String, method: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        switch method {
        case "GET":
            let item = try taskInList(id, folder: folder, ctx)
            return GraphResponse(
                status: 200, body: GraphTaskExtension.json(item, context: ctx.context(contextPath + "/$entity").string))
        case "PATCH":
            let body = try Self.bodyObject(ctx.request)
            let now = self.now()
            try store.withState { (s: inout StoreState) throws(GraphError) in
                var item = try Self.lookup(id, kind: .task, mailbox: ctx.mailbox, in: s)
                guard item.folder == folder else { throw GraphError.itemNotFound() }
                let changed = try GraphTaskExtension.apply(body, to: &item)
                if !changed.isEmpty { _ = s.replaceItem(mailbox: ctx.mailbox, item, changedFields: changed, now: now) }
            }
            return GraphResponse(status: 204, body: nil)
        case "DELETE":
            throw GraphError.notSupported("Deleting the open extension '\(GraphTaskExtension.name)'")
        default: throw GraphError.methodNotAllowed()
        }
    }
}

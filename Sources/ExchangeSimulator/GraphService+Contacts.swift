import Foundation

/// `/users/{id}/contacts`, `/contactFolders`, `/contactFolders/{id}/contacts` and their `delta`.
extension GraphService {
    static let contactReadable: Set<String> = GraphItemMapping.contactWritable.subtracting([
        "singleValueExtendedProperties"
    ])
    static let contactFilterable: Set<String> = Set(GraphItemMapping.contactStrings.map(\.graph) + ["personalNotes"])

    func routeContacts(_ s: [String], _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let method = ctx.request.method
        var folder = "contacts"
        var rest = s
        var base = ctx.userPath
        if s[0] == "contactFolders" {
            if s.count == 1 {
                switch method {
                case "GET": return try listContactFolders(&ctx)
                case "POST": return try createContactFolder(&ctx)
                default: throw GraphError.methodNotAllowed()
                }
            }
            folder = try contactFolder(s[1], ctx)
            if s.count == 2 {
                guard method == "GET" else { throw GraphError.methodNotAllowed() }
                return try getContactFolder(folder, &ctx)
            }
            guard s[2] == "contacts" else { throw GraphError.resourceNotFound(s[2]) }
            base += "/contactFolders/\(s[1])"
            rest = Array(s.dropFirst(2))
        }
        let contextPath =
            s[0] == "contactFolders"
            ? "\(ctx.userContext)/contactFolders('\(s[1])')/contacts" : "\(ctx.userContext)/contacts"
        switch (rest.count, method) {
        case (1, "GET"):
            return try listContacts(folder: folder, contextPath: contextPath, path: base + "/contacts", &ctx)
        case (1, "POST"): return try createContact(folder: folder, contextPath: contextPath, &ctx)
        case (2, "GET") where rest[1] == "delta":
            return try folderDelta(
                folder: folder, kind: .contact, type: "contact", path: base + "/contacts/delta", &ctx
            ) { item, ctx throws(GraphError) in
                try contactJSON(item, ctx, withContext: nil)
            }
        case (2, "GET"): return try getContact(rest[1], contextPath: contextPath, &ctx)
        case (2, "PATCH"): return try updateContact(rest[1], contextPath: contextPath, &ctx)
        case (2, "DELETE"): return try deleteItem(rest[1], kind: .contact, &ctx)
        case (1, _), (2, _): throw GraphError.methodNotAllowed()
        default: throw GraphError.resourceNotFound(rest.last ?? "")
        }
    }

    /// The store folder key of a contact folder id (the Contacts folder or one below it).
    func contactFolder(_ id: String, _ ctx: Context) throws(GraphError) -> String {
        guard let key = try folder(GraphRequest.decoded(id), under: "contacts", of: ctx.mailbox) else {
            throw GraphError.folderNotFound()
        }
        return key
    }

    func folderJSON(_ f: StoredFolder, _ ctx: Context) -> [(String, JSON)] {
        [
            ("id", .string(GraphIdentifier.folderId(mailbox: ctx.mailbox, key: f.key))),
            ("displayName", .string(f.displayName)),
            (
                "parentFolderId",
                .string(GraphIdentifier.folderId(mailbox: ctx.mailbox, key: f.parent ?? "msgfolderroot"))
            ),
        ]
    }

    func listContactFolders(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let folders = store.withState { s in
            (s.mailbox(ctx.mailbox)?.folders.values.filter { $0.parent == "contacts" } ?? []).sorted {
                $0.displayName < $1.displayName
            }
        }
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let slice = folders.dropFirst(skip).prefix(size)
        return Self.page(
            ctx, context: "\(ctx.userContext)/contactFolders", values: slice.map { .object(folderJSON($0, ctx)) },
            nextSkip: skip + size < folders.count ? skip + size : nil, path: ctx.userPath + "/contactFolders")
    }

    func getContactFolder(_ key: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let f = store.withState { $0.mailbox(ctx.mailbox)?.folders[key] }
        guard let f else { throw GraphError.folderNotFound() }
        return GraphResponse(
            status: 200,
            body: .object(
                [("@odata.context", ctx.context("\(ctx.userContext)/contactFolders/$entity"))] + folderJSON(f, ctx)))
    }

    func createContactFolder(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        var name: String?
        for (k, v) in try Self.bodyObject(ctx.request) {
            switch k {
            case "displayName": name = try GraphInput.string(v, k)
            case "parentFolderId": continue
            default: throw GraphError.invalidProperty(k, type: "microsoft.graph.contactFolder")
            }
        }
        guard let name, !name.isEmpty else {
            throw GraphError(400, "ErrorInvalidRequest", "The contact folder needs a displayName.")
        }
        let folder = try store.withState { (s: inout StoreState) throws(GraphError) -> StoredFolder in
            try s.createFolder(
                mailbox: ctx.mailbox, parent: "contacts", displayName: name, folderClass: "IPF.Contact",
                element: "ContactsFolder")
        }
        return GraphResponse(
            status: 201,
            body: .object(
                [("@odata.context", ctx.context("\(ctx.userContext)/contactFolders/$entity"))] + folderJSON(folder, ctx)
            ))
    }

    // MARK: contacts

    /// A contact as Graph returns it, `$select` and `$expand` applied, written straight to JSON text.
    func contactJSON(_ item: StoredItem, _ ctx: Context, withContext context: String?) throws(GraphError) -> JSON {
        try Self.checkSelect(ctx, known: Self.contactReadable, type: "microsoft.graph.contact")
        var o = JSONObjectWriter(capacity: 1536, select: ctx.query.selected)
        if let context { o.value("@odata.context", ctx.context(context)) }
        let changeKey = GraphIdentifier.changeKey(item.changeNumber)
        o.string("@odata.etag", "W/\"" + changeKey + "\"")
        o.string("id", ctx.id(ctx.mailbox, item.number))
        o.string("createdDateTime", item.fields["DateTimeCreated"]?.value)
        o.string("lastModifiedDateTime", item.fields["LastModifiedTime"]?.value)
        o.string("changeKey", changeKey)
        o.string("parentFolderId", GraphIdentifier.folderId(mailbox: ctx.mailbox, key: item.folder))
        GraphItemMapping.contact(item, into: &o)
        if let ext = try Self.expandedExtended(ctx, item), o.key("singleValueExtendedProperties", always: true) {
            o.w.value(ext)
        }
        return o.finish()
    }

    func listContacts(
        folder: String, contextPath: String, path: String, _ ctx: inout Context
    ) throws(GraphError) -> GraphResponse {
        try Self.checkExpand(ctx, allowed: ["singleValueExtendedProperties"])
        try Self.checkSelect(ctx, known: Self.contactReadable, type: "microsoft.graph.contact")
        let filter = try ctx.query.filter.map { f throws(GraphError) in
            try GraphFilter(f, properties: Self.contactFilterable)
        }
        let order = try Self.orderBy(ctx, allowed: Self.contactFilterable)
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let (page, more) = store.withState { s -> ([StoredItem], Bool) in
            guard let f = s.mailbox(ctx.mailbox)?.folders[folder] else { return ([], false) }
            guard filter != nil || order != nil else { return f.items.page(of: nil, skip: skip, size: size) }
            var items = f.items.values.filter { filter?.matches($0, value: Self.contactValue) ?? true }
            Self.sort(&items, order, value: Self.contactValue)
            return (Array(items.dropFirst(skip).prefix(size)), items.count > skip + size)
        }
        var values: [JSON] = []
        values.reserveCapacity(page.count)
        for item in page { values.append(try contactJSON(item, ctx, withContext: nil)) }
        return Self.page(
            ctx, context: contextPath + Self.selectSuffix(ctx), values: values, nextSkip: more ? skip + size : nil,
            path: path)
    }

    /// The text of a filterable contact property.
    static func contactValue(_ item: StoredItem, _ property: String) -> String? {
        if property == "personalNotes" { return item.fields["Body"]?.text }
        return GraphItemMapping.contactStrings.first { $0.graph == property }.flatMap { item.fields[$0.ews]?.text }
    }

    /// `$orderby=name [asc|desc]` on one property of `allowed`; nil keeps the folder's creation order.
    static func orderBy(_ ctx: Context, allowed: Set<String>) throws(GraphError) -> (String, Bool)? {
        guard let o = ctx.query.orderBy else { return nil }
        let parts = o.split(separator: " ").map(String.init)
        guard (1...2).contains(parts.count), allowed.contains(parts[0]),
            parts.count == 1 || ["asc", "desc"].contains(parts[1].lowercased())
        else {
            throw GraphError.notSupported("The $orderby expression '\(o)'")
        }
        return (parts[0], parts.count == 2 && parts[1].lowercased() == "desc")
    }

    static func sort(_ items: inout [StoredItem], _ order: (String, Bool)?, value: (StoredItem, String) -> String?) {
        guard let (property, descending) = order else { items.sort { $0.number < $1.number }; return }
        items.sort { a, b in
            let c = FieldValue.compare(value(a, property) ?? "", value(b, property) ?? "")
            return c == 0 ? a.number < b.number : (descending ? c > 0 : c < 0)
        }
    }

    /// `(a,b)` after a context path when the client `$select`ed.
    static func selectSuffix(_ ctx: Context) -> String {
        ctx.query.select.map { "(" + $0.joined(separator: ",") + ")" } ?? ""
    }

    func getContact(_ id: String, contextPath: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        try Self.checkExpand(ctx, allowed: ["singleValueExtendedProperties"])
        let item = try store.withState { (s: inout StoreState) throws(GraphError) in
            try Self.lookup(id, kind: .contact, mailbox: ctx.mailbox, in: s)
        }
        return GraphResponse(
            status: 200,
            body: try contactJSON(item, ctx, withContext: contextPath + Self.selectSuffix(ctx) + "/$entity"))
    }

    func createContact(folder: String, contextPath: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        // Sized for the computed fields the store adds (`applyComputed`), as EWS's CreateItem sizes it.
        var draft = StoredItem(
            number: 0, kind: .contact, folder: folder, changeNumber: 0,
            fields: Dictionary(minimumCapacity: body.count + 12), fieldChanges: [:], extended: [],
            createdSeq: 0, lastSeq: 0)
        _ = try GraphItemMapping.applyContact(body, to: &draft, tracking: false)
        let now = self.now()
        let item = try store.withState { (s: inout StoreState) throws(GraphError) -> StoredItem in
            guard s.mailbox(ctx.mailbox)?.folders[folder] != nil else { throw GraphError.folderNotFound() }
            // The fields are moved out of the draft, so the store owns the only copy and adds its computed fields
            // in place (passing `draft.fields` copied the dictionary on the store's first write).
            var fields: [String: XElement] = [:]
            swap(&fields, &draft.fields)
            return s.insertItem(
                mailbox: ctx.mailbox, folder: folder, kind: .contact, fields: fields, extended: draft.extended, now: now
            )
        }
        return GraphResponse(status: 201, body: try contactJSON(item, ctx, withContext: contextPath + "/$entity"))
    }

    func updateContact(_ id: String, contextPath: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        let now = self.now()
        let ifMatch = ctx.request.header("if-match")
        let item = try store.withState { (s: inout StoreState) throws(GraphError) -> StoredItem in
            var item = try Self.lookup(id, kind: .contact, mailbox: ctx.mailbox, in: s)
            try Self.checkIfMatch(ifMatch, item)
            let changed = try GraphItemMapping.applyContact(body, to: &item)
            return s.replaceItem(mailbox: ctx.mailbox, item, changedFields: changed, now: now)
        }
        return GraphResponse(status: 200, body: try contactJSON(item, ctx, withContext: contextPath + "/$entity"))
    }

    /// `If-Match` with an etag the item no longer has: 412, as the service answers.
    static func checkIfMatch(_ header: String?, _ item: StoredItem) throws(GraphError) {
        guard let header, header != "*" else { return }
        guard
            header == GraphIdentifier.etag(item.changeNumber) || header == GraphIdentifier.changeKey(item.changeNumber)
        else {
            throw GraphError.conflict()
        }
    }

    /// DELETE of an item: it moves to Deleted Items, as Exchange Online's Graph delete does.
    func deleteItem(_ id: String, kind: ExchangeItemType, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let now = self.now()
        try store.withState { (s: inout StoreState) throws(GraphError) in
            let item = try Self.lookup(id, kind: kind, mailbox: ctx.mailbox, in: s)
            _ = s.moveItem(mailbox: ctx.mailbox, number: item.number, to: "deleteditems", now: now)
        }
        return GraphResponse(status: 204)
    }
}

extension StoreState {
    /// Creates a folder below `parent` (Graph's POST of a contact folder or a To Do list).
    mutating func createFolder(
        mailbox: String, parent: String, displayName: String, folderClass: String,
        element: String
    ) throws(GraphError) -> StoredFolder {
        let mk = Self.key(mailbox)
        guard var m = mailboxes[mk] else { throw GraphError.itemNotFound() }
        if m.folders.values.contains(where: {
            $0.parent == parent && $0.displayName.lowercased() == displayName.lowercased()
        }) {
            throw GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        }
        let key = "\(parent)-\(UUID().uuidString.lowercased().prefix(8))"
        let folder = StoredFolder(
            key: key, displayName: displayName, folderClass: folderClass, parent: parent, elementName: element)
        m.folders[key] = folder
        mailboxes[mk] = m
        pending.mailbox(mk)
        return folder
    }
}

/// Which properties a response carries for each item (`ItemShape`).
struct ItemShape: Sendable {
    enum Base: String, Sendable { case idOnly = "IdOnly", defaultShape = "Default", allProperties = "AllProperties" }
    var base: Base = .idOnly
    /// Requested top-level element names (from FieldURI / IndexedFieldURI).
    var fields: Set<String> = []
    /// Requested extended property keys.
    var extended: Set<String> = []
    /// Requested MAPI properties the store computes, with the URI each was asked by.
    var computed: [(property: MAPIProperty, uri: XElement)] = []

    /// Properties Default leaves out (they can be large or are rarely wanted).
    private static let notInDefault: Set<String> = ["Body", "MimeContent", "UniqueBody", "TextBody", "NormalizedBody"]

    init(base: Base = .idOnly) { self.base = base }

    init(_ e: XElement?) throws(EWSFailure) {
        guard let e else { return }
        if let b = e.child("BaseShape")?.value {
            guard let base = Base(rawValue: b) else { throw .schemaValidation("Invalid BaseShape '\(b)'.") }
            self.base = base
        }
        // `IncludeMimeContent` asks for MimeContent as its FieldURI does (DavMail reads events this way).
        if let m = e.child("IncludeMimeContent")?.value {
            guard m == "true" || m == "false" || m == "1" || m == "0" else {
                throw .schemaValidation("Invalid IncludeMimeContent '\(m)'.")
            }
            if m == "true" || m == "1" { fields.insert("MimeContent") }
        }
        for p in e.child("AdditionalProperties")?.children ?? [] {
            switch PropertyPath.parse(p) {
            case .extended(let key, let uri):
                extended.insert(key)
                if let property = MAPIProperty.byKey[key] { computed.append((property, uri)) }
            case .some(let path): if let n = path.elementName { fields.insert(n) }
            case .none: throw .schemaValidation("Invalid property path '\(p.name)' in AdditionalProperties.")
            }
        }
    }

    func includes(_ field: String) -> Bool {
        switch base {
        case .idOnly: fields.contains(field)
        case .defaultShape: fields.contains(field) || !Self.notInDefault.contains(field)
        case .allProperties: true
        }
    }
}

extension EWSService {
    /// Writes `<t:Contact>` / `<t:CalendarItem>` / `<t:Task>` for `item` with the properties `shape` asks for,
    /// in schema order. `itemId` replaces the item's own id (an occurrence shown from its master).
    static func writeItem(
        _ w: inout XMLWriter, _ item: StoredItem, mailbox: String, shape: ItemShape, itemId: String? = nil
    ) {
        let q = "t:" + item.kind.rawValue
        w.open(q)
        // Produced only when asked for by name, as Exchange does (AllProperties leaves it out); first in schema order.
        if shape.fields.contains("MimeContent") { MimeContent.write(&w, item) }
        w.empty(
            "t:ItemId",
            [
                ("Id", itemId ?? Identifier.itemId(mailbox: mailbox, number: item.number)),
                ("ChangeKey", Identifier.changeKey(item.changeNumber)),
            ])
        if shape.base == .idOnly && shape.fields.isEmpty && shape.extended.isEmpty { w.close(q); return }
        let rank = item.kind.elementRank
        if shape.includes("ParentFolderId") {
            w.empty(
                "t:ParentFolderId",
                [("Id", Identifier.folderId(mailbox: mailbox, key: item.folder)), ("ChangeKey", "AQAAAA==")])
        }
        // Each name's rank is looked up once (ranking inside the sort's comparator hashed every name about ten times
        // per item, a sixth of the simulator's time serving GetItem).
        var fields: [(rank: Int, index: Dictionary<String, XElement>.Index)] = []
        fields.reserveCapacity(item.fields.count)
        for index in item.fields.indices where shape.includes(item.fields[index].key) {
            fields.append((rank[item.fields[index].key] ?? Int.max, index))
        }
        let extRank = rank["ExtendedProperty"] ?? Int.max
        fields.sort { $0.rank < $1.rank }
        var wroteExtended = false
        func writeExtended(_ w: inout XMLWriter) {
            wroteExtended = true
            for p in item.extended where shape.extended.contains(p.key) && MAPIProperty.byKey[p.key] == nil {
                w.element(p.element)
            }
            for (property, uri) in shape.computed {
                if let value = property.value(in: item) { w.element(MAPIProperty.element(uri, value)) }
            }
        }
        for (fieldRank, index) in fields {
            if !wroteExtended && fieldRank > extRank { writeExtended(&w) }
            w.element(item.fields[index].value)
        }
        if !wroteExtended { writeExtended(&w) }
        w.close(q)
    }
}

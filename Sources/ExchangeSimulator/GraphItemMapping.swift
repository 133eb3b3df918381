import Foundation

/// How Graph's properties map onto the store's (EWS-named) item fields, both ways: one table per kind,
/// used for reading (store → Graph JSON) and writing (Graph JSON → store) alike, so a property written
/// through either front-end reads back the same through the other.
enum GraphItemMapping {
    /// Graph `String` properties that are one simple EWS element of a contact.
    static let contactStrings: [(graph: String, ews: String)] = [
        ("fileAs", "FileAs"), ("displayName", "DisplayName"), ("givenName", "GivenName"), ("initials", "Initials"),
        ("middleName", "MiddleName"), ("nickName", "Nickname"), ("surname", "Surname"), ("generation", "Generation"),
        ("yomiGivenName", "PhoneticFirstName"), ("yomiSurname", "PhoneticLastName"),
        ("jobTitle", "JobTitle"), ("companyName", "CompanyName"), ("department", "Department"),
        ("officeLocation", "OfficeLocation"),
        ("profession", "Profession"), ("businessHomePage", "BusinessHomePage"), ("assistantName", "AssistantName"),
        ("manager", "Manager"), ("spouseName", "SpouseName"),
    ]
    static let contactStringsByGraph: [String: String] = Dictionary(
        uniqueKeysWithValues: contactStrings.map { ($0.graph, $0.ews) })
    /// Graph contact properties with no EWS element of their own: kept in hidden properties of the item.
    static let contactHidden = ["title", "yomiCompanyName"]
    /// Dictionary entries of `PhoneNumbers` behind `businessPhones` and `homePhones`.
    static let businessPhoneKeys = ["BusinessPhone", "BusinessPhone2"]
    static let homePhoneKeys = ["HomePhone", "HomePhone2"]
    static let addressKeys: [(graph: String, ews: String)] = [
        ("homeAddress", "Home"), ("businessAddress", "Business"), ("otherAddress", "Other"),
    ]
    static let addressParts: [(graph: String, ews: String)] = [
        ("street", "Street"), ("city", "City"), ("state", "State"), ("countryOrRegion", "CountryOrRegion"),
        ("postalCode", "PostalCode"),
    ]
    static let contactWritable: Set<String> = Set(
        contactStrings.map(\.graph) + contactHidden + [
            "categories", "children", "imAddresses", "emailAddresses", "businessPhones", "homePhones", "mobilePhone",
            "homeAddress", "businessAddress", "otherAddress", "birthday", "personalNotes",
            "singleValueExtendedProperties",
            "parentFolderId", "id", "changeKey", "createdDateTime", "lastModifiedDateTime",
        ])

    static let hiddenPrefix = "sim.graph:"

    // MARK: reading

    static func text(_ item: StoredItem, _ name: String) -> JSON {
        guard let e = item.fields[name] else { return .null }
        return .string(e.text)
    }

    static func strings(_ item: StoredItem, _ name: String) -> JSON {
        .array((item.fields[name]?.children ?? []).map { .string($0.text) })
    }

    static func entries(_ item: StoredItem, _ name: String, keys: [String]) -> [XElement] {
        guard let children = item.fields[name]?.children, !children.isEmpty else { return [] }
        return keys.compactMap { k in children.first { $0.attr("Key") == k } }
    }

    static func hidden(_ item: StoredItem, _ name: String) -> String? {
        guard !item.extended.isEmpty else { return nil }
        let key = hiddenPrefix + name
        return item.extended.first { $0.key == key }?.values.first
    }

    static func setHidden(_ item: inout StoredItem, _ name: String, _ value: String?) {
        item.extended.removeAll { $0.key == hiddenPrefix + name }
        if let value {
            item.extended.append(ExtendedProperty(key: hiddenPrefix + name, uri: [], values: [value], isMulti: false))
        }
    }

    /// A contact's Graph properties (all of them, as the service returns a contact without `$select`), written to
    /// `o` after its ids.
    static func contact(_ item: StoredItem, into o: inout JSONObjectWriter) {
        func text(_ name: String, _ field: String) { o.string(name, item.fields[field]?.text) }
        func strings(_ name: String, _ values: [XElement]) { o.strings(name, values.lazy.map(\.text)) }
        strings("categories", item.fields["Categories"]?.children ?? [])
        o.string("birthday", item.fields["Birthday"].map { FieldValue.normalize(field: "Birthday", $0.value) })
        for (g, e) in contactStrings.prefix(8) { text(g, e) }
        o.string("title", hidden(item, "title"))
        for (g, e) in contactStrings.dropFirst(8).prefix(2) { text(g, e) }
        o.string("yomiCompanyName", hidden(item, "yomiCompanyName"))
        strings("imAddresses", entries(item, "ImAddresses", keys: ["ImAddress1", "ImAddress2", "ImAddress3"]))
        for (g, e) in contactStrings.dropFirst(10) { text(g, e) }
        strings("homePhones", entries(item, "PhoneNumbers", keys: homePhoneKeys))
        o.string("mobilePhone", entries(item, "PhoneNumbers", keys: ["MobilePhone"]).first?.text)
        strings("businessPhones", entries(item, "PhoneNumbers", keys: businessPhoneKeys))
        o.string("personalNotes", item.fields["Body"]?.text ?? "")
        strings("children", item.fields["Children"]?.children ?? [])
        if o.key("emailAddresses") {
            o.w.raw("[")
            let list = entries(item, "EmailAddresses", keys: ["EmailAddress1", "EmailAddress2", "EmailAddress3"])
            for (i, e) in list.enumerated() {
                if i > 0 { o.w.raw(",") }
                o.w.raw("{\"name\":")
                o.w.string(e.attr("Name") ?? e.text)
                o.w.raw(",\"address\":")
                o.w.string(e.text)
                o.w.raw("}")
            }
            o.w.raw("]")
        }
        for (g, key) in addressKeys where o.key(g) {
            o.w.raw("{")
            if let entry = entries(item, "PhysicalAddresses", keys: [key]).first {
                var first = true
                for p in addressParts {
                    guard let part = entry.child(p.ews) else { continue }
                    if !first { o.w.raw(",") }
                    first = false
                    o.w.string(p.graph)
                    o.w.raw(":")
                    o.w.string(part.text)
                }
            }
            o.w.raw("}")
        }
    }

    // MARK: writing

    /// Applies a contact's Graph properties to `item`; returns the EWS fields it changed (none when not `tracking`: a
    /// new contact's fields are all new). Throws Graph's 400 for an unknown property or a value of the wrong type,
    /// before anything is written.
    static func applyContact(
        _ body: [(String, JSON)], to item: inout StoredItem, tracking: Bool = true
    ) throws(GraphError) -> Set<String> {
        var changed = Set<String>()
        func track(_ field: String) { if tracking { changed.insert(field) } }
        for (name, value) in body {
            if name.hasPrefix("@odata.") { continue }
            if let e = contactStringsByGraph[name] {
                item.fields[e] = try GraphInput.string(value, name).map { XElement(e, text: $0) }
                track(e)
                continue
            }
            switch name {
            case "title", "yomiCompanyName":
                setHidden(&item, name, try GraphInput.string(value, name))
            case "categories":
                item.fields["Categories"] = try GraphInput.strings(value, name).map {
                    XElement("Categories", children: $0.map { XElement("String", text: $0) })
                }
                track("Categories")
            case "children":
                item.fields["Children"] = try GraphInput.strings(value, name).map {
                    XElement("Children", children: $0.map { XElement("String", text: $0) })
                }
                track("Children")
            case "imAddresses":
                let list = try GraphInput.strings(value, name) ?? []
                guard list.count <= 3 else { throw GraphError.invalidRequest("A contact has at most 3 IM addresses.") }
                setEntries(
                    &item, "ImAddresses", keys: ["ImAddress1", "ImAddress2", "ImAddress3"],
                    list.enumerated().map {
                        XElement("Entry", attributes: [("Key", "ImAddress\($0.offset + 1)")], text: $0.element)
                    })
                track("ImAddresses")
            case "emailAddresses":
                let list = try GraphInput.objects(value, name) ?? []
                guard list.count <= 3 else {
                    throw GraphError.invalidRequest("A contact has at most 3 email addresses.")
                }
                var entries: [XElement] = []
                for (i, o) in list.enumerated() {
                    try GraphInput.closed(o, "emailAddress", ["name", "address"])
                    let address = try GraphInput.string(o["address"] ?? .null, "address") ?? ""
                    var attrs = [("Key", "EmailAddress\(i + 1)")]
                    if let n = try GraphInput.string(o["name"] ?? .null, "name") { attrs.append(("Name", n)) }
                    entries.append(XElement("Entry", attributes: attrs, text: address))
                }
                setEntries(&item, "EmailAddresses", keys: ["EmailAddress1", "EmailAddress2", "EmailAddress3"], entries)
                track("EmailAddresses")
            case "businessPhones", "homePhones":
                let keys = name == "businessPhones" ? businessPhoneKeys : homePhoneKeys
                let list = try GraphInput.strings(value, name) ?? []
                guard list.count <= 2 else { throw GraphError.invalidRequest("A contact has at most 2 \(name).") }
                setEntries(
                    &item, "PhoneNumbers", keys: keys,
                    zip(keys, list).map { XElement("Entry", attributes: [("Key", $0)], text: $1) })
                track("PhoneNumbers")
            case "mobilePhone":
                let phone = try GraphInput.string(value, name)
                setEntries(
                    &item, "PhoneNumbers", keys: ["MobilePhone"],
                    phone.map { [XElement("Entry", attributes: [("Key", "MobilePhone")], text: $0)] } ?? [])
                track("PhoneNumbers")
            case "homeAddress", "businessAddress", "otherAddress":
                let key = addressKeys.first { $0.graph == name }!.ews
                var parts: [XElement] = []
                if !value.isNull {
                    guard let o = value.members else {
                        throw GraphError.wrongType(name, expected: "microsoft.graph.physicalAddress")
                    }
                    try GraphInput.closed(value, "physicalAddress", addressParts.map(\.graph))
                    for p in addressParts {
                        if let s = try GraphInput.string(o.first { $0.0 == p.graph }?.1 ?? .null, p.graph) {
                            parts.append(XElement(p.ews, text: s))
                        }
                    }
                }
                setEntries(
                    &item, "PhysicalAddresses", keys: [key],
                    parts.isEmpty ? [] : [XElement("Entry", attributes: [("Key", key)], children: parts)])
                track("PhysicalAddresses")
            case "birthday":
                if let s = try GraphInput.string(value, name) {
                    guard let t = GraphDates.instant(s) else {
                        throw GraphError.wrongType(name, expected: "Edm.DateTimeOffset")
                    }
                    item.fields["Birthday"] = XElement("Birthday", text: FieldValue.formatDate(t))
                } else {
                    item.fields["Birthday"] = nil
                }
                track("Birthday")
            case "personalNotes":
                item.fields["Body"] = try GraphInput.string(value, name).map {
                    XElement("Body", attributes: [("BodyType", "Text")], text: $0)
                }
                track("Body")
            case "singleValueExtendedProperties":
                try GraphExtendedProperty.apply(value, to: &item)
            case "id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId":
                continue  // read-only: Graph ignores them in a request body
            default:
                throw GraphError.invalidProperty(name, type: "microsoft.graph.contact")
            }
        }
        return changed
    }

    /// Replaces the entries with `keys` of dictionary field `name` by `entries`, keeping its other entries.
    static func setEntries(_ item: inout StoredItem, _ name: String, keys: [String], _ entries: [XElement]) {
        var kept = (item.fields[name]?.children ?? []).filter { !keys.contains($0.attr("Key") ?? "") }
        kept += entries
        item.fields[name] = kept.isEmpty ? nil : XElement(name, children: kept)
    }
}

/// Type checks of request bodies: Graph answers a value of the wrong type with 400, never by guessing.
enum GraphInput {
    static func string(_ v: JSON, _ name: String) throws(GraphError) -> String? {
        switch v {
        case .null: return nil
        case .string(let s): return s
        default: throw GraphError.wrongType(name, expected: "Edm.String")
        }
    }

    static func bool(_ v: JSON, _ name: String) throws(GraphError) -> Bool? {
        switch v {
        case .null: return nil
        case .bool(let b): return b
        default: throw GraphError.wrongType(name, expected: "Edm.Boolean")
        }
    }

    static func int(_ v: JSON, _ name: String) throws(GraphError) -> Int? {
        switch v {
        case .null: return nil
        case .int(let i) where i >= Int(Int32.min) && i <= Int(Int32.max): return i
        default: throw GraphError.wrongType(name, expected: "Edm.Int32")
        }
    }

    static func strings(_ v: JSON, _ name: String) throws(GraphError) -> [String]? {
        if v.isNull { return nil }
        guard let a = v.elements else { throw GraphError.wrongType(name, expected: "Collection(Edm.String)") }
        var out: [String] = []
        for e in a {
            guard let s = e.string else { throw GraphError.wrongType(name, expected: "Collection(Edm.String)") }
            out.append(s)
        }
        return out
    }

    static func objects(_ v: JSON, _ name: String) throws(GraphError) -> [JSON]? {
        if v.isNull { return nil }
        guard let a = v.elements, a.allSatisfy({ $0.members != nil }) else {
            throw GraphError.wrongType(name, expected: "Collection(Object)")
        }
        return a
    }

    /// A value of a closed complex type: an object with only `allowed` members (and annotations). The few names of
    /// a complex type are compared one by one: a `Set` built per call cost more than the check.
    static func closed(_ v: JSON, _ type: String, _ allowed: [String]) throws(GraphError) {
        guard let m = v.members else { throw GraphError.wrongType(type, expected: "microsoft.graph.\(type)") }
        for (k, _) in m where !allowed.contains(k) && !k.hasPrefix("@odata.") {
            throw GraphError.invalidProperty(k, type: "microsoft.graph.\(type)")
        }
    }

    /// An enum member (case-sensitive as in OData; Graph also accepts the name in any case on input).
    static func enumMember(_ v: JSON, _ name: String, _ members: [String]) throws(GraphError) -> String? {
        guard let s = try string(v, name) else { return nil }
        if members.contains(s) { return s }
        let lowered = s.lowercased()
        guard let m = members.first(where: { $0.lowercased() == lowered }) else {
            throw GraphError(
                400, "RequestBodyRead",
                "The value '\(s)' is not a valid member of the enumeration for property '\(name)'.")
        }
        return m
    }
}

/// `singleValueExtendedProperties`: Graph's `{"id": "String {GUID} Name X", "value": "..."}` is the same stored
/// property as EWS's `ExtendedFieldURI PropertySetId="GUID" PropertyName="X" PropertyType="String"`.
enum GraphExtendedProperty {
    static let types = [
        "String", "Integer", "Boolean", "SystemTime", "Long", "Double", "Short", "Binary", "CLSID", "Currency",
    ]

    /// The store's key of a Graph property id, and the EWS `ExtendedFieldURI` attributes it stands for.
    static func parse(_ id: String) -> (key: String, uri: [(String, String)])? {
        parsedIds(id).value.map { ($0.key, $0.uri) }
    }

    /// A parsed id, as the memo keeps it.
    struct ParsedId: Sendable {
        var key: String
        var uri: [(String, String)]
    }

    /// Ids parsed once per distinct text (clients name the same few properties on every request).
    static let parsedIds = TextMemo { id in Box(value: parseId(id).map { ParsedId(key: $0.key, uri: $0.uri) }) }

    /// The Graph ids of stored keys, once per distinct key.
    static let graphIds = TextMemo { key in Box(value: graphId(key: key)) }

    /// An optional memo value.
    struct Box<Value: Sendable>: Sendable { var value: Value? }

    private static func parseId(_ id: String) -> (key: String, uri: [(String, String)])? {
        let parts = id.split(separator: " ").map(String.init)
        guard parts.count == 2 || parts.count == 4,
            let type = types.first(where: { $0.lowercased() == parts[0].lowercased() })
        else { return nil }
        if parts.count == 2 {
            let t = parts[1].lowercased()
            guard t.hasPrefix("0x"), let n = UInt32(t.dropFirst(2), radix: 16) else { return nil }
            return ("tag:\(n):\(type)", [("PropertyTag", parts[1]), ("PropertyType", type)])
        }
        let guid = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "{}")).lowercased()
        guard UUID(uuidString: guid) != nil else { return nil }
        switch parts[2].lowercased() {
        case "name":
            return (
                "name:\(guid):\(parts[3]):\(type)",
                [("PropertySetId", guid), ("PropertyName", parts[3]), ("PropertyType", type)]
            )
        case "id":
            let t = parts[3].lowercased()
            guard let n = t.hasPrefix("0x") ? Int(t.dropFirst(2), radix: 16) : Int(t) else { return nil }
            return (
                "id:\(guid):\(n):\(type)", [("PropertySetId", guid), ("PropertyId", String(n)), ("PropertyType", type)]
            )
        default: return nil
        }
    }

    /// The Graph id of a stored property (nil for hidden and multi-valued ones).
    static func graphId(_ p: ExtendedProperty) -> String? {
        p.isMulti ? nil : graphIds(p.key).value
    }

    private static func graphId(key: String) -> String? {
        let parts = key.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "tag" where parts.count == 3: return "\(parts[2]) 0x\(String(UInt32(parts[1]) ?? 0, radix: 16))"
        case "name" where parts.count >= 4:
            return "\(parts.last!) {\(parts[1])} Name \(parts[2..<(parts.count - 1)].joined(separator: ":"))"
        case "id" where parts.count == 4:
            return "\(parts[3]) {\(parts[1])} Id 0x\(String(Int(parts[2]) ?? 0, radix: 16))"
        default: return nil
        }
    }

    static func apply(_ value: JSON, to item: inout StoredItem) throws(GraphError) {
        guard let list = try GraphInput.objects(value, "singleValueExtendedProperties") else { return }
        for o in list {
            try GraphInput.closed(o, "singleValueLegacyExtendedProperty", ["id", "value"])
            guard let id = try GraphInput.string(o["id"] ?? .null, "id"), let parsed = parse(id) else {
                throw GraphError(400, "ErrorInvalidProperty", "The extended property id is invalid.")
            }
            let key = parsed.key, uri = parsed.uri
            let v = try GraphInput.string(o["value"] ?? .null, "value") ?? ""
            item.extended.removeAll { $0.key == key }
            item.extended.append(ExtendedProperty(key: key, uri: uri, values: [v], isMulti: false))
        }
    }

    static func json(_ p: ExtendedProperty) -> JSON? {
        graphId(p).map { .object([("id", .string($0)), ("value", .string(p.values.first ?? ""))]) }
    }
}

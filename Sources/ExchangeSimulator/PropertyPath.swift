/// A property reference from a request (`FieldURI`, `IndexedFieldURI`, `ExtendedFieldURI`).
enum PropertyPath: Sendable {
    /// A top-level element of the item, by element name (`item:Subject` -> `Subject`).
    case field(String)
    /// An entry of a dictionary element (`contacts:EmailAddress` + `EmailAddress1`), optionally a
    /// sub-element of the entry (`contacts:PhysicalAddress:Street`).
    case indexed(element: String, sub: String?, key: String)
    /// An extended property by normalised key.
    case extended(key: String, uri: XElement)

    private static let dictionaries: [String: String] = [
        "EmailAddress": "EmailAddresses", "PhoneNumber": "PhoneNumbers", "ImAddress": "ImAddresses",
        "PhysicalAddress": "PhysicalAddresses", "Url": "Urls",
    ]

    /// Parses a path element; `nil` when it is not one.
    static func parse(_ e: XElement) -> PropertyPath? {
        switch e.name {
        case "FieldURI":
            guard let uri = e.attr("FieldURI") else { return nil }
            return .field(elementName(uri))
        case "IndexedFieldURI":
            guard let uri = e.attr("FieldURI"), let index = e.attr("FieldIndex") else { return nil }
            let parts = uri.split(separator: ":").map(String.init)
            guard parts.count >= 2 else { return nil }
            let element = dictionaries[parts[1]] ?? parts[1]
            return .indexed(element: element, sub: parts.count > 2 ? parts[2] : nil, key: index)
        case "ExtendedFieldURI":
            guard let key = ExtendedProperty.key(of: e) else { return nil }
            return .extended(key: key, uri: e)
        default:
            return nil
        }
    }

    /// `item:Subject` -> `Subject`, `calendar:Start` -> `Start`.
    static func elementName(_ uri: String) -> String {
        if let i = uri.lastIndex(of: ":") { return String(uri[uri.index(after: i)...]) }
        return uri
    }

    /// The top-level element this path reads or writes (nil for extended properties).
    var elementName: String? {
        switch self {
        case .field(let n): n
        case .indexed(let e, _, _): e
        case .extended: nil
        }
    }

    /// The value of this path on `item` as text, `nil` when the item does not have it.
    func value(in item: StoredItem) -> String? {
        switch self {
        case .field(let name):
            guard let e = item.fields[name] else { return nil }
            if e.children.isEmpty { return e.value }
            return e.children.map(\.value).joined(separator: ";")
        case .indexed(let element, let sub, let key):
            guard let entry = item.fields[element]?.children.first(where: { $0.attr("Key") == key }) else { return nil }
            if let sub { return entry.child(sub)?.value }
            return entry.value
        case .extended(let key, _):
            if let computed = MAPIProperty.byKey[key] { return computed.value(in: item) }
            guard let p = item.extended.first(where: { $0.key == key }) else { return nil }
            return p.isMulti ? p.values.joined(separator: ";") : p.values.first
        }
    }
}

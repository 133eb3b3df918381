import Foundation

/// The open extension (`openTypeExtension`) a To Do task carries its percentage in. To Do's `todoTask` has no
/// percentage of its own; the simulator keeps this extension's `percentComplete` in the task's `PercentComplete`, the
/// property EWS reads and writes, so both protocols see one stored value: a percentage written through EWS reads back
/// through Graph, and the reverse. Every task therefore has the extension. Other extension names, and other custom
/// properties in this one, are not kept: they are a 400, never a silent loss.
enum GraphTaskExtension {
    static let name = "com.snapsync.task"
    static let typePrefix = "microsoft.graph.openTypeExtension."
    static let id = typePrefix + name
    static let property = "percentComplete"

    /// Whether a path segment or `$filter` literal names the extension (by name or fully qualified id).
    static func names(_ text: String) -> Bool {
        // As written (the common case) without lower-casing it.
        if text == name || text == id { return true }
        let t = text.lowercased()
        return t == name || t == lowercasedId
    }

    private static let lowercasedId = id.lowercased()

    /// The task's percentage as stored (0 when EWS never set one).
    static func percentage(_ item: StoredItem) -> Int {
        guard let text = item.fields["PercentComplete"]?.value else { return 0 }
        return FieldValue.percent(text)
    }

    /// The extension as Graph returns it, written to `w` (an expanded task's `extensions` element).
    static func write(_ item: StoredItem, to w: inout JSONWriter) {
        w.raw("{\"@odata.type\":\"#microsoft.graph.openTypeExtension\",\"id\":")
        w.string(id)
        w.raw(",\"extensionName\":")
        w.string(name)
        w.raw(",\"percentComplete\":")
        w.int(percentage(item))
        w.raw("}")
    }

    /// The extension as Graph returns it.
    static func json(_ item: StoredItem, context: String? = nil) -> JSON {
        var members: [(String, JSON)] = []
        if let context { members.append(("@odata.context", .string(context))) }
        members += [
            ("@odata.type", .string("#microsoft.graph.openTypeExtension")), ("id", .string(id)),
            ("extensionName", .string(name)), (property, .int(percentage(item))),
        ]
        return .object(members)
    }

    /// Applies an extension body (a create's `extensions` element, a POST or a PATCH of the extension) to `item`;
    /// returns the EWS fields changed.
    static func apply(_ body: [(String, JSON)], to item: inout StoredItem) throws(GraphError) -> Set<String> {
        var percent: Int?
        for (key, value) in body {
            switch key {
            case "@odata.type":
                guard let t = value.string,
                    t == "#microsoft.graph.openTypeExtension"
                        || (t.hasPrefix("#") ? t.dropFirst() : t[...]).lowercased()
                            == "microsoft.graph.opentypeextension"
                else { throw GraphError.wrongType(key, expected: "#microsoft.graph.openTypeExtension") }
            case "extensionName", "id":
                guard let n = try GraphInput.string(value, key), names(n) else {
                    throw GraphError.notSupported("An open extension other than '\(name)'")
                }
            case property:
                guard let p = try GraphInput.int(value, key), (0...100).contains(p) else {
                    throw GraphError.wrongType(key, expected: "an integer from 0 to 100")
                }
                percent = p
            default:
                throw GraphError.notSupported("The custom property '\(key)' of the open extension '\(name)'")
            }
        }
        guard let percent else { return [] }
        item.fields["PercentComplete"] = XElement("PercentComplete", text: String(percent))
        return ["PercentComplete"]
    }

    /// A create's `extensions` array: each element must be this extension.
    static func applyList(_ value: JSON, to item: inout StoredItem) throws(GraphError) -> Set<String> {
        guard let list = try GraphInput.objects(value, "extensions") else { return [] }
        var changed = Set<String>()
        for element in list {
            guard let members = element.members else { throw GraphError.wrongType("extensions", expected: "object") }
            guard members.contains(where: { $0.0 == "extensionName" }) else {
                throw GraphError.invalidRequest("An open extension needs an extensionName.")
            }
            changed.formUnion(try apply(members, to: &item))
        }
        return changed
    }

    /// The extensions a task's `$expand` asks for: nil when `extensions` is not expanded, else this extension when
    /// the expansion has no filter or its `id eq '…'` filter names it.
    static func expanded(_ expansion: GraphExpansion?) throws(GraphError) -> Bool? {
        guard let expansion else { return nil }
        for part in expansion.parts where part.name == "extensions" {
            guard let ids = try part.filterIds.get() else { return true }
            return ids.contains(where: names)
        }
        return nil
    }
}

import Foundation

/// The `$filter` subset the connector and the SDK use, evaluated on stored items:
/// - `singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')`;
/// - `name eq 'text'` (and `ne`) on a string property the kind maps, and `startswith(name,'text')`;
/// - `a and b` of these.
///
/// Anything else is a 400, never a filter silently ignored.
struct GraphFilter: Sendable {
    indirect enum Node: Sendable {
        case extended(key: String, value: String?)
        case compare(property: String, value: String, equal: Bool)
        case startsWith(property: String, prefix: String)
        case and(Node, Node)
    }

    let root: Node

    /// `resolve` gives the text of a Graph property of an item (nil: not a filterable property of the kind).
    init(_ text: String, properties: Set<String>) throws(GraphError) {
        root = try Self.parse(text.trimmingCharacters(in: .whitespaces), properties: properties)
    }

    func matches(_ item: StoredItem, value: (StoredItem, String) -> String?) -> Bool {
        Self.eval(root, item, value)
    }

    private static func eval(_ n: Node, _ item: StoredItem, _ value: (StoredItem, String) -> String?) -> Bool {
        switch n {
        case .extended(let key, let v):
            guard let p = item.extended.first(where: { $0.key == key }) else { return false }
            return v.map { p.values.first == $0 } ?? true
        case .compare(let property, let v, let equal):
            return ((value(item, property) ?? "").lowercased() == v.lowercased()) == equal
        case .startsWith(let property, let prefix):
            return (value(item, property) ?? "").lowercased().hasPrefix(prefix.lowercased())
        case .and(let a, let b):
            return eval(a, item, value) && eval(b, item, value)
        }
    }

    static func unsupported(_ text: String) -> GraphError {
        GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes: '\(text)'.")
    }

    private static func parse(_ text: String, properties: Set<String>) throws(GraphError) -> Node {
        let parts = splitTopLevel(text, " and ")
        if parts.count > 1 {
            var node = try parse(parts[0].trimmingCharacters(in: .whitespaces), properties: properties)
            for p in parts.dropFirst() {
                node = .and(node, try parse(p.trimmingCharacters(in: .whitespaces), properties: properties))
            }
            return node
        }
        let lower = text.lowercased()
        if lower.hasPrefix("singlevalueextendedproperties/any(") {
            guard text.hasSuffix(")"), let colon = text.firstIndex(of: ":") else { throw unsupported(text) }
            let variable = text[text.index(text.startIndex, offsetBy: 34)..<colon].trimmingCharacters(in: .whitespaces)
            let body = String(text[text.index(after: colon)..<text.index(before: text.endIndex)])
            var id: String?, value: String?
            for clause in splitTopLevel(body, " and ") {
                guard let pair = equality(clause) else { throw unsupported(text) }
                let (lhs, v) = pair
                switch lhs.lowercased() {
                case "\(variable.lowercased())/id": id = v
                case "\(variable.lowercased())/value": value = v
                default: throw unsupported(text)
                }
            }
            guard let id, let key = GraphExtendedProperty.parse(id)?.key else { throw unsupported(text) }
            return .extended(key: key, value: value)
        }
        if lower.hasPrefix("startswith(") && text.hasSuffix(")") {
            let inner = text.dropFirst(11).dropLast()
            let args = splitTopLevel(String(inner), ",")
            guard args.count == 2, properties.contains(args[0].trimmingCharacters(in: .whitespaces)),
                let prefix = literal(args[1].trimmingCharacters(in: .whitespaces))
            else { throw unsupported(text) }
            return .startsWith(property: args[0].trimmingCharacters(in: .whitespaces), prefix: prefix)
        }
        for (op, equal) in [(" eq ", true), (" ne ", false)] {
            let sides = splitTopLevel(text, op)
            if sides.count == 2 {
                let property = sides[0].trimmingCharacters(in: .whitespaces)
                guard properties.contains(property), let v = literal(sides[1].trimmingCharacters(in: .whitespaces))
                else {
                    throw unsupported(text)
                }
                return .compare(property: property, value: v, equal: equal)
            }
        }
        throw unsupported(text)
    }

    /// `lhs eq 'literal'` → (lhs, literal).
    private static func equality(_ clause: String) -> (String, String)? {
        let sides = splitTopLevel(clause, " eq ")
        guard sides.count == 2, let v = literal(sides[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        return (sides[0].trimmingCharacters(in: .whitespaces), v)
    }

    /// An OData string literal (`'it''s'` → `it's`).
    static func literal(_ s: String) -> String? {
        guard s.count >= 2, s.hasPrefix("'"), s.hasSuffix("'") else { return nil }
        return String(s.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
    }

    /// The ids of `id eq '…'` clauses joined by `or` (an `$expand` of extended properties).
    static func extendedIds(_ text: String) throws(GraphError) -> Set<String> {
        var ids = Set<String>()
        for clause in splitTopLevel(text, " or ") {
            guard let pair = equality(clause), pair.0.lowercased() == "id" else { throw unsupported(text) }
            ids.insert(pair.1)
        }
        return ids
    }

    /// Splits on `separator` outside quotes and parentheses (case-insensitive for word operators).
    static func splitTopLevel(_ text: String, _ separator: String) -> [String] {
        let chars = Array(text), sep = Array(separator.lowercased())
        var out: [String] = [], cur: [Character] = [], depth = 0, quoted = false, i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "'" { quoted.toggle() }
            if !quoted {
                if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
                if depth == 0, i + sep.count <= chars.count,
                    String(chars[i..<(i + sep.count)]).lowercased() == String(sep)
                {
                    out.append(String(cur)); cur = []; i += sep.count; continue
                }
            }
            cur.append(c); i += 1
        }
        out.append(String(cur))
        return out
    }
}

/// A FindItem `Restriction`, compiled once per request and evaluated per item.
indirect enum Restriction: Sendable {
    case and([Restriction])
    case or([Restriction])
    case not(Restriction)
    case exists(PropertyPath)
    case compare(PropertyPath, Comparison, Operand)
    case contains(PropertyPath, String, mode: String, ignoreCase: Bool)

    enum Comparison: String, Sendable {
        case equal = "IsEqualTo", notEqual = "IsNotEqualTo", greater = "IsGreaterThan"
        case greaterOrEqual = "IsGreaterThanOrEqualTo", less = "IsLessThan", lessOrEqual = "IsLessThanOrEqualTo"
    }

    enum Operand: Sendable {
        case constant(String)
        case path(PropertyPath)
    }

    /// Parses the single child of `Restriction` (or of And/Or/Not).
    static func parse(_ e: XElement) throws(EWSFailure) -> Restriction {
        func path(_ e: XElement) throws(EWSFailure) -> PropertyPath {
            guard let p = e.children.first.flatMap(PropertyPath.parse) else {
                throw .schemaValidation("\(e.name) requires a property path.")
            }
            return p
        }
        switch e.name {
        case "And", "Or":
            var parts: [Restriction] = []
            for c in e.children { parts.append(try parse(c)) }
            return e.name == "And" ? .and(parts) : .or(parts)
        case "Not":
            guard let c = e.children.first else { throw .schemaValidation("Not requires an expression.") }
            return .not(try parse(c))
        case "Exists":
            return .exists(try path(e))
        case "Contains":
            guard let c = e.child("Constant")?.attr("Value") else {
                throw .schemaValidation("Contains requires a Constant.")
            }
            let cmp = e.attr("ContainmentComparison") ?? "Exact"
            return .contains(
                try path(e), c, mode: e.attr("ContainmentMode") ?? "FullString",
                ignoreCase: cmp.contains("IgnoreCase") || cmp == "Loose")
        default:
            guard let op = Comparison(rawValue: e.name) else {
                throw .schemaValidation("The restriction element '\(e.name)' is not supported.")
            }
            guard let rhs = e.child("FieldURIOrConstant")?.children.first else {
                throw .schemaValidation("\(e.name) requires FieldURIOrConstant.")
            }
            if rhs.name == "Constant" { return .compare(try path(e), op, .constant(rhs.attr("Value") ?? "")) }
            guard let p = PropertyPath.parse(rhs) else { throw .schemaValidation("Invalid FieldURIOrConstant.") }
            return .compare(try path(e), op, .path(p))
        }
    }

    func matches(_ item: StoredItem) -> Bool {
        switch self {
        case .and(let parts): return parts.allSatisfy { $0.matches(item) }
        case .or(let parts): return parts.contains { $0.matches(item) }
        case .not(let r): return !r.matches(item)
        case .exists(let p): return p.value(in: item) != nil
        case .contains(let p, let needle, let mode, let ignoreCase):
            guard var v = p.value(in: item) else { return false }
            var n = needle
            if ignoreCase { v = v.lowercased(); n = n.lowercased() }
            switch mode {
            case "Substring": return v.contains(n)
            case "Prefixed": return v.hasPrefix(n)
            case "PrefixOnWords": return v.hasPrefix(n) || v.contains(" " + n)
            case "ExactPhrase": return v.contains(n)
            default: return v == n
            }
        case .compare(let p, let op, let rhs):
            guard let a = p.value(in: item) else { return op == .notEqual }
            let b: String
            switch rhs {
            case .constant(let c): b = c
            case .path(let q): guard let v = q.value(in: item) else { return false }; b = v
            }
            let c = FieldValue.compare(a, b)
            switch op {
            case .equal: return c == 0
            case .notEqual: return c != 0
            case .greater: return c > 0
            case .greaterOrEqual: return c >= 0
            case .less: return c < 0
            case .lessOrEqual: return c <= 0
            }
        }
    }
}

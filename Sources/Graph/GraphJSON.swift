import Foundation

/// A JSON value as Graph sends and takes it. Parsing accepts members in any order and keeps unknown ones (the
/// mapping reads what it knows); a number is a `Double` (Graph's integers in use are small).
public enum GraphJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([GraphJSON])
    case object(Members)

    public subscript(key: String) -> GraphJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var int: Int? {
        if case .number(let n) = self, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        return nil
    }
    public var array: [GraphJSON]? { if case .array(let a) = self { a } else { nil } }
    public var object: Members? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { self == .null }

    /// Parses a body; throws ``GraphError`` with the code `.decoding` on malformed JSON (``GraphJSONParser``: a page
    /// of 1,000 events reads in a third of the CPU time Foundation's JSONSerialization and the conversion of its
    /// objects took).
    ///
    /// With `keeping`, only members of those names are read, at any depth: the others are checked and skipped (an
    /// answer of which only ids and links are used reads without making the rest).
    public static func parse(_ bytes: [UInt8], keeping: Set<String>? = nil) throws(GraphError) -> GraphJSON {
        do {
            return try GraphJSONParser.parse(bytes, keeping: keeping)
        } catch {
            throw GraphError(.decoding("malformed JSON at byte \(error.offset): \(error.reason)"), operation: "decode")
        }
    }

    /// The value as compact JSON text.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 {
                out.append(contentsOf: String(Int64(n)).utf8)
            } else {
                out.append(contentsOf: String(n).utf8)
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Members in their order: the same object is always written the same way.
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most text needs no escape: checked and copied whole from its contiguous bytes.
        var text = s
        text.withUTF8 { bytes in
            guard bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out += [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        hex[Int(byte >> 4)],
                        hex[Int(byte & 0xF)],
                    ]
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension GraphJSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral, ExpressibleByIntegerLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(dictionaryLiteral elements: (String, GraphJSON)...) { self = .object(Members(elements)) }
    public init(arrayLiteral elements: GraphJSON...) { self = .array(elements) }

    /// A string, or null for nil.
    public static func text(_ value: String?) -> GraphJSON { value.map(GraphJSON.string) ?? .null }
}

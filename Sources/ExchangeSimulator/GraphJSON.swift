import Foundation

/// A JSON value as the Graph front-end reads and writes it. Objects keep their member order (Graph's
/// responses list `@odata.*` annotations first), and numbers keep whether they were written as integers,
/// so `"15"`, `15.0` and `15` stay three different things, as OData tells them apart.
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])
    /// JSON text written already (an entity rendered straight to bytes), copied as it is into the text around it.
    case raw([UInt8])

    static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.raw(let x), .raw(let y)): x == y
        default: false
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    var string: String? { if case .string(let s) = self { return s }; return nil }
    var members: [(String, JSON)]? { if case .object(let m) = self { return m }; return nil }
    var elements: [JSON]? { if case .array(let a) = self { return a }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }

    /// The JSON text of this value.
    var bytes: [UInt8] {
        if case .raw(let text) = self { return text }
        var w = JSONWriter(capacity: 512)
        w.value(self)
        return w.bytes
    }
}

/// Appends JSON text to a byte buffer, escaping strings as RFC 8259 requires.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            // The runs between the bytes that need escaping are copied whole; most strings have none.
            var start = 0, high: UInt8 = 0
            while true {
                let index = JSONPlainRun.end(of: utf8, from: start, orInto: &high)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                guard index < utf8.count else { break }
                let b = utf8[index]
                start = index + 1
                switch b {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)],
                    ])
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func value(_ v: JSON) {
        switch v {
        case .null: raw("null")
        case .bool(let b): if b { raw("true") } else { raw("false") }
        case .int(let i): bytes.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 {
                bytes.append(contentsOf: String(Int(d)).utf8)
            } else {
                bytes.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
            }
        case .string(let s): string(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (i, e) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                value(e)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (i, (k, e)) in members.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                string(k)
                bytes.append(UInt8(ascii: ":"))
                value(e)
            }
            bytes.append(UInt8(ascii: "}"))
        case .raw(let text): bytes.append(contentsOf: text)
        }
    }

    /// `"name":` for a member name of the service's own (ASCII letters, digits, `@` and `.`: nothing to escape),
    /// copied without looking for characters to escape.
    mutating func name(_ name: String) {
        bytes.append(UInt8(ascii: "\""))
        var name = name
        name.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func int(_ i: Int) { bytes.append(contentsOf: String(i).utf8) }
    mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }
    /// A string, or `null` for nil.
    mutating func string(_ s: String?) { if let s { string(s) } else { raw("null") } }
}

/// An entity's object written straight to JSON text, member by member, for the members the request's `$select`
/// names (with annotations and `id`, as Graph always returns them): what `GraphService.select` does to a tree, without
/// the tree. A page of 1,000 events or a `$batch` of created items was mostly the building and freeing of trees that
/// were only serialised.
struct JSONObjectWriter {
    var w: JSONWriter
    private let wanted: SelectedNames?
    private var empty = true

    init(capacity: Int = 2048, select wanted: SelectedNames?) {
        w = JSONWriter(capacity: capacity)
        self.wanted = wanted
    }

    /// Starts member `name` and returns true, or returns false when `$select` leaves it out (unless `always`: an
    /// expansion, which `$select` does not filter).
    mutating func key(_ name: String, always: Bool = false) -> Bool {
        if !always, let wanted, name != "id", name.utf8.first != UInt8(ascii: "@"), !wanted.contains(name) {
            return false
        }
        w.bytes.append(empty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        empty = false
        w.name(name)
        return true
    }

    // The values are taken as closures: a member `$select` leaves out is not computed (most of a listing page's are).
    mutating func string(_ name: String, _ value: @autoclosure () -> String?) { if key(name) { w.string(value()) } }
    mutating func bool(_ name: String, _ value: @autoclosure () -> Bool) { if key(name) { w.bool(value()) } }
    mutating func int(_ name: String, _ value: @autoclosure () -> Int) { if key(name) { w.int(value()) } }
    mutating func value(_ name: String, _ value: @autoclosure () -> JSON) { if key(name) { w.value(value()) } }

    /// An array of strings.
    mutating func strings<S: Sequence<String>>(_ name: String, _ values: @autoclosure () -> S) {
        guard key(name) else { return }
        let values = values()
        w.bytes.append(UInt8(ascii: "["))
        for (i, s) in values.enumerated() {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            w.string(s)
        }
        w.bytes.append(UInt8(ascii: "]"))
    }

    /// The object's text.
    consuming func finish() -> JSON {
        if empty { w.bytes.append(UInt8(ascii: "{")) }
        w.bytes.append(UInt8(ascii: "}"))
        return .raw(w.bytes)
    }
}

/// The member names a `$select` keeps, parsed once per request. A bit per length and first byte of the names rules out
/// most other names without hashing them (an entity has dozens of members; a `$select` names a few).
struct SelectedNames: Sendable {
    let names: Set<String>
    private let bits: UInt64

    init(_ names: Set<String>) {
        self.names = names
        bits = names.reduce(0) { $0 | Self.bit($1) }
    }

    func contains(_ name: String) -> Bool { bits & Self.bit(name) != 0 && names.contains(name) }

    private static func bit(_ name: String) -> UInt64 {
        let utf8 = name.utf8
        return 1 << ((UInt64(utf8.count) &* 7 &+ UInt64(utf8.first ?? 0)) & 63)
    }
}

/// The bytes a JSON string holds as they are (not a quote, a backslash or a control character), found eight at a time:
/// most strings, read or written, are nothing else.
enum JSONPlainRun {
    /// Where the run of such bytes from `start` ends in `text` (at its end when it holds no other). The bytes passed
    /// over are OR-ed into `high`, whose top bit then tells whether any was not ASCII.
    static func end(of text: UnsafeBufferPointer<UInt8>, from start: Int, orInto high: inout UInt8) -> Int {
        guard let base = text.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
        var k = start, seen: UInt64 = 0
        while k + 8 <= text.count {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self))
            let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
            // A byte that is 0 (in `quote`, `backslash`) or below 0x20 (in `w`) sets its top bit here.
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)
            if special & tops != 0 { break }
            seen |= w
            k += 8
        }
        if seen & tops != 0 { high |= 0x80 }
        while k < text.count {
            let b = base[k]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            high |= b
            k += 1
        }
        return k
    }
}

/// A strict JSON parser (RFC 8259): no trailing commas, no comments, no duplicate member names, nesting at
/// most 64 deep. Graph answers anything else with 400 `BadRequest`.
struct JSONParser {
    struct Failure: Error { var message: String }

    /// The text, valid during `parse`.
    private let u: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0
    /// The members and elements of the objects and arrays being read, innermost last.
    private var memberStack: [(String, JSON)] = []
    private var elementStack: [JSON] = []

    static func parse(_ data: Data) throws(Failure) -> JSON {
        let result = data.withUnsafeBytes { raw -> Result<JSON, Failure> in
            var p = JSONParser(u: raw.bindMemory(to: UInt8.self))
            do throws(Failure) {
                p.skipSpace()
                let v = try p.value()
                p.skipSpace()
                guard p.i == p.u.count else {
                    throw Failure(message: "Unexpected content after the JSON value at offset \(p.i).")
                }
                return .success(v)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(u: UnsafeBufferPointer<UInt8>) {
        self.u = u
        memberStack.reserveCapacity(64)
        elementStack.reserveCapacity(32)
    }

    private mutating func skipSpace() {
        while i < u.count, u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0A || u[i] == 0x0D { i += 1 }
    }

    private func fail(_ what: String) -> Failure { Failure(message: "Invalid JSON at offset \(i): \(what).") }

    private mutating func value() throws(Failure) -> JSON {
        guard i < u.count else { throw fail("unexpected end") }
        switch u[i] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth <= 64 else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            i += 1; skipSpace()
            if i < u.count, u[i] == UInt8(ascii: "}") { i += 1; return .object([]) }
            // The members are gathered on the parser's stack and copied once, at the object's end, into an array of
            // their number (appending to an array per object grew it three or four times).
            let base = memberStack.count
            defer { memberStack.removeSubrange(base...) }
            // Duplicates are looked for in the members themselves while an object is small (most are: a hash per
            // name cost more than the comparisons), in a set of the names beyond that.
            var names: Set<String>?
            while true {
                skipSpace()
                guard i < u.count, u[i] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let k = try string()
                if memberStack.count - base == 16 { names = Set(memberStack[base...].map(\.0)) }
                let duplicate =
                    if names != nil { !names!.insert(k).inserted } else { memberStack[base...].contains { $0.0 == k } }
                guard !duplicate else { throw fail("duplicate member '\(k)'") }
                skipSpace()
                guard i < u.count, u[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1; skipSpace()
                let v = try value()
                memberStack.append((k, v))
                skipSpace()
                guard i < u.count else { throw fail("unexpected end") }
                if u[i] == UInt8(ascii: ",") { i += 1; continue }
                if u[i] == UInt8(ascii: "}") { i += 1; return .object(Array(memberStack[base...])) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= 64 else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            i += 1; skipSpace()
            if i < u.count, u[i] == UInt8(ascii: "]") { i += 1; return .array([]) }
            // As an object's members: on the stack, copied once.
            let base = elementStack.count
            defer { elementStack.removeSubrange(base...) }
            while true {
                skipSpace()
                let v = try value()
                elementStack.append(v)
                skipSpace()
                guard i < u.count else { throw fail("unexpected end") }
                if u[i] == UInt8(ascii: ",") { i += 1; continue }
                if u[i] == UInt8(ascii: "]") { i += 1; return .array(Array(elementStack[base...])) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= u.count else { throw fail("unexpected end") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for k in 0..<n where u[i + k] != expected[k] { throw fail("unexpected character") }
        i += n
    }

    private mutating func number() throws(Failure) -> JSON {
        let start = i
        if i < u.count, u[i] == UInt8(ascii: "-") { i += 1 }
        func digits() -> Int { let s = i; while i < u.count, u[i] >= 48, u[i] <= 57 { i += 1 }; return i - s }
        let intDigits = digits()
        guard intDigits > 0 else { throw fail("unexpected character") }
        if intDigits > 1, u[i - intDigits] == 48 { throw fail("leading zero") }
        var integral = true
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1; integral = false; guard digits() > 0 else { throw fail("bad number") }
        }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1; integral = false
            if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("bad number") }
        }
        let text = String(decoding: u[start..<i], as: UTF8.self)
        if integral, let n = Int(text) { return .int(n) }
        guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
        return .double(d)
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        var out: [UInt8] = []
        var runStart = i
        // Whether a byte of the string is not ASCII: an ASCII string is UTF-8 as it is and needs no validation.
        var nonASCII: UInt8 = 0
        while true {
            i = JSONPlainRun.end(of: u, from: i, orInto: &nonASCII)
            guard i < u.count else { throw fail("unterminated string") }
            let b = u[i]
            if b == UInt8(ascii: "\""), out.isEmpty {
                // No escapes (most strings): the String is made from the input's bytes, without a buffer between.
                i += 1
                guard
                    let s = Self.validated(UnsafeBufferPointer(rebasing: u[runStart..<(i - 1)]), ascii: nonASCII < 0x80)
                else { throw fail("invalid UTF-8") }
                return s
            }
            if b == UInt8(ascii: "\"") { out.append(contentsOf: u[runStart..<i]); i += 1; break }
            if b < 0x20 { throw fail("control character in string") }
            out.append(contentsOf: u[runStart..<i])
            i += 1
            guard i < u.count else { throw fail("unterminated string") }
            let e = u[i]; i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < u.count, u[i] == UInt8(ascii: "\\"), u[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("lone surrogate")
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: throw fail("bad escape")
            }
            runStart = i
        }
        guard let s = out.withUnsafeBufferPointer({ Self.validated($0, ascii: nonASCII < 0x80) }) else {
            throw fail("invalid UTF-8")
        }
        return s
    }

    /// The string of `input`, or nil when it is not UTF-8. `String(validating:as:)` is not specialised for a
    /// slice (it looked up generic metadata for every string: a third of reading a `$batch`); `String(decoding:as:)`
    /// is, and replaces what is not UTF-8, so a string that decodes to its own bytes (compared with `memcmp`, not
    /// element by element) was valid. ASCII bytes are UTF-8 already.
    private static func validated(_ input: UnsafeBufferPointer<UInt8>, ascii: Bool) -> String? {
        var s = String(decoding: input, as: UTF8.self)
        if ascii { return s }
        let same = s.withUTF8 { decoded in
            decoded.count == input.count
                && (input.isEmpty || memcmp(decoded.baseAddress!, input.baseAddress!, input.count) == 0)
        }
        return same ? s : nil
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= u.count else { throw fail("bad \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = u[i]; i += 1
            switch c {
            case 48...57: v = v << 4 | UInt32(c - 48)
            case 65...70: v = v << 4 | UInt32(c - 55)
            case 97...102: v = v << 4 | UInt32(c - 87)
            default: throw fail("bad \\u escape")
            }
        }
        return v
    }
}

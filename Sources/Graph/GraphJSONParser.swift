/// Reads JSON text (RFC 8259) straight from its bytes into ``GraphJSON``: no intermediate Foundation objects, strings
/// validated as UTF-8 and made once. Refuses what is not JSON (trailing text, bad escapes, invalid UTF-8, nesting
/// deeper than ``maxDepth``) with the offset where it stopped.
struct GraphJSONParser {
    /// Deeper nesting than any Graph answer has is refused rather than followed (a stack overflow otherwise).
    static let maxDepth = 256

    struct Failure: Error {
        var offset: Int
        var reason: String
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// The members of the objects being read, innermost last: each object's dictionary is made once, at its size.
    private var members: [(String, GraphJSON)] = []
    /// The only member names read, at any depth (nil: all); other members are checked as JSON and skipped.
    private let keeping: Set<String>?
    /// `keeping`'s names as UTF-8, one after the other, and where each is in it: a name without escapes is compared
    /// as bytes, before any string is made of it.
    private let keptBytes: [UInt8]
    private let keptNames: [Range<Int>]

    private init(_ bytes: UnsafeBufferPointer<UInt8>, keeping: Set<String>?) {
        self.bytes = bytes
        self.keeping = keeping
        var keptBytes: [UInt8] = [], keptNames: [Range<Int>] = []
        for name in keeping ?? [] {
            keptNames.append(keptBytes.count..<keptBytes.count + name.utf8.count)
            keptBytes.append(contentsOf: name.utf8)
        }
        self.keptBytes = keptBytes
        self.keptNames = keptNames
    }

    /// Whether the member name at `index` (its opening quote) is one to read, decided on its bytes without making a
    /// string of it, and the index of its closing quote; nil for a name with escapes or control characters (decided,
    /// or refused, once it is read).
    private func nameIsKept() -> (kept: Bool, end: Int)? {
        guard keeping != nil else { return (true, index) }  // read whole: `end` is not needed
        var high: UInt8 = 0
        let end = plainRun(from: index + 1, high: &high)
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let count = end - index - 1
        names: for name in keptNames where name.count == count {
            for offset in 0..<count where keptBytes[name.lowerBound + offset] != bytes[index + 1 + offset] {
                continue names
            }
            return (true, end)
        }
        return (false, end)
    }

    static func parse(_ bytes: [UInt8], keeping: Set<String>? = nil) throws(Failure) -> GraphJSON {
        let result: Result<GraphJSON, Failure> = bytes.withUnsafeBufferPointer { buffer in
            var parser = GraphJSONParser(buffer, keeping: keeping)
            do throws(Failure) {
                parser.skipWhitespace()
                let value = try parser.value()
                parser.skipWhitespace()
                guard parser.index == buffer.count else { throw parser.failure("text after the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func failure(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    /// The index of the first byte from `start` that ends a string's plain run (a quote, a backslash or a control
    /// character), or the end of the input; `high` collects the bits of the bytes passed (for an ASCII check).
    /// Eight bytes are tested at a time: text, ids and dates are long runs of plain bytes.
    private func plainRun(from start: Int, high: inout UInt8) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        var seen: UInt64 = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= bytes.count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
                // A byte of zero in `quote` or `backslash`, or a byte below 0x20 in `word`, sets its high bit here
                // (bits above a first match may be set wrongly: the bytes are then looked at one by one).
                let special =
                    ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word)
                    & highs
                if special != 0 { break }
                seen |= word
                i += 8
            }
        }
        if seen & highs != 0 { high |= 0x80 }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return i }
            high |= byte
            i += 1
        }
        return i
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(Failure) -> GraphJSON {
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("not a JSON value")
        }
        index += count
    }

    private mutating func nest() throws(Failure) {
        depth += 1
        guard depth <= Self.maxDepth else { throw failure("nested too deeply") }
        index += 1
        skipWhitespace()
    }

    private mutating func object() throws(Failure) -> GraphJSON {
        try nest()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object([:])
        }
        let first = members.count
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure("a member name expected")
            }
            let name = nameIsKept()
            var kept = name?.kept
            var key = ""
            if let name, !name.kept { index = name.end + 1 } else { key = try string() }
            if kept == nil { kept = keeping?.contains(key) ?? true }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("':' expected") }
            index += 1
            skipWhitespace()
            if kept == true {
                members.append((key, try value()))
            } else {
                try skipValue()
            }
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                let object = Self.members(members[first...])
                members.removeSubrange(first...)
                return .object(object)
            } else {
                throw failure("',' or '}' expected")
            }
        }
    }

    /// An object's members as read; of a repeated name, the last value is kept (compared pairwise in a small
    /// object, through a set in a large one).
    private static func members(_ read: ArraySlice<(String, GraphJSON)>) -> GraphJSON.Members {
        var names: [String] = [], values: [GraphJSON] = []
        names.reserveCapacity(read.count)
        values.reserveCapacity(read.count)
        for (name, value) in read {
            names.append(name)
            values.append(value)
        }
        let distinct: Bool
        if names.count <= 16 {
            distinct = names.indices.allSatisfy { i in !names[..<i].contains(names[i]) }
        } else {
            distinct = Set(names).count == names.count
        }
        return distinct ? GraphJSON.Members(distinctNames: names, values: values) : GraphJSON.Members(read)
    }

    /// Passes over a value that is not kept: its structure is checked, nothing is made of it.
    private mutating func skipValue() throws(Failure) {
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            try nest()
            if index < bytes.count, bytes[index] == close {
                index += 1
                depth -= 1
                return
            }
            while true {
                if isObject {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw failure("a member name expected")
                    }
                    try skipString()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("':' expected") }
                    index += 1
                    skipWhitespace()
                }
                try skipValue()
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                } else if bytes[index] == close {
                    index += 1
                    depth -= 1
                    return
                } else {
                    throw failure(isObject ? "',' or '}' expected" : "',' or ']' expected")
                }
            }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Passes over a string at `index` (its opening quote).
    private mutating func skipString() throws(Failure) {
        index += 1
        var high: UInt8 = 0
        while true {
            index = plainRun(from: index, high: &high)
            guard index < bytes.count else { throw failure("an unterminated string") }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"): index += 2
            default: throw failure("a control character in a string")
            }
        }
    }

    private mutating func array() throws(Failure) -> GraphJSON {
        try nest()
        var values: [GraphJSON] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(values)
        }
        while true {
            values.append(try value())
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(values)
            } else {
                throw failure("',' or ']' expected")
            }
        }
    }

    /// A string at `index` (its opening quote); the common case, no escapes, is made from the bytes in one step.
    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        var high: UInt8 = 0
        index = plainRun(from: index, high: &high)
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            guard let text = Self.text(UnsafeBufferPointer(rebasing: bytes[start..<index]), ascii: high < 0x80) else {
                throw Failure(offset: start, reason: "a string that is not UTF-8")
            }
            index += 1
            return text
        }
        var unescaped = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = unescaped.withUnsafeBufferPointer({ Self.text($0, ascii: false) }) else {
                    throw Failure(offset: start, reason: "a string that is not UTF-8")
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure("unexpected end") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escaped)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "u"): unescaped.append(contentsOf: try unicodeEscape())
                default: throw failure("a bad escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("a control character in a string") }
                unescaped.append(byte)
                index += 1
            }
        }
        throw failure("an unterminated string")
    }

    /// The text of UTF-8 bytes, nil when they are not UTF-8 (validated on the contiguous buffer, the standard
    /// library's fast path; a slice went through its generic one).
    private static func text(_ utf8: UnsafeBufferPointer<UInt8>, ascii: Bool) -> String? {
        ascii ? String(decoding: utf8, as: UTF8.self) : String(validating: utf8, as: UTF8.self)
    }

    /// The UTF-8 of a `\uXXXX` escape (its `\u` read), a surrogate pair's second half included.
    private mutating func unicodeEscape() throws(Failure) -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw failure("a lone surrogate") }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw failure("a lone surrogate")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw failure("a bad escape") }
        return Array(String(Character(unicode)).utf8)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("unexpected end") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A number in JSON's grammar; integers of up to 15 digits are read directly, others by `Double(_:)`.
    private mutating func number() throws(Failure) -> Double {
        let start = index
        var integer = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw failure("not a JSON value")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integer = false
            index += 1
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw failure("a bad number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integer = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw failure("a bad number") }
        }
        let text = bytes[start..<index]
        if integer, text.count <= 16 {
            var value: Int64 = 0
            for byte in text where byte != UInt8(ascii: "-") { value = value * 10 + Int64(byte - UInt8(ascii: "0")) }
            return Double(text.first == UInt8(ascii: "-") ? -value : value)
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)) else { throw failure("a bad number") }
        return value
    }
}

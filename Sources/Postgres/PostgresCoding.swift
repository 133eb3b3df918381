import Foundation

/// A PostgreSQL type OID, sent with a bound parameter so the server knows its type (0: let it infer).
public typealias PostgresTypeOID = UInt32

/// A Swift value that can be a bound parameter or a COPY field, in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type OID; 0 lets the server infer it from the statement.
    static var postgresType: PostgresTypeOID { get }
    /// The OID of an array of this type, for `[Self]` parameters (0: infer).
    static var postgresArrayType: PostgresTypeOID { get }
    /// True for SQL NULL (an `Optional` that is `nil`).
    var isPostgresNull: Bool { get }
    /// Appends the value's text form (never called for NULL).
    func encodePostgresText(into buffer: inout [UInt8])
}

extension PostgresEncodable {
    public static var postgresArrayType: PostgresTypeOID { 0 }
    public var isPostgresNull: Bool { false }
}

/// A Swift value that can be decoded from a result column in PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    /// Decodes the text form; `nil` means SQL NULL (non-optional types throw for it).
    static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Self
}

@usableFromInline
func nullError(_ type: Any.Type) -> PostgresError {
    PostgresError(code: .decoding, message: "unexpected NULL for non-optional \(type)")
}

@usableFromInline
func invalidText(_ type: Any.Type, _ text: UnsafeRawBufferPointer) -> PostgresError {
    PostgresError(code: .decoding, message: "cannot decode \(type) from a \(text.count)-byte value")
}

// MARK: Optional

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresTypeOID { Wrapped.postgresType }
    public static var postgresArrayType: PostgresTypeOID { Wrapped.postgresArrayType }
    public var isPostgresNull: Bool { self?.isPostgresNull ?? true }
    public func encodePostgresText(into buffer: inout [UInt8]) { self?.encodePostgresText(into: &buffer) }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decodePostgres(text)
    }
}

// MARK: Text

extension String: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 0 }  // unknown: lets `uuid = $1`, `$1::jsonb` etc. work
    public static var postgresArrayType: PostgresTypeOID { 1009 }
    public func encodePostgresText(into buffer: inout [UInt8]) {
        var text = self
        text.withUTF8 { buffer.append(contentsOf: $0) }  // a buffer copy; appending the UTF8View went byte by byte
    }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> String {
        guard let text else { throw nullError(String.self) }
        return String(decoding: text, as: UTF8.self)
    }
}

// MARK: Integers and floating point

extension Int64: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 20 }
    public static var postgresArrayType: PostgresTypeOID { 1016 }
    public func encodePostgresText(into buffer: inout [UInt8]) { appendDecimal(self, to: &buffer) }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Int64 {
        guard let text else { throw nullError(Int64.self) }
        guard let value = parseDecimal(text) else { throw invalidText(Int64.self, text) }
        return value
    }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 20 }
    public static var postgresArrayType: PostgresTypeOID { 1016 }
    public func encodePostgresText(into buffer: inout [UInt8]) { appendDecimal(Int64(self), to: &buffer) }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Int {
        Int(try Int64.decodePostgres(text))
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 23 }
    public static var postgresArrayType: PostgresTypeOID { 1007 }
    public func encodePostgresText(into buffer: inout [UInt8]) { appendDecimal(Int64(self), to: &buffer) }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Int32 {
        let wide = try Int64.decodePostgres(text)
        guard let value = Int32(exactly: wide) else {
            throw PostgresError(code: .decoding, message: "integer out of Int32 range")
        }
        return value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 701 }
    public static var postgresArrayType: PostgresTypeOID { 1022 }
    public func encodePostgresText(into buffer: inout [UInt8]) {
        if isNaN {
            buffer.append(contentsOf: "NaN".utf8)
        } else if isInfinite {
            buffer.append(contentsOf: (self < 0 ? "-Infinity" : "Infinity").utf8)
        } else {
            buffer.append(contentsOf: description.utf8)
        }
    }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Double {
        guard let text else { throw nullError(Double.self) }
        let string = String(decoding: text, as: UTF8.self)
        switch string {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(string) else { throw invalidText(Double.self, text) }
            return value
        }
    }
}

// MARK: Bool, UUID

extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 16 }
    public static var postgresArrayType: PostgresTypeOID { 1000 }
    public func encodePostgresText(into buffer: inout [UInt8]) {
        buffer.append(self ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> Bool {
        guard let text else { throw nullError(Bool.self) }
        guard text.count == 1 else { throw invalidText(Bool.self, text) }
        switch text[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw invalidText(Bool.self, text)
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { 2950 }
    public static var postgresArrayType: PostgresTypeOID { 2951 }
    public func encodePostgresText(into buffer: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        withUnsafeBytes(of: uuid) { bytes in
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { buffer.append(UInt8(ascii: "-")) }
                buffer.append(hex[Int(byte >> 4)])
                buffer.append(hex[Int(byte & 0x0F)])
            }
        }
    }
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> UUID {
        guard let text else { throw nullError(UUID.self) }
        if let value = fromCanonicalText(text) { return value }
        guard let value = UUID(uuidString: String(decoding: text, as: UTF8.self)) else {
            throw invalidText(UUID.self, text)
        }
        return value
    }

    /// The UUID of the server's output form (8-4-4-4-12 lowercase hexadecimal digits), nil for any other text.
    /// `UUID(uuidString:)` parses with `sscanf`: 3% of snapsync's CPU in an outbound snapshot, which reads every row's id.
    static func fromCanonicalText(_ text: UnsafeRawBufferPointer) -> UUID? {
        guard text.count == 36 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &value) { bytes -> Bool in
            var at = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    guard text[at] == UInt8(ascii: "-") else { return false }
                    at += 1
                }
                guard let high = nibble(text[at]), let low = nibble(text[at + 1]) else { return false }
                bytes[index] = high << 4 | low
                at += 2
            }
            return true
        }
        return parsed ? UUID(uuid: value) : nil
    }
}

// MARK: bytea

extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// `[UInt8]` is `bytea`; any other element type is a PostgreSQL array of that type.
    public static var postgresType: PostgresTypeOID { Element.self == UInt8.self ? 17 : Element.postgresArrayType }

    public func encodePostgresText(into buffer: inout [UInt8]) {
        // Test the element type, not the value: an empty [String] also casts to [UInt8].
        if Element.self == UInt8.self, let bytes = self as? [UInt8] {
            let hex = [UInt8]("0123456789abcdef".utf8)
            buffer.append(contentsOf: "\\x".utf8)
            for byte in bytes {
                buffer.append(hex[Int(byte >> 4)])
                buffer.append(hex[Int(byte & 0x0F)])
            }
            return
        }
        buffer.append(UInt8(ascii: "{"))
        var element: [UInt8] = []
        for (index, value) in enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            if value.isPostgresNull {
                buffer.append(contentsOf: "NULL".utf8)
                continue
            }
            element.removeAll(keepingCapacity: true)
            value.encodePostgresText(into: &element)
            buffer.append(UInt8(ascii: "\""))
            for byte in element {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
                buffer.append(byte)
            }
            buffer.append(UInt8(ascii: "\""))
        }
        buffer.append(UInt8(ascii: "}"))
    }
}

extension UInt8: PostgresEncodable {
    public static var postgresType: PostgresTypeOID { 0 }
    public func encodePostgresText(into buffer: inout [UInt8]) { appendDecimal(Int64(self), to: &buffer) }
}

extension UInt8: PostgresDecodable {
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> UInt8 {
        guard let value = UInt8(exactly: try Int64.decodePostgres(text)) else {
            throw PostgresError(code: .decoding, message: "integer out of UInt8 range")
        }
        return value
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decodePostgres(_ text: UnsafeRawBufferPointer?) throws(PostgresError) -> [Element] {
        guard let text else { throw nullError([Element].self) }
        if Element.self == UInt8.self {
            return try decodeBytea(text) as! [Element]
        }
        return try PostgresArrayParser.parse(text) {
            (element: UnsafeRawBufferPointer?) throws(PostgresError) -> Element in
            try Element.decodePostgres(element)
        }
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

private func decodeBytea(_ text: UnsafeRawBufferPointer) throws(PostgresError) -> [UInt8] {
    guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
        throw PostgresError(code: .decoding, message: "bytea is not in hex format (bytea_output must be 'hex')")
    }
    var bytes = [UInt8]()
    bytes.reserveCapacity((text.count - 2) / 2)
    var index = 2
    while index < text.count {
        guard let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else {
            throw invalidText([UInt8].self, text)
        }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

/// Parses the text form of a one-dimensional PostgreSQL array (`{a,"b c",NULL}`).
enum PostgresArrayParser {
    static func parse<Element>(
        _ text: UnsafeRawBufferPointer,
        _ decode: (UnsafeRawBufferPointer?) throws(PostgresError) -> Element
    ) throws(PostgresError) -> [Element] {
        var index = 0
        // Skip an optional dimension decoration such as `[0:2]=`.
        if text.first == UInt8(ascii: "[") {
            while index < text.count, text[index] != UInt8(ascii: "=") { index += 1 }
            index += 1
        }
        guard index < text.count, text[index] == UInt8(ascii: "{"), text.last == UInt8(ascii: "}") else {
            throw PostgresError(code: .decoding, message: "malformed array value")
        }
        index += 1
        let end = text.count - 1
        var result: [Element] = []
        var scratch: [UInt8] = []
        if index == end { return result }
        while index <= end {
            scratch.removeAll(keepingCapacity: true)
            var quoted = false
            if text[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                while index < end, text[index] != UInt8(ascii: "\"") {
                    if text[index] == UInt8(ascii: "\\") { index += 1 }
                    scratch.append(text[index])
                    index += 1
                }
                index += 1  // closing quote
            } else {
                while index < end, text[index] != UInt8(ascii: ","), text[index] != UInt8(ascii: "}") {
                    if text[index] == UInt8(ascii: "{") {
                        throw PostgresError(code: .decoding, message: "multi-dimensional arrays are not supported")
                    }
                    scratch.append(text[index])
                    index += 1
                }
            }
            let isNull = !quoted && scratch == [UInt8]("NULL".utf8)
            let element = scratch.withUnsafeBytes { bytes in
                Result { () throws(PostgresError) -> Element in try decode(isNull ? nil : bytes) }
            }
            result.append(try element.get())
            index += 1  // the comma or the closing brace
        }
        return result
    }
}

// MARK: Decimal helpers

@usableFromInline
func appendDecimal(_ value: Int64, to buffer: inout [UInt8]) {
    if value == 0 { buffer.append(UInt8(ascii: "0")); return }
    var magnitude = value.magnitude
    var digits:
        (
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { storage in
        while magnitude > 0 {
            storage[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            count += 1
        }
    }
    if value < 0 { buffer.append(UInt8(ascii: "-")) }
    withUnsafeBytes(of: &digits) { storage in
        for position in stride(from: count - 1, through: 0, by: -1) { buffer.append(storage[position]) }
    }
}

@usableFromInline
func parseDecimal(_ text: UnsafeRawBufferPointer) -> Int64? {
    guard !text.isEmpty else { return nil }
    var index = 0
    var negative = false
    if text[0] == UInt8(ascii: "-") { negative = true; index = 1 } else if text[0] == UInt8(ascii: "+") { index = 1 }
    guard index < text.count else { return nil }
    var value: Int64 = 0
    while index < text.count {
        let digit = text[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (next, overflow2) =
            negative
            ? times.subtractingReportingOverflow(Int64(digit))
            : times.addingReportingOverflow(Int64(digit))
        guard !overflow1, !overflow2 else { return nil }
        value = next
        index += 1
    }
    return value
}

import Foundation

/// A value `COPY ... (FORMAT binary)` can carry: the wire form of exactly one column type. The server reads it
/// without parsing text (a timestamp, a UUID, an array), which is most of what a text COPY costs it per row besides
/// writing the row. A binary value must match its column's type: `Int64` is a `bigint`, `Int32` an `integer` (Swift's
/// `Int` has no binary form, so a width is always chosen at the call site), `String` a `text`, `Date` a `timestamptz`,
/// `PostgresDate` a `date`; a mismatch is refused by the server ("incorrect binary data format").
public protocol PostgresBinaryEncodable: Sendable {
    /// The type the binary form is of (the element type of an array column).
    static var postgresBinaryType: PostgresTypeOID { get }
    /// True for SQL NULL (an `Optional` that is `nil`).
    var isPostgresBinaryNull: Bool { get }
    /// Appends the value's binary form, without its length (never called for NULL).
    func encodePostgresBinary(into buffer: inout [UInt8])
}

extension PostgresBinaryEncodable {
    public var isPostgresBinaryNull: Bool { false }
}

/// A scalar binary value, which can also be an element of a binary array (`[String]` is a `text[]`). Arrays are not
/// elements: a `[[String]]` has no binary form, where a nested array would otherwise pass for a `text[]` of garbage.
public protocol PostgresBinaryArrayElement: PostgresBinaryEncodable {}

extension FixedWidthInteger {
    /// Appends the integer in network byte order.
    @inline(__always)
    func appendBigEndian(to buffer: inout [UInt8]) {
        withUnsafeBytes(of: bigEndian) { buffer.append(contentsOf: $0) }
    }

    /// Writes the integer in network byte order over the bytes at `offset` (a length or count reserved earlier).
    func storeBigEndian(in buffer: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: bigEndian) { bytes in
            for index in bytes.indices { buffer[offset + index] = bytes[index] }
        }
    }
}

extension Optional: PostgresBinaryEncodable where Wrapped: PostgresBinaryEncodable {
    public static var postgresBinaryType: PostgresTypeOID { Wrapped.postgresBinaryType }
    public var isPostgresBinaryNull: Bool { self?.isPostgresBinaryNull ?? true }
    public func encodePostgresBinary(into buffer: inout [UInt8]) { self?.encodePostgresBinary(into: &buffer) }
}

extension Optional: PostgresBinaryArrayElement where Wrapped: PostgresBinaryArrayElement {}

extension String: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 25 }  // text
    public func encodePostgresBinary(into buffer: inout [UInt8]) { encodePostgresText(into: &buffer) }
}

extension Int64: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 20 }  // bigint
    public func encodePostgresBinary(into buffer: inout [UInt8]) { appendBigEndian(to: &buffer) }
}

extension Int32: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 23 }  // integer
    public func encodePostgresBinary(into buffer: inout [UInt8]) { appendBigEndian(to: &buffer) }
}

extension Bool: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 16 }
    public func encodePostgresBinary(into buffer: inout [UInt8]) { buffer.append(self ? 1 : 0) }
}

extension UUID: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 2950 }
    public func encodePostgresBinary(into buffer: inout [UInt8]) {
        withUnsafeBytes(of: uuid) { buffer.append(contentsOf: $0) }
    }
}

/// PostgreSQL's binary dates and timestamps count from 2000-01-01.
enum PostgresEpoch {
    static let daysAfterUnixEpoch: Int64 = 10_957
    static let microsecondsAfterUnixEpoch: Int64 = daysAfterUnixEpoch * 86_400_000_000
}

extension Date: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 1184 }  // timestamptz: microseconds since 2000-01-01 UTC
    public func encodePostgresBinary(into buffer: inout [UInt8]) {
        // Rounded to the microsecond as the text form is, so both forms store the same value.
        let micros = Int64((timeIntervalSince1970 * 1_000_000).rounded()) - PostgresEpoch.microsecondsAfterUnixEpoch
        micros.appendBigEndian(to: &buffer)
    }
}

extension PostgresDate: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { 1082 }  // date: days since 2000-01-01
    /// The parts are not validated here (the text form leaves that to the server): make dates with a valid calendar
    /// date, as `LocalDate` does.
    public func encodePostgresBinary(into buffer: inout [UInt8]) {
        let days = PostgresCalendar.days(year: year, month: month, day: day) - PostgresEpoch.daysAfterUnixEpoch
        Int32(truncatingIfNeeded: days).appendBigEndian(to: &buffer)
    }
}

extension Array: PostgresBinaryEncodable where Element: PostgresBinaryArrayElement {
    public static var postgresBinaryType: PostgresTypeOID { Element.postgresBinaryType }

    /// A one-dimensional array (lower bound 1) of `Element`'s type; an empty array has no dimensions, as the server's own.
    public func encodePostgresBinary(into buffer: inout [UInt8]) {
        Int32(isEmpty ? 0 : 1).appendBigEndian(to: &buffer)
        Int32(contains { $0.isPostgresBinaryNull } ? 1 : 0).appendBigEndian(to: &buffer)
        Element.postgresBinaryType.appendBigEndian(to: &buffer)
        guard !isEmpty else { return }
        Int32(count).appendBigEndian(to: &buffer)
        Int32(1).appendBigEndian(to: &buffer)
        for element in self { PostgresBinaryField.append(element, to: &buffer) }
    }
}

/// A field of a binary row or array: its length (-1 for NULL), then its binary form.
enum PostgresBinaryField {
    @inline(__always)
    static func append(_ value: some PostgresBinaryEncodable, to buffer: inout [UInt8]) {
        if value.isPostgresBinaryNull {
            Int32(-1).appendBigEndian(to: &buffer)
            return
        }
        let lengthAt = buffer.count
        Int32(0).appendBigEndian(to: &buffer)  // the length, filled in below
        value.encodePostgresBinary(into: &buffer)
        Int32(buffer.count - lengthAt - 4).storeBigEndian(in: &buffer, at: lengthAt)
    }
}

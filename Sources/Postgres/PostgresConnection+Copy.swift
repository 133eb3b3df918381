import CLibPQ

extension PostgresConnection {
    /// Bulk-loads rows with `COPY table (columns) FROM STDIN` (text format): `body` appends fields and ends
    /// rows on the writer, which streams them to the server in 64 KiB chunks. Returns the number of rows
    /// copied. When `body` throws, the COPY is aborted (nothing is loaded) and the error rethrown.
    public func copy(
        into table: PostgresIdentifier, columns: [String],
        _ body: (inout PostgresCopyWriter) throws -> Void
    ) throws -> Int {
        let columnList = columns.map(PostgresIdentifier.quote).joined(separator: ", ")
        return try copy(sql: "COPY \(table) (\(columnList)) FROM STDIN", body)
    }

    /// Runs a `COPY ... FROM STDIN` statement (text format) and feeds it through the writer `body` fills.
    public func copy(sql: String, _ body: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        try runCopy(
            sql: sql, writer: PostgresCopyWriter.init(connection:), body,
            finish: { writer throws(PostgresError) in
                try writer.stream.flush()
            })
    }

    /// Bulk-loads rows with `COPY table (columns) FROM STDIN (FORMAT binary)`: as ``copy(into:columns:_:)``, with
    /// every value in its column type's binary form (see ``PostgresBinaryEncodable``), which the server stores
    /// without parsing text.
    public func copyBinary(
        into table: PostgresIdentifier, columns: [String],
        _ body: (inout PostgresBinaryCopyWriter) throws -> Void
    ) throws -> Int {
        let columnList = columns.map(PostgresIdentifier.quote).joined(separator: ", ")
        return try runCopy(
            sql: "COPY \(table) (\(columnList)) FROM STDIN (FORMAT binary)",
            writer: PostgresBinaryCopyWriter.init(connection:), body,
            finish: { writer throws(PostgresError) in
                try writer.finish()
            })
    }

    /// Starts the COPY, lets `body` fill the writer, `finish` flush it, and ends the COPY (aborts it when either throws).
    private func runCopy<Writer>(
        sql: String, writer makeWriter: (OpaquePointer) -> Writer, _ body: (inout Writer) throws -> Void,
        finish: (inout Writer) throws(PostgresError) -> Void
    ) throws -> Int {
        let pointer = try connection()
        guard let start = PQexec(pointer, sql) else { throw lastError(code: .copyFailed) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try check(start)  // throws the server's error
            throw PostgresError(code: .copyFailed, message: "the statement did not start a COPY FROM STDIN")
        }
        PQclear(start)
        var writer = makeWriter(pointer)
        do {
            try body(&writer)
            try finish(&writer)
        } catch {
            PQputCopyEnd(pointer, "aborted by snapsync")
            drainResults(pointer)
            throw error
        }
        guard PQputCopyEnd(pointer, nil) == 1 else {
            let error = lastError(code: .copyFailed)
            drainResults(pointer)
            throw error
        }
        let rows = try check(PQgetResult(pointer))
        drainResults(pointer)
        return rows.affectedRowCount
    }

    private func drainResults(_ pointer: OpaquePointer) {
        while let result = PQgetResult(pointer) { PQclear(result) }
    }
}

/// Appends rows to a running `COPY ... FROM STDIN` (text format). Only valid inside the
/// ``PostgresConnection/copy(into:columns:_:)`` closure it was handed to.
public struct PostgresCopyWriter {
    var stream: PostgresCopyStream
    private var field: [UInt8] = []
    private var fieldsInRow = 0
    /// Rows ended so far.
    public private(set) var rowCount = 0

    init(connection: OpaquePointer) {
        stream = PostgresCopyStream(connection: connection)
    }

    /// Appends one field (an `Optional` that is nil is `NULL`; an `any PostgresEncodable` is opened).
    public mutating func append(_ value: some PostgresEncodable) {
        if fieldsInRow > 0 { stream.buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
        if value.isPostgresNull {
            stream.buffer.append(UInt8(ascii: "\\"))
            stream.buffer.append(UInt8(ascii: "N"))
            return
        }
        field.removeAll(keepingCapacity: true)
        value.encodePostgresText(into: &field)
        Self.appendEscaped(field, to: &stream.buffer)
    }

    /// Appends `field` with COPY text escapes (`\\`, `\n`, `\r`, `\t`): runs without special bytes are copied
    /// in one piece (most fields have none), which keeps the client's CPU per row small next to the server's.
    private static func appendEscaped(_ field: [UInt8], to buffer: inout [UInt8]) {
        field.withUnsafeBufferPointer { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte <= UInt8(ascii: "\\") else { continue }
                let escape: UInt8
                switch byte {
                case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
                case UInt8(ascii: "\n"): escape = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escape = UInt8(ascii: "r")
                case UInt8(ascii: "\t"): escape = UInt8(ascii: "t")
                default: continue
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(escape)
                start = index + 1
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
    }

    /// Ends the current row; sends the buffered rows when the buffer is full.
    public mutating func endRow() throws(PostgresError) {
        stream.buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        rowCount += 1
        try stream.flushIfFull()
    }

    /// Appends a whole row.
    public mutating func appendRow(_ values: [any PostgresEncodable]) throws(PostgresError) {
        for value in values { append(value) }
        try endRow()
    }
}

/// Appends rows to a running `COPY ... FROM STDIN (FORMAT binary)`. Only valid inside the
/// ``PostgresConnection/copyBinary(into:columns:_:)`` closure it was handed to.
public struct PostgresBinaryCopyWriter {
    var stream: PostgresCopyStream
    /// Where the field count of the row being written goes (nil before its first field).
    private var rowStart: Int?
    private var fieldsInRow: Int16 = 0
    /// Rows ended so far.
    public private(set) var rowCount = 0

    init(connection: OpaquePointer) {
        stream = PostgresCopyStream(connection: connection)
        // PGCOPY\n\377\r\n\0
        stream.buffer.append(contentsOf: [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])
        Int32(0).appendBigEndian(to: &stream.buffer)  // flags
        Int32(0).appendBigEndian(to: &stream.buffer)  // header extension length
    }

    /// Appends one field in the column's binary form (an `Optional` that is nil is `NULL`).
    public mutating func append(_ value: some PostgresBinaryEncodable) {
        if rowStart == nil {
            rowStart = stream.buffer.count
            stream.buffer.append(contentsOf: [0, 0])
        }
        fieldsInRow += 1
        PostgresBinaryField.append(value, to: &stream.buffer)
    }

    /// Ends the current row; sends the buffered rows when the buffer is full.
    public mutating func endRow() throws(PostgresError) {
        let start = rowStart ?? stream.buffer.count
        if rowStart == nil { stream.buffer.append(contentsOf: [0, 0]) }
        fieldsInRow.storeBigEndian(in: &stream.buffer, at: start)
        rowStart = nil
        fieldsInRow = 0
        rowCount += 1
        try stream.flushIfFull()
    }

    /// Writes the trailer and sends what is buffered.
    mutating func finish() throws(PostgresError) {
        Int16(-1).appendBigEndian(to: &stream.buffer)
        try stream.flush()
    }
}

/// The COPY data a writer has buffered, sent to the server in chunks of about 64 KiB.
struct PostgresCopyStream {
    let connection: OpaquePointer
    var buffer: [UInt8] = []
    static let flushThreshold = 64 * 1024

    init(connection: OpaquePointer) {
        self.connection = connection
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    mutating func flushIfFull() throws(PostgresError) {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    mutating func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
        }
        guard status == 1 else {
            throw PostgresError(
                code: .copyFailed, message: PostgresConnection.trimmedMessage(PQerrorMessage(connection)))
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

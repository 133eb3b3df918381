import CLibPQ

/// The rows a query returned. Owns libpq's result and frees it when the last reference goes; immutable,
/// so it can be read from any task.
public final class PostgresRows: @unchecked Sendable, RandomAccessCollection {
    private let result: OpaquePointer

    /// Takes ownership of `result`.
    init(owning result: OpaquePointer) {
        self.result = result
        endIndex = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    deinit { PQclear(result) }

    public let startIndex = 0
    /// The number of rows.
    public let endIndex: Int
    /// The number of columns.
    public let columnCount: Int

    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    /// The raw text of a cell, nil for NULL. The buffer is valid while `self` lives.
    func withCell<T>(
        row: Int, column: Int, _ body: (UnsafeRawBufferPointer?) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        guard column >= 0, column < columnCount else {
            throw PostgresError(code: .usage, message: "column \(column) out of range (the result has \(columnCount))")
        }
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return try body(nil) }
        let value = PQgetvalue(result, Int32(row), Int32(column))!
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        return try withExtendedLifetime(self) { () throws(PostgresError) -> T in
            try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(value), count: length))
        }
    }

    func withResult<T>(_ body: (OpaquePointer) -> T) -> T { body(result) }

    func isNull(row: Int, column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }
}

/// One row of ``PostgresRows``.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// Decodes column `column` (0-based). Use an optional type for a nullable column: a NULL decoded into a
    /// non-optional type throws.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        try rows.withCell(row: index, column: column) { (text) throws(PostgresError) -> T in
            do throws(PostgresError) {
                return try T.decodePostgres(text)
            } catch {
                var error = error
                error.message += " (column \(column))"
                throw error
            }
        }
    }

    /// True when column `column` is NULL.
    public func isNull(_ column: Int) -> Bool { rows.isNull(row: index, column: column) }
}

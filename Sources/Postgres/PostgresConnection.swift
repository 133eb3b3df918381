import CLibPQ
import Foundation
import Logging

/// One connection to PostgreSQL through libpq.
///
/// An actor whose executor is a dedicated thread: libpq blocks, and this keeps it off Swift's cooperative
/// pool. Work that must happen together runs in a scope on the connection, where calls are synchronous:
///
/// ```swift
/// let connection = try await PostgresConnection.connect(conninfo, logger: logger)
/// try await connection.withTransaction { db in
///     try db.execute("UPDATE crm.tasks SET subject = $1 WHERE id = $2", [subject, id])
/// }
/// ```
///
/// The session runs with `TimeZone=UTC`, `DateStyle=ISO` and UTF-8, which the value coders rely on.
/// A connection is meant to be used by one task at a time (like a libpq connection); the actor only makes
/// that safe, not concurrent.
public actor PostgresConnection {
    private nonisolated let executor: PostgresThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Owns the libpq connection (nil once closed) and frees it when the actor goes away.
    private let owner = ConnectionOwner()
    private var handle: OpaquePointer? {
        get { owner.pointer }
        set { owner.pointer = newValue }
    }
    private let noticeSink: NoticeSink
    let logger: Logger
    private var statements: [String: PostgresStatement] = [:]
    var savepointDepth = 0

    private init(logger: Logger) {
        self.executor = PostgresThreadExecutor(name: "postgres-connection")
        self.logger = logger
        self.noticeSink = NoticeSink(logger: logger)
    }

    deinit {
        executor.shutdown()
    }

    /// Opens a connection from a libpq URL (`postgresql://user@host:5432/db`) or key=value conninfo.
    /// Throws `.connectionFailed` with libpq's reason (never the password) and its
    /// ``PostgresError/ConnectionFailure``: a malformed string is refused before anything is tried.
    public static func connect(_ conninfo: String, logger: Logger) async throws(PostgresError) -> PostgresConnection {
        let connection = PostgresConnection(logger: logger)
        try await connection.open(conninfo)
        return connection
    }

    private func open(_ conninfo: String) throws(PostgresError) {
        let string = PostgresConnectionString(conninfo)
        try string.validate()
        // PQconnectdb returns a handle even on failure: it is freed on every path below.
        guard let pointer = PQconnectdb(conninfo) else {
            throw PostgresError(
                code: .connectionFailed, message: "libpq could not allocate a connection",
                connectionFailure: .unreachable)
        }
        guard PQstatus(pointer) == CONNECTION_OK else {
            let message = string.clean(Self.trimmedMessage(PQerrorMessage(pointer)))
            let failure = PostgresConnectionString.failure(
                of: message, needsPassword: PQconnectionNeedsPassword(pointer) != 0)
            PQfinish(pointer)
            throw PostgresError(
                code: .connectionFailed, message: message.isEmpty ? "connection failed" : message,
                connectionFailure: failure)
        }
        handle = pointer
        PQsetNoticeProcessor(
            pointer,
            { context, message in
                guard let context, let message else { return }
                Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(message)
            }, Unmanaged.passUnretained(noticeSink).toOpaque())
        do {
            try executeScript(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; SET bytea_output = 'hex'"
            )
        } catch {
            close()
            throw error
        }
        logger.debug(
            "postgres connected",
            metadata: [
                "db.host": "\(String(cString: PQhost(pointer)))", "db.name": "\(String(cString: PQdb(pointer)))",
                "db.server_version": "\(PQserverVersion(pointer))",
            ])
    }

    /// Closes the connection. Idempotent; the connection also closes when released.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
            statements.removeAll()
        }
    }

    func connection() throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw PostgresError(code: .usage, message: "the connection is closed") }
        return handle
    }

    // MARK: Statements

    /// Runs a statement with bound parameters (`$1`, `$2`, ...) and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ binds: [any PostgresEncodable] = []) throws(PostgresError) -> Int {
        Self.affectedRows(try query(sql, binds))
    }

    /// Runs a query with bound parameters (`$1`, `$2`, ...) and returns its rows.
    public func query(_ sql: String, _ binds: [any PostgresEncodable] = []) throws(PostgresError) -> PostgresRows {
        let pointer = try connection()
        let parameters = PostgresParameters(binds)
        let result = parameters.withCParameters { values, lengths, types in
            PQexecParams(pointer, sql, Int32(binds.count), types, values, lengths, nil, 0)
        }
        return try check(result)
    }

    /// Runs a script of one or more statements without parameters (simple query protocol), e.g. a migration.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let pointer = try connection()
        var result = PQexec(pointer, sql)
        _ = try check(result)
        // PQexec returns the last result; drain any others (none in blocking simple-query mode).
        result = PQgetResult(pointer)
        while let extra = result { PQclear(extra); result = PQgetResult(pointer) }
    }

    /// Prepares `sql` as a named statement once per connection (cached by its text) and returns it.
    /// Parameter types are inferred by the server from the statement.
    public func prepare(_ sql: String) throws(PostgresError) -> PostgresStatement {
        if let statement = statements[sql] { return statement }
        let pointer = try connection()
        let statement = PostgresStatement(name: "snapsync_\(statements.count + 1)", sql: sql)
        _ = try check(PQprepare(pointer, statement.name, sql, 0, nil))
        statements[sql] = statement
        return statement
    }

    /// Runs a prepared statement and returns its rows.
    public func query(
        _ statement: PostgresStatement, _ binds: [any PostgresEncodable] = []
    ) throws(PostgresError) -> PostgresRows {
        let pointer = try connection()
        guard statements[statement.sql] == statement else {
            throw PostgresError(
                code: .usage, message: "statement \(statement.name) was not prepared on this connection")
        }
        let parameters = PostgresParameters(binds)
        let result = parameters.withCParameters { values, lengths, _ in
            PQexecPrepared(pointer, statement.name, Int32(binds.count), values, lengths, nil, 0)
        }
        return try check(result)
    }

    /// Runs a prepared statement and returns the number of rows it affected.
    @discardableResult
    public func execute(
        _ statement: PostgresStatement, _ binds: [any PostgresEncodable] = []
    ) throws(PostgresError) -> Int {
        Self.affectedRows(try query(statement, binds))
    }

    // MARK: Results and errors

    /// Turns a libpq result into rows or an error; frees it on the error path.
    func check(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else { throw lastError(code: .connectionLost) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT:
            return PostgresRows(owning: result)
        default:
            let error = Self.error(from: result, connectionAlive: handle.map { PQstatus($0) == CONNECTION_OK } ?? false)
            PQclear(result)
            throw error
        }
    }

    func lastError(code: PostgresError.Code) -> PostgresError {
        guard let handle else { return PostgresError(code: .usage, message: "the connection is closed") }
        let alive = PQstatus(handle) == CONNECTION_OK
        return PostgresError(code: alive ? code : .connectionLost, message: Self.trimmedMessage(PQerrorMessage(handle)))
    }

    static func error(from result: OpaquePointer, connectionAlive: Bool) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C")
        let message = field("M") ?? trimmedMessage(PQresultErrorMessage(result))
        return PostgresError(
            code: connectionAlive || sqlState != nil ? .server : .connectionLost,
            sqlState: sqlState, message: message.isEmpty ? "statement failed" : message,
            detail: field("D"), hint: field("H"), constraint: field("n"))
    }

    static func trimmedMessage(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func affectedRows(_ rows: PostgresRows) -> Int {
        rows.affectedRowCount
    }
}

extension PostgresRows {
    /// The number of rows the command affected (`PQcmdTuples`), 0 when it reports none.
    var affectedRowCount: Int { withResult { Int(String(cString: PQcmdTuples($0))) ?? 0 } }
}

/// A statement prepared on a connection (see ``PostgresConnection/prepare(_:)``).
public struct PostgresStatement: Sendable, Hashable {
    /// The server-side name.
    public let name: String
    /// The SQL text.
    public let sql: String
}

/// The single owner of a `PGconn`: frees it when released. Only touched from the connection's executor.
private final class ConnectionOwner: @unchecked Sendable {
    var pointer: OpaquePointer?
    deinit { if let pointer { PQfinish(pointer) } }
}

/// Routes server notices (e.g. "relation already exists, skipping") to the logger instead of stderr.
private final class NoticeSink: @unchecked Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
    func receive(_ message: UnsafePointer<CChar>) {
        logger.debug("postgres notice", metadata: ["db.notice": "\(PostgresConnection.trimmedMessage(message))"])
    }
}

/// Bound parameters in libpq's text format, laid out in one buffer.
struct PostgresParameters {
    private var storage: [UInt8] = []
    private var offsets: [Int?] = []  // nil: NULL
    private var lengths: [Int32] = []
    private var types: [Oid] = []

    init(_ binds: [any PostgresEncodable]) {
        offsets.reserveCapacity(binds.count)
        for value in binds {
            types.append(Oid(type(of: value).postgresType))
            if value.isPostgresNull {
                offsets.append(nil)
                lengths.append(0)
                continue
            }
            let start = storage.count
            value.encodePostgresText(into: &storage)
            lengths.append(Int32(storage.count - start))
            storage.append(0)
            offsets.append(start)
        }
    }

    func withCParameters<T>(
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Oid>?) -> T
    ) -> T {
        storage.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    types.withUnsafeBufferPointer { types in
                        body(values.baseAddress, lengths.baseAddress, types.baseAddress)
                    }
                }
            }
        }
    }
}

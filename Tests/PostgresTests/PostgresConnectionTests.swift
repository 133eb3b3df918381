import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Postgres

/// The Postgres module against a real server: every parameter type survives a round trip (NULL and non-ASCII
/// text included), errors carry their SQLSTATE, transactions roll back on throw, COPY loads exactly what was
/// written, and advisory locks exclude.
@Suite struct PostgresConnectionTests {
    let logger = TestDatabase.quietLogger

    // MARK: Parameters and decoding

    @Test func everyTypeRoundTripsThroughATable() async throws {
        let texts = ["Grüße aus Köln, 東京 🚀", "tab\tnewline\ncr\r back\\slash 'single' \"double\"", "", " spaced "]
        let dates: [Date] = [
            Date(timeIntervalSince1970: 1_700_000_000.123456),
            Date(timeIntervalSince1970: -1_000_000.654321),  // before 1970: a negative fraction
            Date(timeIntervalSince1970: 946_684_800),  // 2000-01-01, no fraction
        ]
        let arrays: [[String]] = [
            ["a", "with,comma", "with \"quotes\"", "back\\slash", "{braces}", " spaced ", "Ünïcödé", "tab\there"],
            ["NULL", "null", ""],
            [],
        ]
        let days = [
            PostgresDate(year: 2024, month: 2, day: 29), PostgresDate(year: 1, month: 1, day: 1),
            PostgresDate(year: 9999, month: 12, day: 31),
        ]
        let blobs: [[UInt8]] = [Array(0...255), [], [0, 0, 0]]
        let doubles: [Double] = [1.0 / 3.0, -0.0, 1e-300, .greatestFiniteMagnitude, .infinity, -.infinity]

        try await TestDatabase.withConnection(migrated: false) { connection in
            try await connection.execute(
                """
                create table roundtrip (n int primary key, t text, i bigint, i32 integer, i64 bigint, f double precision,
                  b boolean, ts timestamptz, d date, u uuid, a text[], by bytea)
                """)
            var expected:
                [(Int, String, Int, Int32, Int64, Double, Bool, Date, PostgresDate, UUID, [String], [UInt8])] = []
            for n in 0..<6 {
                let row = (
                    n, texts[n % texts.count], n.isMultiple(of: 2) ? Int.max : Int.min + 1,
                    n.isMultiple(of: 2) ? Int32.min : Int32.max, Int64(-n) * 1_000_000_007_919,
                    doubles[n % doubles.count], n.isMultiple(of: 2), dates[n % dates.count], days[n % days.count],
                    UUID(), arrays[n % arrays.count], blobs[n % blobs.count]
                )
                expected.append(row)
                try await connection.execute(
                    "insert into roundtrip values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    [row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11])
            }
            let rows = try await connection.query("select * from roundtrip order by n")
            #expect(rows.count == expected.count)
            for (row, want) in zip(rows, expected) {
                #expect(try row.decode(String.self, at: 1) == want.1)
                #expect(try row.decode(Int.self, at: 2) == want.2)
                #expect(try row.decode(Int32.self, at: 3) == want.3)
                #expect(try row.decode(Int64.self, at: 4) == want.4)
                let double = try row.decode(Double.self, at: 5)
                #expect(double == want.5 && double.sign == want.5.sign, "\(double) != \(want.5)")
                #expect(try row.decode(Bool.self, at: 6) == want.6)
                let date = try row.decode(Date.self, at: 7)
                #expect(
                    abs(date.timeIntervalSince(want.7)) < 0.000_001,
                    "\(date.timeIntervalSince1970) != \(want.7.timeIntervalSince1970)")
                #expect(try row.decode(PostgresDate.self, at: 8) == want.8)
                #expect(try row.decode(UUID.self, at: 9) == want.9)
                #expect(try row.decode([String].self, at: 10) == want.10)
                #expect(try row.decode([UInt8].self, at: 11) == want.11)
            }
            // The server sees what was meant, not just the same bytes back: microseconds, text, array elements.
            let server = try await connection.query(
                """
                select to_char(ts at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), length(t), cardinality(a), a[2],
                       octet_length(by), d::text from roundtrip where n = 0
                """)[0]
            #expect(try server.decode(String.self, at: 0) == "2023-11-14 22:13:20.123456")
            #expect(try server.decode(Int.self, at: 1) == texts[0].count)
            #expect(try server.decode(Int.self, at: 2) == arrays[0].count)
            #expect(try server.decode(String.self, at: 3) == "with,comma")
            #expect(try server.decode(Int.self, at: 4) == 256)
            #expect(try server.decode(String.self, at: 5) == "2024-02-29")
            let minus = try await connection.query(
                "select to_char(ts at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') from roundtrip where n = 1")
            #expect(try minus[0].decode(String.self, at: 0) == "1969-12-20 10:13:19.345679")
            let nullish = try await connection.query("select a[1] is null, a[1] from roundtrip where n = 1")[0]
            #expect(try nullish.decode(Bool.self, at: 0) == false, "the string \"NULL\" is not a NULL element")
            #expect(try nullish.decode(String.self, at: 1) == "NULL")
        }
    }

    @Test func uuidTextDecodesTheServersFormAndRefusesOtherText() throws {
        func decode(_ text: String) throws -> UUID {
            try Array(text.utf8).withUnsafeBytes { try UUID.decodePostgres($0) }
        }
        let id = UUID()
        #expect(try decode(id.uuidString.lowercased()) == id)
        #expect(try decode(id.uuidString) == id)
        #expect(UUID.fromCanonicalText(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
        for bad in [
            "", "not-a-uuid", String(id.uuidString.dropLast()) + "g",
            id.uuidString.replacingOccurrences(of: "-", with: "_"),
        ] {
            #expect(throws: PostgresError.self) { try decode(bad) }
        }
    }

    @Test func nullsBindAndDecodeAsNil() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            try await connection.execute(
                """
                create table nulls (t text, i bigint, i32 integer, f double precision, b boolean, ts timestamptz, d date,
                  u uuid, a text[], by bytea)
                """)
            let none: [any PostgresEncodable] = [
                String?.none, Int?.none, Int32?.none, Double?.none, Bool?.none, Date?.none, PostgresDate?.none,
                UUID?.none, [String]?.none, [UInt8]?.none,
            ]
            try await connection.execute("insert into nulls values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", none)
            let row = try await connection.query("select * from nulls")[0]
            for column in 0..<10 { #expect(row.isNull(column)) }
            #expect(try row.decode(String?.self, at: 0) == nil)
            #expect(try row.decode(Int?.self, at: 1) == nil)
            #expect(try row.decode(Int32?.self, at: 2) == nil)
            #expect(try row.decode(Double?.self, at: 3) == nil)
            #expect(try row.decode(Bool?.self, at: 4) == nil)
            #expect(try row.decode(Date?.self, at: 5) == nil)
            #expect(try row.decode(PostgresDate?.self, at: 6) == nil)
            #expect(try row.decode(UUID?.self, at: 7) == nil)
            #expect(try row.decode([String]?.self, at: 8) == nil)
            #expect(try row.decode([UInt8]?.self, at: 9) == nil)
            let error = #expect(throws: PostgresError.self) { try row.decode(String.self, at: 0) }
            #expect(error?.code == .decoding)

            // Some(value) binds the value; a NULL element inside an array survives.
            let present = try await connection.query(
                "select $1::text, $2::bigint, $3::text[]",
                [String?.some("x"), Int?.some(7), ["a", "b"] as [String]?])[0]
            #expect(try present.decode(String?.self, at: 0) == "x")
            #expect(try present.decode(Int?.self, at: 1) == 7)
            #expect(try present.decode([String].self, at: 2) == ["a", "b"])
            let withNull = try await connection.query("select array['a', null, 'c']::text[]")[0]
            #expect(try withNull.decode([String?].self, at: 0) == ["a", nil, "c"])
            let outOfRange = try await connection.query("select 3000000000::bigint")[0]
            #expect(throws: PostgresError.self) { try outOfRange.decode(Int32.self, at: 0) }
        }
    }

    // MARK: Errors and transactions

    @Test func serverErrorsCarryTheirSQLStateButNotTheirDetail() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            let division = await #expect(throws: PostgresError.self) { try await connection.query("select 1 / 0") }
            #expect(division?.code == .server)
            #expect(division?.sqlState == "22012")
            #expect(division?.description.contains("SQLSTATE 22012") == true)

            try await connection.execute("create table people (email text constraint people_email_key unique)")
            try await connection.execute("insert into people values ($1)", ["secret.person@example.com"])
            let duplicate = await #expect(throws: PostgresError.self) {
                try await connection.execute("insert into people values ($1)", ["secret.person@example.com"])
            }
            #expect(duplicate?.sqlState == "23505")
            #expect(duplicate?.constraint == "people_email_key")
            #expect(duplicate?.detail?.contains("secret.person@example.com") == true)
            #expect(duplicate?.description.contains("secret.person") == false, "description must not leak row data")

            let syntax = await #expect(throws: PostgresError.self) { try await connection.execute("selec 1") }
            #expect(syntax?.sqlState == "42601")
            #expect(try await connection.query("select 1")[0].decode(Int.self, at: 0) == 1, "connection still usable")
        }
    }

    @Test func transactionsRollBackOnThrowAndNestAsSavepoints() async throws {
        struct Abort: Error {}
        try await TestDatabase.withConnection(migrated: false) { connection in
            try await connection.execute("create table ledger (n int primary key)")
            await #expect(throws: Abort.self) {
                try await connection.withTransaction { db in
                    try db.execute("insert into ledger values (1)")
                    throw Abort()
                }
            }
            await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { db in
                    try db.execute("insert into ledger values (2)")
                    try db.execute("insert into ledger values (2)")  // unique violation
                }
            }
            #expect(try await connection.query("select count(*) from ledger")[0].decode(Int.self, at: 0) == 0)

            try await connection.withTransaction { db in
                try db.execute("insert into ledger values (3)")
                do {
                    try db.withTransaction { inner in
                        try inner.execute("insert into ledger values (4)")
                        throw Abort()
                    }
                } catch is Abort {}
                try db.execute("insert into ledger values (5)")
            }
            let kept = try await connection.query("select n from ledger order by n").map {
                try $0.decode(Int.self, at: 0)
            }
            #expect(kept == [3, 5])
        }
    }

    @Test func connectingToAClosedPortIsAClearErrorWithoutThePassword() async throws {
        let port = try PostgresLocalCluster.freePort()
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(
                "postgresql://crm:hunter2secret@127.0.0.1:\(port)/crm?connect_timeout=5", logger: logger)
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("\(port)") == true)
        #expect(error?.description.contains("refused") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("hunter2secret") == false)

        let malformed = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect("host=/nonexistent-dir port=1 dbname", logger: logger)
        }
        #expect(malformed?.code == .connectionFailed)
    }

    // MARK: COPY

    @Test func copyOf100000RowsLoadsExactlyThoseRows() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            let definition =
                "id integer primary key, name text not null, note text, tags text[] not null, at timestamptz, ok boolean"
            try await connection.execute("create table loaded (\(definition))")
            try await connection.execute("create table expected (\(definition))")
            // The same rows built by the server: the reference for the checksum.
            try await connection.execute(
                """
                insert into expected
                select i, 'row ' || i || case when i % 7 = 0 then E' tab\\there\\nnew line \\\\ back ü' else '' end,
                       case when i % 5 = 0 then null else 'note ' || (i * 31 % 1000) end,
                       case when i % 3 = 0 then '{}'::text[] else array['t' || (i % 10), 'a,b "q"'] end,
                       to_timestamp(1700000000 + i) + make_interval(secs => (i % 1000) / 1000000.0),
                       i % 2 = 0
                from generate_series(1, 100000) i
                """)
            let copied = try await connection.run { db in
                try db.copy(into: PostgresIdentifier("loaded"), columns: ["id", "name", "note", "tags", "at", "ok"]) {
                    writer in
                    for i in 1...100_000 {
                        writer.append(i)
                        writer.append("row \(i)" + (i % 7 == 0 ? " tab\there\nnew line \\ back ü" : ""))
                        writer.append(i % 5 == 0 ? nil : "note \(i * 31 % 1000)")
                        writer.append(i % 3 == 0 ? [] : ["t\(i % 10)", "a,b \"q\""])
                        writer.append(
                            Date(timeIntervalSince1970: Double(1_700_000_000 + i)).addingTimeInterval(
                                Double(i % 1000) / 1_000_000))
                        writer.append(i % 2 == 0)
                        try writer.endRow()
                    }
                }
            }
            #expect(copied == 100_000)
            func checksum(_ table: String) async throws -> (Int, String) {
                let row = try await connection.query(
                    "select count(*), md5(string_agg(t::text, E'\\n' order by t.id)) from \(PostgresIdentifier(table)) t"
                )[0]
                return (try row.decode(Int.self, at: 0), try row.decode(String.self, at: 1))
            }
            let loaded = try await checksum("loaded")
            let reference = try await checksum("expected")
            #expect(loaded.0 == 100_000)
            #expect(loaded.1 == reference.1)
        }
    }

    @Test func binaryCopyStoresWhatTextCopyStores() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            let definition = """
                n bigint primary key, small integer, name text, ok boolean, id uuid, at timestamptz, day date, tags text[]
                """
            try await connection.execute("create table as_text (\(definition))")
            try await connection.execute("create table as_binary (\(definition))")
            let texts: [String?] = ["Grüße aus Köln, 東京 🚀", "tab\tnewline\ncr\r back\\slash \"double\"", "", nil]
            let dates: [Date?] = [
                Date(timeIntervalSince1970: 1_700_000_000.123456), Date(timeIntervalSince1970: -1_000_000.654321),
                Date(timeIntervalSince1970: 946_684_800), nil, Date(timeIntervalSince1970: 946_684_799.999999),
            ]
            let days: [PostgresDate?] = [
                PostgresDate(year: 2024, month: 2, day: 29), PostgresDate(year: 1, month: 1, day: 1),
                PostgresDate(year: 9999, month: 12, day: 31), PostgresDate(year: 1999, month: 12, day: 31), nil,
            ]
            let arrays: [[String]] = [["a", "with,comma", "with \"quotes\"", "{braces}", "Ünïcödé", "NULL"], [], [""]]
            let rows = (0..<60).map { i in
                (
                    Int64(i) - 30, Int32(i * 1000 - 30000), texts[i % texts.count], i % 3 == 0,
                    i % 4 == 0 ? nil : UUID(),
                    dates[i % dates.count], days[i % days.count], arrays[i % arrays.count]
                )
            }
            let columns = ["n", "small", "name", "ok", "id", "at", "day", "tags"]
            let (text, binary) = try await connection.run { db in
                let text = try db.copy(into: PostgresIdentifier("as_text"), columns: columns) { writer in
                    for row in rows {
                        writer.append(row.0); writer.append(row.1); writer.append(row.2); writer.append(row.3)
                        writer.append(row.4); writer.append(row.5); writer.append(row.6); writer.append(row.7)
                        try writer.endRow()
                    }
                }
                let binary = try db.copyBinary(into: PostgresIdentifier("as_binary"), columns: columns) { writer in
                    for row in rows {
                        writer.append(row.0); writer.append(row.1); writer.append(row.2); writer.append(row.3)
                        writer.append(row.4); writer.append(row.5); writer.append(row.6); writer.append(row.7)
                        try writer.endRow()
                    }
                }
                return (text, binary)
            }
            #expect(text == rows.count && binary == rows.count)
            let differing = try await connection.query(
                """
                select count(*) from (select * from as_text except select * from as_binary) d
                """)[0].decode(Int.self, at: 0)
            #expect(differing == 0)
            #expect(
                try await connection.query(
                    "select count(*) from as_binary where tags = '{}' and cardinality(tags) = 0")[0]
                    .decode(Int.self, at: 0) == rows.filter { $0.7.isEmpty }.count)

            // A value whose binary form is not the column's type is refused, and nothing is loaded.
            let mismatch = await #expect(throws: PostgresError.self) {
                try await connection.run { db in
                    try db.copyBinary(into: PostgresIdentifier("as_binary"), columns: ["n", "small"]) { writer in
                        writer.append(Int64(1000)); writer.append(Int64(7))
                        try writer.endRow()
                    }
                }
            }
            #expect(mismatch?.sqlState == "22P03")
            #expect(
                try await connection.query("select count(*) from as_binary where n = 1000")[0].decode(Int.self, at: 0)
                    == 0)
        }
    }

    @Test func aCopyWhoseBodyThrowsLoadsNothing() async throws {
        struct Abort: Error {}
        try await TestDatabase.withConnection(migrated: false) { connection in
            try await connection.execute("create table partial (n int)")
            await #expect(throws: Abort.self) {
                try await connection.run { db in
                    try db.copy(into: PostgresIdentifier("partial"), columns: ["n"]) { writer in
                        for n in 0..<100_000 {
                            try writer.appendRow([n])
                            if n == 90_000 { throw Abort() }
                        }
                    }
                }
            }
            #expect(try await connection.query("select count(*) from partial")[0].decode(Int.self, at: 0) == 0)
            let bad = await #expect(throws: PostgresError.self) {
                try await connection.run { db in
                    try db.copy(into: PostgresIdentifier("partial"), columns: ["n"]) { writer in
                        try writer.appendRow(["not a number"])
                    }
                }
            }
            #expect(bad?.sqlState == "22P02")
            #expect(try await connection.query("select count(*) from partial")[0].decode(Int.self, at: 0) == 0)
        }
    }

    // MARK: Advisory locks and prepared statements

    @Test func advisoryLocksExcludeOtherConnections() async throws {
        try await TestDatabase.with(migrated: false) { conninfo in
            let first = try await PostgresConnection.connect(conninfo, logger: logger)
            let second = try await PostgresConnection.connect(conninfo, logger: logger)
            let key: Int64 = 0x5EED_1234
            #expect(try await first.tryAdvisoryLock(key))
            #expect(try await second.tryAdvisoryLock(key) == false)

            // A blocking waiter gets in only after the holder releases.
            let entered = Entered()
            let waiter = Task {
                try await second.withAdvisoryLock(key) { _ in entered.mark() }
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(entered.value == false)
            try await first.advisoryUnlock(key)
            try await waiter.value
            #expect(entered.value == true)
            #expect(try await first.tryAdvisoryLock(key), "released again after withAdvisoryLock")
            await first.close()
            await second.close()
        }
    }

    @Test func preparedStatementsAreReused() async throws {
        try await TestDatabase.with(migrated: false) { conninfo in
            let connection = try await PostgresConnection.connect(conninfo, logger: logger)
            let sql = "select $1::int + $2::int"
            let statement = try await connection.prepare(sql)
            #expect(try await connection.prepare(sql) == statement)
            var sum = 0
            for n in 0..<500 { sum += try await connection.query(statement, [n, 1])[0].decode(Int.self, at: 0) }
            #expect(sum == (0..<500).reduce(0) { $0 + $1 + 1 })
            let prepared = try await connection.query(
                "select count(*) from pg_prepared_statements where statement = $1", [sql])
            #expect(try prepared[0].decode(Int.self, at: 0) == 1, "prepared once on the server")

            let other = try await PostgresConnection.connect(conninfo, logger: logger)
            let foreign = await #expect(throws: PostgresError.self) { try await other.query(statement, [1, 2]) }
            #expect(foreign?.code == .usage)
            await other.close()
            await connection.close()
        }
    }
}

/// A flag set from a lock holder's closure.
private final class Entered: Sendable {
    private let entered = Mutex(false)
    func mark() { entered.withLock { $0 = true } }
    var value: Bool { entered.withLock { $0 } }
}

import Foundation
import Logging
import Postgres
import Testing
import TestSupport
@testable import SyncStore

/// `snapsync migrate` against a real PostgreSQL: applies in order, records checksums, is a no-op when rerun,
/// refuses changed files without applying anything, and is safe to run concurrently.
@Suite struct MigrationRunnerTests {
    let logger = TestDatabase.quietLogger

    @Test func migratesAnEmptyDatabaseThenRerunIsANoOp() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            let runner = try MigrationRunner(directory: TestDatabase.sqlDirectory, logger: logger)
            let first = try await runner.migrate(on: connection)
            #expect(first.alreadyApplied == 0)
            #expect(first.applied.map(\.version) == Array(1...runner.migrations.count))

            let recorded = try await MigrationRunner.applied(on: connection)
            #expect(recorded.map(\.fileName) == runner.migrations.map(\.fileName))
            #expect(recorded.map(\.checksum) == runner.migrations.map(\.checksum))

            let second = try await runner.migrate(on: connection)
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == runner.migrations.count)
            #expect(try await MigrationRunner.applied(on: connection) == recorded)  // same rows, same times
        }
    }

    @Test func eachTestGetsItsOwnMigratedDatabase() async throws {
        let runner = try MigrationRunner(directory: TestDatabase.sqlDirectory, logger: logger)
        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<3 {
                group.addTask {
                    try await TestDatabase.withConnection { connection in
                        #expect(try await runner.migrate(on: connection).applied.isEmpty)  // already migrated
                        try await connection.execute(
                            "insert into crm.users (id, login, display_name) values ($1, $2, 'x')",
                            [UUID(), "user\(index)"])
                        #expect(
                            try await connection.query("select count(*) from crm.users")[0].decode(Int.self, at: 0) == 1
                        )
                        return try await connection.query("select current_database()")[0].decode(String.self, at: 0)
                    }
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(names.count == 3)
        let server = try await PostgresConnection.connect(try await TestDatabase.serverConninfo(), logger: logger)
        let left = try await server.query("select count(*) from pg_database where datname = any($1)", [Array(names)])
        #expect(try left[0].decode(Int.self, at: 0) == 0, "dropped after the test")
        await server.close()
    }

    @Test func aChangedAppliedFileIsRefusedAndNothingIsApplied() async throws {
        let directory = try TemporarySQLDirectory.repositoryCopy()
        defer { directory.remove() }
        try await TestDatabase.withConnection(migrated: false) { connection in
            _ = try await MigrationRunner(directory: directory.url, logger: logger).migrate(on: connection)

            let count = try TemporarySQLDirectory.repositoryCount()
            let next = Migration.number(count + 1)
            try directory.write(
                "0001_crm.sql",
                try String(contentsOf: directory.url.appendingPathComponent("0001_crm.sql"), encoding: .utf8)
                    + "\n-- edited\n")
            try directory.write("\(next)_later.sql", "create table crm.later (id int);")
            let error = await #expect(throws: SyncStoreError.self) {
                try await MigrationRunner(directory: directory.url, logger: logger).migrate(on: connection)
            }
            #expect(error?.code == .migrationChanged)
            #expect(error?.file == "0001_crm.sql")
            #expect(error?.description.contains("0001_crm.sql changed after it was applied") == true)
            let later = try await connection.query("select to_regclass('crm.later') is null").first?.decode(
                Bool.self, at: 0)
            #expect(later == true, "nothing is applied when a file changed")
            #expect(try await MigrationRunner.applied(on: connection).count == count)
        }
    }

    @Test func aFailingMigrationLeavesNothingOfItself() async throws {
        let count = try TemporarySQLDirectory.repositoryCount()
        let directory = try TemporarySQLDirectory.repositoryCopy(plus: [
            "\(Migration.number(count + 1))_broken.sql": """
            create table crm.half (id int);
            insert into crm.half values (1);
            select * from crm.no_such_table;
            """
        ])
        defer { directory.remove() }
        try await TestDatabase.withConnection(migrated: false) { connection in
            let error = await #expect(throws: SyncStoreError.self) {
                try await MigrationRunner(directory: directory.url, logger: logger).migrate(on: connection)
            }
            #expect(error?.code == .migrationFailed)
            #expect(error?.file == "\(Migration.number(count + 1))_broken.sql")
            #expect(error?.postgres?.sqlState == "42P01")
            let half = try await connection.query("select to_regclass('crm.half') is null").first?.decode(
                Bool.self, at: 0)
            #expect(half == true)
            // The files before it were applied, each in its own transaction.
            #expect(try await MigrationRunner.applied(on: connection).count == count)
        }
    }

    @Test func aMigrationTheFilesDoNotKnowIsRefused() async throws {
        let count = try TemporarySQLDirectory.repositoryCount()
        let newer = try TemporarySQLDirectory.repositoryCopy(plus: [
            "\(Migration.number(count + 1))_newer.sql": "select 1;"
        ])
        defer { newer.remove() }
        try await TestDatabase.withConnection(migrated: false) { connection in
            _ = try await MigrationRunner(directory: newer.url, logger: logger).migrate(on: connection)
            let error = await #expect(throws: SyncStoreError.self) {
                try await MigrationRunner(directory: TestDatabase.sqlDirectory, logger: logger).migrate(on: connection)
            }
            #expect(error?.code == .unknownMigration)
            #expect(error?.file == "\(Migration.number(count + 1))_newer.sql")
        }
    }

    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        try await TestDatabase.with(migrated: false) { conninfo in
            let runner = try MigrationRunner(directory: TestDatabase.sqlDirectory, logger: logger)
            let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let connection = try await PostgresConnection.connect(conninfo, logger: logger)
                        let report = try await runner.migrate(on: connection)
                        await connection.close()
                        return report
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(reports.map(\.applied.count).sorted() == [0, 0, 0, runner.migrations.count])
        }
    }

    @Test func theCRMSchemaIsExactlyTheContract() async throws {
        try await TestDatabase.withConnection(migrated: false) { connection in
            _ = try await MigrationRunner(directory: TestDatabase.sqlDirectory, logger: logger).migrate(on: connection)

            let columns = try await connection.query(
                """
                select table_name, column_name, udt_name, is_nullable, coalesce(column_default, '')
                from information_schema.columns where table_schema = 'crm' order by table_name, ordinal_position
                """
            ).map { row in
                Column(
                    table: try row.decode(at: 0), name: try row.decode(at: 1), type: try row.decode(at: 2),
                    nullable: try row.decode(String.self, at: 3) == "YES", defaultValue: try row.decode(at: 4))
            }
            #expect(Set(columns.map(\.table)) == Set(Self.expected.keys))
            for (table, expected) in Self.expected {
                let actual = columns.filter { $0.table == table }.map {
                    "\($0.name) \($0.type)\($0.nullable ? "" : " not null")"
                }
                #expect(actual == expected, "crm.\(table)")
            }
            let categoriesDefault = columns.first { $0.table == "contacts" && $0.name == "categories" }?.defaultValue
            #expect(categoriesDefault == "'{}'::text[]")

            let constraints = try await connection.query(
                """
                select tc.table_name, tc.constraint_type, string_agg(kcu.column_name, ',' order by kcu.ordinal_position)
                from information_schema.table_constraints tc
                join information_schema.key_column_usage kcu
                  on kcu.constraint_schema = tc.constraint_schema and kcu.constraint_name = tc.constraint_name
                where tc.table_schema = 'crm' group by tc.table_name, tc.constraint_name, tc.constraint_type
                """
            ).map { row in
                "\(try row.decode(String.self, at: 0)) \(try row.decode(String.self, at: 1)) (\(try row.decode(String.self, at: 2)))"
            }
            for key in [
                "users PRIMARY KEY (id)", "users UNIQUE (login)", "users UNIQUE (mailbox)", "contacts PRIMARY KEY (id)",
                "coverage PRIMARY KEY (user_id,contact_id)", "coverage FOREIGN KEY (user_id)",
                "coverage FOREIGN KEY (contact_id)",
                "appointments PRIMARY KEY (id)", "appointments FOREIGN KEY (owner_id)",
                "appointment_exceptions PRIMARY KEY (appointment_id,original_start)",
                "appointment_exceptions FOREIGN KEY (appointment_id)",
                "appointment_attendees PRIMARY KEY (appointment_id,email)",
                "appointment_attendees FOREIGN KEY (appointment_id)", "appointment_attendees FOREIGN KEY (contact_id)",
                "tasks PRIMARY KEY (id)", "tasks FOREIGN KEY (owner_id)",
            ] {
                #expect(constraints.contains(key), "missing \(key)")
            }

            let foreignKeys = try await connection.query(
                """
                select conrelid::regclass::text, confrelid::regclass::text, confdeltype::text
                from pg_constraint where contype = 'f' and connamespace = 'crm'::regnamespace
                """
            ).map { row in
                "\(try row.decode(String.self, at: 0)) -> \(try row.decode(String.self, at: 1)) \(try row.decode(String.self, at: 2))"
            }
            #expect(foreignKeys.contains("crm.appointment_exceptions -> crm.appointments c"))  // on delete cascade
            #expect(foreignKeys.contains("crm.appointment_attendees -> crm.appointments c"))
            #expect(foreignKeys.contains("crm.appointment_attendees -> crm.contacts a"))

            // The checks hold: values outside the lists are refused with check_violation (23514).
            try await connection.run { db in
                let user = UUID(), appointment = UUID()
                try db.execute("insert into crm.users (id, login, display_name) values ($1, 'u', 'U')", [user])
                try db.execute(
                    """
                    insert into crm.appointments (id, owner_id, subject, starts_at, ends_at, is_all_day, is_private, categories,
                      updated_at, version) values ($1, $2, 's', now(), now(), false, false, '{}', now(), 1)
                    """, [appointment, user])
                for (sql, constraint) in [
                    (
                        "insert into crm.appointment_attendees (appointment_id, email, kind) values ($1, 'a@x', 'cc')",
                        "appointment_attendees_kind_check"
                    ),
                    (
                        "insert into crm.tasks (id, owner_id, subject, status, percent_complete, importance, categories, updated_at, version) values (gen_random_uuid(), (select owner_id from crm.appointments where id = $1), 't', 'done', 0, 'normal', '{}', now(), 1)",
                        "tasks_status_check"
                    ),
                    (
                        "insert into crm.tasks (id, owner_id, subject, status, percent_complete, importance, categories, updated_at, version) values (gen_random_uuid(), (select owner_id from crm.appointments where id = $1), 't', 'completed', 0, 'urgent', '{}', now(), 1)",
                        "tasks_importance_check"
                    ),
                ] {
                    do {
                        try db.execute(sql, [appointment])
                        Issue.record("\(constraint) did not refuse the row")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == "23514")
                        #expect(error.constraint == constraint)
                    }
                }
            }
        }
    }

    private struct Column {
        var table: String
        var name: String
        var type: String
        var nullable: Bool
        var defaultValue: String
    }

    /// Issue 2's CRM schema: column, udt type, nullability, in order.
    static let expected: [String: [String]] = [
        "users": ["id uuid not null", "login text not null", "display_name text not null", "mailbox text"],
        "contacts": [
            "id uuid not null", "given_name text", "surname text", "display_name text not null", "company text",
            "job_title text", "email1 text", "email2 text", "email3 text", "business_phone text", "mobile_phone text",
            "home_phone text", "street text", "city text", "state text", "postal_code text", "country text",
            "notes text",
            "birthday date", "categories _text not null", "updated_at timestamptz not null", "version int8 not null",
        ],
        "coverage": ["user_id uuid not null", "contact_id uuid not null"],
        "appointments": [
            "id uuid not null", "owner_id uuid not null", "subject text not null", "location text", "body text",
            "starts_at timestamptz not null", "ends_at timestamptz not null", "is_all_day bool not null",
            "time_zone text",
            "is_private bool not null", "categories _text not null", "ical_uid text", "recurrence text",
            "updated_at timestamptz not null", "version int8 not null",
        ],
        "appointment_exceptions": [
            "appointment_id uuid not null", "original_start timestamptz not null", "is_cancelled bool not null",
            "subject text", "location text", "starts_at timestamptz", "ends_at timestamptz",
        ],
        "appointment_attendees": [
            "appointment_id uuid not null", "email text not null", "name text", "kind text", "contact_id uuid",
        ],
        "tasks": [
            "id uuid not null", "owner_id uuid not null", "subject text not null", "body text", "starts_on date",
            "due_on date", "status text not null", "percent_complete int4 not null", "importance text not null",
            "completed_at timestamptz", "categories _text not null", "updated_at timestamptz not null",
            "version int8 not null",
        ],
    ]
}

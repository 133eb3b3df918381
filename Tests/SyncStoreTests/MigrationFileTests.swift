import Foundation
import Testing
import TestSupport
@testable import SyncStore

/// Loading and checking migration files, and finding the `sql/` directory, without a database.
@Suite struct MigrationFileTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(
            SHA256.hexDigest(of: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hexDigest(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hexDigest(of: twoBlocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func fileNames() {
        #expect(Migration.parse(fileName: "0001_crm.sql")! == (1, "crm"))
        #expect(Migration.parse(fileName: "0012_sync_runs2.sql")! == (12, "sync_runs2"))
        for bad in [
            "1_crm.sql", "0001-crm.sql", "0001_.sql", "0001_CRM.sql", "0000_zero.sql", "0001_crm.sql.bak", "abcd_x.sql",
        ] {
            #expect(Migration.parse(fileName: bad) == nil, "\(bad)")
        }
    }

    @Test func orderGapsAndDuplicates() throws {
        func migration(_ name: String) throws -> Migration {
            try Migration(fileName: name, contents: Array("select 1;".utf8))
        }
        let ordered = try Migration.ordered([migration("0002_b.sql"), migration("0001_a.sql"), migration("0003_c.sql")])
        #expect(ordered.map(\.version) == [1, 2, 3])

        let gap = #expect(throws: SyncStoreError.self) {
            try Migration.ordered([migration("0001_a.sql"), migration("0003_c.sql")])
        }
        #expect(gap?.code == .migrationSequence)
        #expect(gap?.message.contains("0002 is missing before 0003_c.sql") == true)

        let duplicate = #expect(throws: SyncStoreError.self) {
            try Migration.ordered([migration("0001_a.sql"), migration("0002_b.sql"), migration("0002_other.sql")])
        }
        #expect(duplicate?.code == .migrationSequence)
        #expect(duplicate?.message.contains("0002_b.sql and 0002_other.sql") == true)
    }

    @Test func loadsTheRepositoryMigrations() throws {
        let migrations = try Migration.load(from: TemporarySQLDirectory.repositorySQL)
        #expect(migrations.first?.fileName == "0001_crm.sql")
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        #expect(migrations.allSatisfy { $0.checksum.count == 64 })
    }

    @Test func badFileNameInTheDirectoryIsAnError() throws {
        let directory = try TemporarySQLDirectory(files: [
            "0001_crm.sql": "select 1;", "notes.sql": "select 2;", "README": "x",
        ])
        defer { directory.remove() }
        let error = #expect(throws: SyncStoreError.self) { try Migration.load(from: directory.url) }
        #expect(error?.code == .invalidMigrationFile)
        #expect(error?.file == "notes.sql")
    }

    @Test func locatesTheSQLDirectory() throws {
        let root = try TemporarySQLDirectory(files: [:])
        defer { root.remove() }
        let fileManager = FileManager.default
        // An installed layout: <prefix>/bin/snapsync and <prefix>/share/snapsync/sql.
        let prefix = root.url.appendingPathComponent("prefix")
        let share = prefix.appendingPathComponent("share/snapsync/sql")
        try fileManager.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try fileManager.createDirectory(at: share, withIntermediateDirectories: true)
        try "".write(to: share.appendingPathComponent("0001_crm.sql"), atomically: true, encoding: .utf8)
        // A build inside a repository: <repo>/.build/debug/snapsync and <repo>/sql.
        let repository = root.url.appendingPathComponent("repo")
        let repositorySQL = repository.appendingPathComponent("sql")
        try fileManager.createDirectory(
            at: repository.appendingPathComponent(".build/debug"), withIntermediateDirectories: true)
        try fileManager.createDirectory(at: repositorySQL, withIntermediateDirectories: true)
        try "".write(to: repositorySQL.appendingPathComponent("0001_crm.sql"), atomically: true, encoding: .utf8)
        let elsewhere = root.url.appendingPathComponent("elsewhere/bin/snapsync")

        func locate(
            explicit: String? = nil, environment: [String: String] = [:], executable: URL?,
            cwd: String = "/nonexistent",
            system: [String] = []
        ) throws -> String {
            try MigrationDirectory.locate(
                explicit: explicit, environment: environment, executables: executable.map { [$0] } ?? [],
                systemDirectories: system, currentDirectory: cwd
            ).path
        }
        let installed = prefix.appendingPathComponent("bin/snapsync")
        #expect(try locate(executable: installed) == share.path)
        #expect(
            try locate(executable: repository.appendingPathComponent(".build/debug/snapsync")) == repositorySQL.path)
        #expect(try locate(executable: elsewhere, cwd: repository.path) == repositorySQL.path)
        #expect(try locate(environment: ["SNAPSYNC_SQL_DIR": root.url.path], executable: installed) == root.url.path)
        #expect(
            try locate(explicit: repository.path, environment: ["SNAPSYNC_SQL_DIR": root.url.path], executable: nil)
                == repository.path)

        let missing = #expect(throws: SyncStoreError.self) { try locate(explicit: "/nonexistent/sql", executable: nil) }
        #expect(missing?.code == .migrationsNotFound)
        #expect(missing?.message.contains("--sql-dir /nonexistent/sql") == true)
        let nowhere = #expect(throws: SyncStoreError.self) { try locate(executable: elsewhere) }
        #expect(nowhere?.message.contains("SNAPSYNC_SQL_DIR") == true)
        #expect(try locate(executable: elsewhere, system: ["/nonexistent/share", share.path]) == share.path)

        // A package's layout: <root>/usr/bin/snapsync links to <root>/opt/snapsync/bin/snapsync, the SQL is in
        // <root>/usr/share/snapsync/sql: found through the link as invoked, by name on PATH or by its path.
        let usr = root.url.appendingPathComponent("usr")
        let packaged = usr.appendingPathComponent("share/snapsync/sql")
        try fileManager.createDirectory(at: packaged, withIntermediateDirectories: true)
        try "".write(to: packaged.appendingPathComponent("0001_crm.sql"), atomically: true, encoding: .utf8)
        let opt = root.url.appendingPathComponent("opt/snapsync/bin")
        try fileManager.createDirectory(at: opt, withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(to: opt.appendingPathComponent("snapsync"), atomically: true, encoding: .utf8)
        try fileManager.setAttributes(
            [.posixPermissions: 0o755], ofItemAtPath: opt.appendingPathComponent("snapsync").path)
        try fileManager.createDirectory(at: usr.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(
            atPath: usr.appendingPathComponent("bin/snapsync").path,
            withDestinationPath: "../../opt/snapsync/bin/snapsync")
        let byName = MigrationDirectory.executableURLs(
            arguments: ["snapsync"],
            environment: ["PATH": "/nonexistent:" + usr.appendingPathComponent("bin").path])
        #expect(byName.first == usr.appendingPathComponent("bin/snapsync").standardizedFileURL)
        let byPath = MigrationDirectory.executableURLs(arguments: [usr.appendingPathComponent("bin/snapsync").path])
        for invoked in [byName, byPath] {
            let found = try MigrationDirectory.locate(
                executables: invoked, systemDirectories: [], currentDirectory: "/nonexistent")
            #expect(found.path == packaged.path)
        }
    }
}

/// A temporary directory of migration files (name → SQL).
struct TemporarySQLDirectory {
    static let repositorySQL = TestDatabase.sqlDirectory

    let url: URL

    init(files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    /// A copy of the repository's migrations plus `extra` files.
    static func repositoryCopy(plus extra: [String: String] = [:]) throws -> TemporarySQLDirectory {
        let directory = try TemporarySQLDirectory(files: extra)
        for name in try FileManager.default.contentsOfDirectory(atPath: repositorySQL.path) where name.hasSuffix(".sql")
        {
            try FileManager.default.copyItem(
                at: repositorySQL.appendingPathComponent(name), to: directory.url.appendingPathComponent(name))
        }
        return directory
    }

    /// How many migration files the repository has.
    static func repositoryCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: repositorySQL.path).filter { $0.hasSuffix(".sql") }.count
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

import Foundation

/// One forward-only migration: a file `NNNN_name.sql` of the `sql/` directory.
public struct Migration: Sendable, Hashable {
    /// The number `NNNN` (1, 2, ...).
    public var version: Int
    /// The name after the number (`crm` for `0001_crm.sql`).
    public var name: String
    /// The file name (`0001_crm.sql`), used in messages.
    public var fileName: String
    /// The SQL script (several statements; no transaction control: the runner wraps each file in one).
    public var sql: String
    /// SHA-256 of the file's bytes, 64 lowercase hex digits: what the database records.
    public var checksum: String

    /// A migration from a file's name and bytes. Throws when the name is not `NNNN_name.sql` or the bytes are
    /// not UTF-8.
    public init(fileName: String, contents: some Collection<UInt8>) throws(SyncStoreError) {
        guard let (version, name) = Self.parse(fileName: fileName) else {
            throw SyncStoreError(
                code: .invalidMigrationFile,
                message: "\(fileName) is not named NNNN_name.sql (four digits, lowercase letters, digits, _)",
                file: fileName)
        }
        guard let sql = String(bytes: contents, encoding: .utf8) else {
            throw SyncStoreError(code: .invalidMigrationFile, message: "\(fileName) is not UTF-8", file: fileName)
        }
        self.version = version
        self.name = name
        self.fileName = fileName
        self.sql = sql
        self.checksum = SHA256.hexDigest(of: contents)
    }

    /// `(version, name)` of a file named `NNNN_name.sql`, nil for any other name.
    static func parse(fileName: String) -> (Int, String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        let digits = stem.prefix(4)
        guard digits.count == 4, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let version = Int(digits), version > 0,
            stem.dropFirst(4).first == "_"
        else { return nil }
        let name = stem.dropFirst(5)
        guard !name.isEmpty,
            name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else { return nil }
        return (version, String(name))
    }

    /// `version` as the four digits of a file name (`0001`).
    static func number(_ version: Int) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Checks that `migrations` are numbered 1, 2, 3, ... without gaps or duplicates and returns them in order.
    public static func ordered(_ migrations: [Migration]) throws(SyncStoreError) -> [Migration] {
        let sorted = migrations.sorted { ($0.version, $0.fileName) < ($1.version, $1.fileName) }
        for (index, migration) in sorted.enumerated() {
            if index > 0, sorted[index - 1].version == migration.version {
                throw SyncStoreError(
                    code: .migrationSequence,
                    message: "\(sorted[index - 1].fileName) and \(migration.fileName) have the same number",
                    file: migration.fileName)
            }
            guard migration.version == index + 1 else {
                throw SyncStoreError(
                    code: .migrationSequence,
                    message: "migration \(Self.number(index + 1)) is missing before \(migration.fileName)",
                    file: migration.fileName)
            }
        }
        return sorted
    }

    /// Loads every `*.sql` file of `directory`, checked and in order. Other files are ignored; a `.sql` file
    /// that is not named `NNNN_name.sql` is an error.
    public static func load(from directory: URL) throws(SyncStoreError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw SyncStoreError(code: .migrationsNotFound, message: "cannot list \(directory.path): \(error)")
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
                throw SyncStoreError(code: .invalidMigrationFile, message: "cannot read \(name)", file: name)
            }
            migrations.append(try Migration(fileName: name, contents: data))
        }
        guard !migrations.isEmpty else {
            throw SyncStoreError(code: .migrationsNotFound, message: "no migration files in \(directory.path)")
        }
        return try ordered(migrations)
    }
}

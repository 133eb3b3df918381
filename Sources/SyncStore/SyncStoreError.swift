import Postgres

/// An error of the PostgreSQL side of snapsync (migrations, staging, checkpoints). The description names the
/// operation and the file or object involved, never record data; a wrapped ``PostgresError`` contributes its own
/// description (SQLSTATE and server message, no detail).
public struct SyncStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// No directory of migration files was found.
        public static let migrationsNotFound = Code(name: "migrationsNotFound")
        /// A migration file is unreadable or its name is not `NNNN_name.sql`.
        public static let invalidMigrationFile = Code(name: "invalidMigrationFile")
        /// Migration numbers have a gap, a duplicate or do not start at 1.
        public static let migrationSequence = Code(name: "migrationSequence")
        /// A migration file changed after it was applied (its checksum differs from the recorded one).
        public static let migrationChanged = Code(name: "migrationChanged")
        /// The database has a migration applied that no file here knows (an older binary against a newer database).
        public static let unknownMigration = Code(name: "unknownMigration")
        /// A migration's SQL failed; nothing of it was applied.
        public static let migrationFailed = Code(name: "migrationFailed")
        /// A status or kind column holds a value this version does not know (a newer snapsync wrote it?).
        public static let unknownValue = Code(name: "unknownValue")
        /// A folder's sync state changed while live sync read changes from it (a protocol switch or an inbound snapshot
        /// replaced it): the changes read were not applied, and the next pass reads from the new state.
        public static let syncStateChanged = Code(name: "syncStateChanged")
        /// Any other database failure.
        public static let database = Code(name: "database")
        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for the operator (names files and objects, never record data).
    public var message: String
    /// The migration file involved, when there is one.
    public var file: String?
    /// The underlying database error, when there is one.
    public var postgres: PostgresError?

    /// Creates an error.
    public init(code: Code, message: String, file: String? = nil, postgres: PostgresError? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.postgres = postgres
    }

    public var description: String {
        var text = "sync store error (\(code)): \(message)"
        if let postgres { text += ": \(postgres)" }
        return text
    }

    /// Wraps any error thrown while talking to the database.
    static func wrapping(_ error: any Error, _ message: String, file: String? = nil) -> SyncStoreError {
        if let error = error as? SyncStoreError { return error }
        if let error = error as? PostgresError {
            return SyncStoreError(
                code: file == nil ? .database : .migrationFailed, message: message, file: file, postgres: error)
        }
        return SyncStoreError(code: .database, message: "\(message): \(error)", file: file)
    }
}

import Postgres

/// Row counts of the CRM tables, for `snapsync status`.
public enum CRMStatus {
    /// One table of the `crm` schema and its row count.
    public struct TableCount: Sendable, Hashable {
        /// The table name (without the schema).
        public var table: String
        /// Its exact row count.
        public var rows: Int64
    }

    /// Every table of the `crm` schema with its row count (exact `count(*)`), by table name; empty when the
    /// schema does not exist yet.
    public static func rowCounts(on connection: PostgresConnection) async throws(SyncStoreError) -> [TableCount] {
        do {
            return try await connection.run { connection in
                let tables = try connection.query(
                    """
                    select table_name from information_schema.tables
                    where table_schema = 'crm' and table_type = 'BASE TABLE' order by table_name
                    """
                ).map { row in try row.decode(String.self, at: 0) }
                return try tables.map { table in
                    let count = try connection.query("select count(*) from \(PostgresIdentifier(schema: "crm", table))")
                    return TableCount(table: table, rows: try count.first?.decode(Int64.self, at: 0) ?? 0)
                }
            }
        } catch {
            throw SyncStoreError.wrapping(error, "counting the rows of the crm tables")
        }
    }
}

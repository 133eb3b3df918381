import Synchronization

/// Rows a mailbox's stage changed, per table, held until the stage ends and then added to
/// `sync.table_activity` in one statement per table.
///
/// The outbound push commits a batch every few dozen items; adding each batch's count in the batch's own
/// transaction updated one row of `sync.table_activity` (the links' count) a few thousand times a snapshot,
/// from every worker at once. The counts only steer when the ANALYZE policy runs, so a count lost with a killed
/// stage delays one ANALYZE a little; it never loses data.
final class TableActivityTally: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Adds `rows` changed rows of `table`.
    func add(_ rows: Int, in table: String) {
        guard rows > 0 else { return }
        counts.withLock { $0[table, default: 0] += rows }
    }

    /// The counts added since the last call, emptied.
    func drain() -> [String: Int] {
        counts.withLock { counts in
            defer { counts = [:] }
            return counts
        }
    }
}

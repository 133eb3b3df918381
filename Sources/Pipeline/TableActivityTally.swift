import Synchronization

/// Rows a mailbox's stage changed, per table (``StageCounts/changedRows`` of its batches), held until the stage
/// ends and then added to `sync.table_activity` in one short statement per table.
///
/// Added in each batch's own transaction, they kept a row of `sync.table_activity` locked until the batch
/// committed: the outbound push updated the links' row a few thousand times a snapshot from every worker at once,
/// and an inbound merge held four tables' rows while it wrote a folder's links, so the other workers' merges waited
/// (0.3 to 0.6 ms a call in `pg_stat_statements`). The counts only steer when the ANALYZE policy runs: a count
/// lost with a killed stage delays one ANALYZE a little and never loses data.
final class TableActivityTally: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Adds a batch's rows written per table.
    func add(_ changedRows: [String: Int]) {
        counts.withLock { $0.merge(changedRows, uniquingKeysWith: +) }
    }

    /// The counts added since the last call, emptied.
    func drain() -> [String: Int] {
        counts.withLock { counts in
            defer { counts = [:] }
            return counts
        }
    }
}

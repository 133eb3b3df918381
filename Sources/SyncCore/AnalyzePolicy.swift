/// How much a table changed since its last `ANALYZE`, as the pipeline counted it.
public struct TableActivity: Sendable, Hashable {
    /// Schema-qualified table name, e.g. `crm.appointments`.
    public var table: String
    /// The row estimate the last ANALYZE left (`pg_class.reltuples`); negative when never analyzed.
    public var rowsAtAnalyze: Double
    /// Rows inserted, updated or deleted by the pipeline since then.
    public var changedSince: Int64

    public init(table: String, rowsAtAnalyze: Double, changedSince: Int64) {
        self.table = table
        self.rowsAtAnalyze = rowsAtAnalyze
        self.changedSince = changedSince
    }
}

/// Decides which tables to `ANALYZE` between stages, so the planner never merges on statistics taken
/// when a table was empty or much smaller (see the performance notes: a stale plan turned a 0.16 s join
/// into 58 s).
public struct AnalyzePolicy: Sendable, Hashable {
    /// Analyze when the rows changed exceed this fraction of the rows at the last analyze (default one half: a
    /// table growing from empty is analyzed about 20 times on its way to a million rows, about 80 times at 10%, and
    /// snapsync's queries reach CRM tables only through their indexes, so a table half again as large as its
    /// statistics say is planned the same way).
    public var threshold: Double
    /// Never analyze for fewer changed rows than this (tiny changes cannot mislead the planner).
    public var minimumChangedRows: Int64
    /// The statistics target of the ANALYZEs run in the middle of a snapshot (PostgreSQL samples 300 rows per unit):
    /// the merges that follow need a table's size and rough distributions, which 3,000 rows give at a tenth of the cost
    /// of the server's default sample. The tables so analyzed are analyzed again at the server's target when the run
    /// ends. nil: every ANALYZE uses the server's target.
    public var interimStatisticsTarget: Int?

    public init(threshold: Double = 0.50, minimumChangedRows: Int64 = 500, interimStatisticsTarget: Int? = 10) {
        self.threshold = threshold
        self.minimumChangedRows = minimumChangedRows
        self.interimStatisticsTarget = interimStatisticsTarget
    }

    /// True when `activity` calls for an ANALYZE now.
    public func shouldAnalyze(_ activity: TableActivity) -> Bool {
        guard activity.changedSince >= minimumChangedRows else { return false }
        if activity.rowsAtAnalyze < 0 { return true }  // never analyzed: planner assumes a guess
        return Double(activity.changedSince) > threshold * max(activity.rowsAtAnalyze, 1)
    }

    /// The tables of `activities` to analyze, in the given order.
    public func tablesToAnalyze(_ activities: [TableActivity]) -> [String] {
        activities.filter(shouldAnalyze).map(\.table)
    }
}

/// Protects a mailbox against deleting most of its CRM rows because Exchange returned far fewer items
/// than the CRM links (a mailbox restored from an old backup, a wrong folder, a half-failed read).
public struct MassDeleteGuard: Sendable, Hashable {
    /// Refuse when the items present are fewer than this fraction of the linked rows (default one half).
    public var minimumPresentFraction: Double
    /// Below this many links the guard never fires (a mailbox with 3 links may lose 2 legitimately).
    public var minimumLinks: Int

    public init(minimumPresentFraction: Double = 0.5, minimumLinks: Int = 10) {
        self.minimumPresentFraction = minimumPresentFraction
        self.minimumLinks = minimumLinks
    }

    /// The decision for a mailbox folder.
    public enum Decision: Sendable, Hashable {
        case proceed
        /// Stop: `present` items for `linked` links; deleting would remove `wouldDelete` CRM rows.
        case refuse(linked: Int, present: Int, wouldDelete: Int)
    }

    /// Decides whether reconciliation may delete `wouldDelete` of `linked` rows given `present` items.
    public func decide(linked: Int, present: Int, wouldDelete: Int, allowMassDelete: Bool) -> Decision {
        guard !allowMassDelete, wouldDelete > 0, linked >= minimumLinks else { return .proceed }
        if Double(present) < minimumPresentFraction * Double(linked) {
            return .refuse(linked: linked, present: present, wouldDelete: wouldDelete)
        }
        return .proceed
    }
}

/// What happened to a run's items, each item counted once: read from the source, then created, updated, deleted, left
/// unchanged or quarantined on the target side. Built from the stages' counts (``init(stage:items:created:updated:deleted:failed:)``)
/// and added up over stages, mailboxes and kinds.
///
/// A stage counts in its `items` what it handled: the source's items it read (extract, push), the staged items it
/// matched or merged (match, merge), the rows it deleted or sent for deletion (reconcile, delete, clean). Only the
/// stages that read the source count towards ``read``, so an item passing six stages is read once; created, updated,
/// deleted and quarantined are counted by the one stage that did it. Unchanged items are those a comparing stage
/// (merge, push) handled without writing or quarantining them.
public struct ItemTally: Sendable, Hashable {
    public var read: Int64
    public var created: Int64
    public var updated: Int64
    public var deleted: Int64
    public var unchanged: Int64
    public var quarantined: Int64

    public init(
        read: Int64 = 0, created: Int64 = 0, updated: Int64 = 0, deleted: Int64 = 0, unchanged: Int64 = 0,
        quarantined: Int64 = 0
    ) {
        self.read = read
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.unchanged = unchanged
        self.quarantined = quarantined
    }

    /// The figures of one stage from its stored counts.
    public init(stage: SnapshotStage, items: Int64, created: Int64, updated: Int64, deleted: Int64, failed: Int64) {
        self.init(
            read: stage.readsSourceItems ? items : 0, created: created, updated: updated, deleted: deleted,
            unchanged: stage.comparesItems ? max(items - created - updated - failed, 0) : 0, quarantined: failed)
    }

    /// Items written to the target side: created, updated and deleted.
    public var written: Int64 { created + updated + deleted }

    /// The figures by name, in the order a report shows them.
    public var named: [(name: String, count: Int64)] {
        [
            ("read", read), ("created", created), ("updated", updated), ("deleted", deleted), ("unchanged", unchanged),
            ("quarantined", quarantined),
        ]
    }

    public static func + (left: ItemTally, right: ItemTally) -> ItemTally {
        ItemTally(
            read: left.read + right.read, created: left.created + right.created, updated: left.updated + right.updated,
            deleted: left.deleted + right.deleted, unchanged: left.unchanged + right.unchanged,
            quarantined: left.quarantined + right.quarantined)
    }

    public static func += (left: inout ItemTally, right: ItemTally) { left = left + right }
}

extension SnapshotStage {
    /// True for the stages whose items are the items the run read from its source side: extract (Exchange) and push
    /// (the CRM). Every other stage handles items one of these read, or rows already on the target side.
    public var readsSourceItems: Bool { self == .extract || self == .push }

    /// True for the stages that compare each item with the target side and leave an equal one as it is: merge (a CRM
    /// row whose mapped fields did not change) and push (a CRM row whose link is at its version).
    public var comparesItems: Bool { self == .merge || self == .push }
}

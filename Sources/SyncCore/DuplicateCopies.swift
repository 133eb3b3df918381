import Foundation

/// The copies of CRM records a mailbox folder holds more than once (items carrying the same stamped CRM id), and
/// which copy of each to keep. Pure.
public enum DuplicateCopies {
    /// One CRM record with more than one item: the item kept and the extra copies to delete.
    public struct Group: Sendable, Hashable {
        public var crmID: UUID
        public var kept: MailboxItemRef
        /// Whether the record's link points at the kept item (otherwise it is to be linked).
        public var keptIsLinked: Bool
        public var extras: [MailboxItemRef]
    }

    /// The all-zero id: what the mapping stamps on an item written from a record read out of an unstamped item. It
    /// names no CRM record, so items carrying it are no copies of one another.
    public static let noRecord = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// The records with more than one item in `stamped` (items by stamped CRM id), keeping the copy the record's
    /// link points at (`linkedItems`: item id to the CRM id its link holds), else the first; ordered by CRM id.
    public static func plan(_ stamped: [UUID: [MailboxItemRef]], linkedItems: [String: UUID]) -> [Group] {
        stamped.compactMap { crmID, refs -> Group? in
            guard refs.count > 1, crmID != noRecord else { return nil }
            let linked = refs.first { linkedItems[$0.id] == crmID }
            let kept = linked ?? refs[0]
            return Group(
                crmID: crmID, kept: kept, keptIsLinked: linked != nil, extras: refs.filter { $0.id != kept.id })
        }.sorted { $0.crmID.uuidString < $1.crmID.uuidString }
    }
}

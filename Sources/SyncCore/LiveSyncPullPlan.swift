import Foundation

/// What live sync does with one batch of a mailbox folder's changes, decided without IO: which changed items to read,
/// which to apply to the CRM, which CRM rows to delete, and how each conflict (both sides changed since the last sync)
/// is resolved under the folder's ``ConflictPolicy``.
public enum LiveSyncPullPlan {
    /// A folder item's link: the CRM row, the change key and the row version last synced.
    public typealias Link = (crmID: UUID, changeKey: String?, version: Int64)
    /// A CRM row's current version and when it last changed.
    public typealias Row = (version: Int64, updatedAt: Date)

    /// The changed items to read: snapsync's own writes come back with the change key it stored, and are skipped.
    public static func itemsToRead(_ upserted: [MailboxItemRef], links: [String: Link]) -> [MailboxItemRef] {
        upserted.filter { links[$0.id] == nil || links[$0.id]?.changeKey != $0.changeKey }
    }

    /// The decision for a batch.
    public struct Decision: Sendable, Hashable {
        /// Items to write into the CRM (new ones, and changes that win).
        public var items: [MailboxItem] = []
        /// CRM rows whose item was deleted in Exchange and that did not change since.
        public var deleting: [UUID] = []
        /// CRM rows whose item was deleted in Exchange but that changed in the CRM since: they go back to Exchange.
        public var relinking: [UUID] = []
        /// Conflicts the CRM won, and those Exchange won (for the journal).
        public var crmWins: [ItemConflict] = []
        public var exchangeWins: [ItemConflict] = []
    }

    /// A conflict: the CRM row and the item both changed.
    public struct ItemConflict: Sendable, Hashable {
        public var crmID: UUID
        public var itemID: String
        public init(crmID: UUID, itemID: String) { self.crmID = crmID; self.itemID = itemID }
    }

    /// Decides a batch: `items` read from the folder, `deleted` item ids, their `links`, and the current `rows` of the
    /// linked CRM rows.
    public static func decide(
        items: [MailboxItem], deleted: [String], links: [String: Link], rows: [UUID: Row],
        policy: ConflictPolicy
    ) -> Decision {
        var decision = Decision()
        for item in items {
            guard let link = links[item.ref.id], let row = rows[link.crmID], row.version != link.version else {
                decision.items.append(item)
                continue
            }
            if policy.exchangeWins(crmUpdatedAt: row.updatedAt, exchangeModifiedAt: item.lastModified) {
                decision.exchangeWins.append(ItemConflict(crmID: link.crmID, itemID: item.ref.id))
                decision.items.append(item)
            } else {
                decision.crmWins.append(ItemConflict(crmID: link.crmID, itemID: item.ref.id))
            }
        }
        for id in deleted {
            guard let link = links[id] else { continue }
            if let row = rows[link.crmID], row.version != link.version, policy != .exchangeWins {
                decision.relinking.append(link.crmID)
                decision.crmWins.append(ItemConflict(crmID: link.crmID, itemID: id))
            } else {
                decision.deleting.append(link.crmID)
            }
        }
        return decision
    }
}

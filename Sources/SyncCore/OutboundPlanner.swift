/// What the CRM knows of one row for an outbound snapshot: its version and, when synced, its link.
public struct OutboundCandidate: Sendable, Hashable {
    public var record: MailboxRecord
    public var version: Int64
    public var link: Link?

    /// A row's link to its mailbox item.
    public struct Link: Sendable, Hashable {
        public var itemID: String
        public var changeKey: String?
        /// The row version last written to (or read from) the item.
        public var syncedVersion: Int64
        public init(itemID: String, changeKey: String?, syncedVersion: Int64) {
            self.itemID = itemID
            self.changeKey = changeKey
            self.syncedVersion = syncedVersion
        }
    }

    public init(record: MailboxRecord, version: Int64, link: Link?) {
        self.record = record
        self.version = version
        self.link = link
    }
}

/// The action an outbound snapshot takes for a CRM row.
public enum OutboundAction: Sendable, Hashable {
    case create(MailboxRecord)
    case update(MailboxItemRef, MailboxRecord)
    case none
}

/// Decides, per CRM row, whether the mailbox needs a create, an update, or nothing.
public enum OutboundPlanner {
    /// `force` rewrites every linked item (a full snapshot), otherwise only rows changed since last synced.
    public static func action(for candidate: OutboundCandidate, force: Bool = false) -> OutboundAction {
        guard let link = candidate.link else { return .create(candidate.record) }
        if force || candidate.version != link.syncedVersion {
            return .update(MailboxItemRef(id: link.itemID, changeKey: link.changeKey), candidate.record)
        }
        return .none
    }
}

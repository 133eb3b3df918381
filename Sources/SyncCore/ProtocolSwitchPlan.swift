/// What the sync store knows of a mailbox when its protocol is to change (`snapsync mailbox set-protocol`).
public struct MailboxProtocolFacts: Sendable, Hashable {
    /// The protocol set for the mailbox (nil: the configuration's default).
    public var assigned: ExchangeProtocol?
    /// The item ids of the mailbox's links, by kind.
    public var linkedItemIDs: [ItemKind: [String]]
    /// The folders with a stored sync state row, and whether each needs an inbound snapshot.
    public var folders: [ItemKind: FolderStatus]
    /// Unfinished snapshot runs with this mailbox still pending or running.
    public var unfinishedRuns: [Int64]

    /// A folder's stored sync state and its "needs snapshot" mark.
    public struct FolderStatus: Sendable, Hashable {
        public var state: String?
        public var needsSnapshot: Bool
        public init(state: String?, needsSnapshot: Bool) { self.state = state; self.needsSnapshot = needsSnapshot }
    }

    public init(
        assigned: ExchangeProtocol? = nil, linkedItemIDs: [ItemKind: [String]] = [:],
        folders: [ItemKind: FolderStatus] = [:], unfinishedRuns: [Int64] = []
    ) {
        self.assigned = assigned
        self.linkedItemIDs = linkedItemIDs
        self.folders = folders
        self.unfinishedRuns = unfinishedRuns
    }

    /// The number of linked items.
    public var linkCount: Int { linkedItemIDs.values.reduce(0) { $0 + $1.count } }
}

/// The decision of `snapsync mailbox set-protocol ADDR PROTOCOL`, made before any call: keep the protocol, refuse
/// (and why), or switch over (translating the links' item ids and taking new baselines for the tracked folders).
public enum ProtocolSwitchPlan: Sendable, Hashable {
    /// The mailbox already uses the protocol (its assignment is recorded all the same when it followed the default).
    case unchanged
    /// The switch cannot be made as things are: the reason names the mailbox and what to do.
    case refused(String)
    case switchOver(ProtocolSwitch)

    /// What switching one mailbox does.
    public struct ProtocolSwitch: Sendable, Hashable {
        public var from: ExchangeProtocol
        public var to: ExchangeProtocol
        /// The linked item ids to translate, by kind, in batches of at most ``ProtocolSwitchPlan/batchSize``.
        public var translations: [ItemKind: [[String]]]
        /// Folders whose sync state is replaced by a baseline of the new protocol.
        public var baselines: [ItemKind]
        /// Folders that need an inbound snapshot: they keep the mark, and lose the old protocol's state.
        public var stillNeedingSnapshot: [ItemKind]
    }

    /// The most ids one translation call takes (Graph's `translateExchangeIds`).
    public static let batchSize = 1000

    /// Decides the switch of `mailbox` to `target`, with `defaultProtocol` for a mailbox without assignment and the
    /// protocols the configuration has settings for. Translating ids between EWS and Graph needs Graph.
    public static func decide(
        mailbox: String, to target: ExchangeProtocol, facts: MailboxProtocolFacts, defaultProtocol: ExchangeProtocol,
        configured: Set<ExchangeProtocol>
    ) -> ProtocolSwitchPlan {
        let current = facts.assigned ?? defaultProtocol
        guard configured.contains(target) else {
            return .refused("\(mailbox): \(target.rawValue) is not configured; set its settings first (see the README)")
        }
        if current == target { return .unchanged }
        if let run = facts.unfinishedRuns.first {
            return .refused(
                "\(mailbox) is in unfinished run \(run), whose checkpoints hold \(current.rawValue) ids: "
                    + "finish it first (snapsync resume \(run))")
        }
        if facts.linkCount > 0 && !configured.contains(.graph) {
            return .refused("\(mailbox): translating its \(facts.linkCount) linked item ids needs Graph's settings")
        }
        var translations: [ItemKind: [[String]]] = [:]
        for (kind, ids) in facts.linkedItemIDs where !ids.isEmpty {
            translations[kind] = batches(ids.sorted())
        }
        let tracked = facts.folders.keys.sorted { $0.rawValue < $1.rawValue }
        return .switchOver(
            ProtocolSwitch(
                from: current, to: target, translations: translations,
                baselines: tracked.filter { !facts.folders[$0]!.needsSnapshot && facts.folders[$0]!.state != nil },
                stillNeedingSnapshot: tracked.filter { facts.folders[$0]!.needsSnapshot }))
    }

    /// `ids` in batches of at most ``batchSize``, in order.
    public static func batches(_ ids: [String]) -> [[String]] {
        stride(from: 0, to: ids.count, by: batchSize).map { Array(ids[$0..<min($0 + batchSize, ids.count)]) }
    }

    /// The ids without a translation (the switch is refused while there are any: nothing may lose its link).
    public static func untranslated(_ ids: [String], _ translations: [String: String]) -> [String] {
        ids.filter { (translations[$0] ?? "").isEmpty }
    }
}

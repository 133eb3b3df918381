import Foundation
import Logging
import SyncCore
import SyncStore

/// `snapsync mailbox set-protocol ADDR ews|graph`: moves a mailbox to another protocol keeping its links. Live sync
/// first pulls what changed since its last pass through the old protocol (when sync is on and the old protocol still
/// answers); the links' item ids are translated (Graph's `translateExchangeIds`, 1,000 a call), each tracked folder
/// gets a baseline of the new protocol (its current changes are not read as changes), and links, folder states, the
/// mailbox's protocol and the journal entry commit in one transaction. Nothing is created or read in full in the
/// mailbox's folders and no CRM row changes; the only writes are what the new protocol keeps apart from the items
/// (Graph: the percentage of tasks in progress, in snapsync's To Do extension).
public struct ProtocolSwitcher: Sendable {
    public let database: any SyncStoreDatabase
    public let router: MailboxSourceRouter
    public let logger: Logger

    public init(database: any SyncStoreDatabase, router: MailboxSourceRouter, logger: Logger) {
        self.database = database
        self.router = router
        self.logger = logger
    }

    /// What a switch did.
    public struct Outcome: Sendable, Hashable {
        public var mailbox: String
        public var from: ExchangeProtocol
        public var to: ExchangeProtocol
        /// False when the mailbox already used the protocol.
        public var switched: Bool
        public var translatedLinks: Int
        /// Folders whose sync state is now a baseline of the new protocol.
        public var baselines: [ItemKind]
        /// Folders that still need an inbound snapshot.
        public var foldersNeedingSnapshot: [ItemKind]
        /// False when changes made in Exchange since live sync's last pass could not be pulled through the old
        /// protocol (it refused or did not answer): an inbound snapshot of the mailbox catches them up.
        public var caughtUp: Bool
    }

    public func setProtocol(
        _ target: ExchangeProtocol, mailbox: String, actor: String, note: String? = nil
    ) async throws -> Outcome {
        try await database.withConnection { store in
            guard let owner = try await store.mailboxOwners([mailbox]).first else {
                throw PipelineError(.unknownMailbox, "no CRM user has the mailbox \(mailbox)")
            }
            let address = owner.smtpAddress.lowercased()
            let facts = try await store.mailboxProtocolFacts(mailbox: address)
            let plan = ProtocolSwitchPlan.decide(
                mailbox: address, to: target, facts: facts, defaultProtocol: router.defaultProtocol,
                configured: router.configured)
            switch plan {
            case .refused(let reason):
                throw PipelineError(.invalidRequest, reason)
            case .unchanged:
                if facts.assigned == nil {
                    try await store.commitProtocolSwitch(
                        ProtocolSwitchCommit(mailbox: address, protocol: target, actor: actor, note: note))
                }
                router.assign(target, to: address)
                return Outcome(
                    mailbox: address, from: target, to: target, switched: false, translatedLinks: 0, baselines: [],
                    foldersNeedingSnapshot: [], caughtUp: true)
            case .switchOver(let change):
                return try await switchOver(change, owner: owner, actor: actor, note: note, store: store)
            }
        }
    }

    func switchOver(
        _ change: ProtocolSwitchPlan.ProtocolSwitch, owner: MailboxOwner, actor: String, note: String?,
        store: any SyncStoreConnection
    ) async throws -> Outcome {
        let caughtUp = try await catchUp(owner, kinds: change.baselines, store: store)
        // Holding every folder's create lock: no create through the old protocol links an item meanwhile.
        return try await holdingFolderLocks(owner.smtpAddress, ItemKind.allCases[...], store: store) {
            try await translateAndCommit(
                change, owner: owner, caughtUp: caughtUp, actor: actor, note: note, store: store)
        }
    }

    func holdingFolderLocks<T: Sendable>(
        _ mailbox: String, _ kinds: ArraySlice<ItemKind>, store: any SyncStoreConnection,
        _ body: () async throws -> T
    ) async throws -> T {
        guard let kind = kinds.first else { return try await body() }
        return try await store.withFolderLock(mailbox: mailbox, kind: kind) {
            try await holdingFolderLocks(mailbox, kinds.dropFirst(), store: store, body)
        }
    }

    func translateAndCommit(
        _ change: ProtocolSwitchPlan.ProtocolSwitch, owner: MailboxOwner, caughtUp: Bool, actor: String,
        note: String?, store: any SyncStoreConnection
    ) async throws -> Outcome {
        let address = owner.smtpAddress.lowercased()
        // The links as they are now (catching up or a create may have added or removed some), and the folders' states
        // they go with: a live-sync pass that commits before the switch does changes them, and the switch is refused.
        let facts = try await store.mailboxProtocolFacts(mailbox: address)
        let linked = facts.linkedItemIDs
        var itemIDs: [ItemKind: [String: String]] = [:]
        var untranslated: [String] = []
        var total = 0
        for (kind, ids) in linked where !ids.isEmpty {
            var translated: [String: String] = [:]
            for batch in ProtocolSwitchPlan.batches(ids.sorted()) {
                let answer = try await router.translateItemIDs(batch, from: change.from, to: change.to, in: owner)
                translated.merge(answer) { _, last in last }
                untranslated += ProtocolSwitchPlan.untranslated(batch, answer)
            }
            itemIDs[kind] = translated.filter { $0.key != $0.value }
            total += ids.count
        }
        if !untranslated.isEmpty {
            throw PipelineError(
                .invalidRequest,
                "\(address): \(untranslated.count) of \(total) linked items have no \(change.to.rawValue) id "
                    + "(first: \(untranslated[0])); nothing was changed")
        }
        let target = try router.source(change.to, for: address)
        // Before the baselines, so that the new protocol's change tracking does not report these writes.
        let changeKeys = try await carryOver(
            owner, translated: itemIDs[.tasks] ?? [:], to: target, protocol: change.to, store: store)
        var states: [ItemKind: String?] = [:]
        for kind in change.baselines {
            states[kind] = .some(try await baseline(kind, of: owner, in: target))
        }
        for kind in change.stillNeedingSnapshot { states[kind] = .some(nil) }
        try await store.commitProtocolSwitch(
            ProtocolSwitchCommit(
                mailbox: address, protocol: change.to, itemIDs: itemIDs,
                changeKeys: changeKeys.isEmpty ? [:] : [.tasks: changeKeys], folderStates: states,
                replacing: facts.folders.mapValues(\.state), actor: actor, note: note))
        router.assign(change.to, to: address)
        logger.notice(
            "mailbox switched protocol",
            metadata: [
                "mailbox": "\(address)", "protocol.from": "\(change.from.rawValue)",
                "protocol.to": "\(change.to.rawValue)", "links.translated": "\(total)",
            ])
        return Outcome(
            mailbox: address, from: change.from, to: change.to, switched: true, translatedLinks: total,
            baselines: change.baselines, foldersNeedingSnapshot: change.stillNeedingSnapshot, caughtUp: caughtUp)
    }

    /// Writes, through the new protocol, what it keeps of the linked tasks in progress apart from the tasks
    /// themselves (Graph: the percentage, in snapsync's To Do extension, which tasks written through EWS lack), so
    /// that reading them through it does not take them for 0 %. Returns the tasks' new change keys by new item id.
    /// A task that cannot be written stops the switch before anything is committed.
    func carryOver(
        _ owner: MailboxOwner, translated: [String: String], to target: any MailboxSource,
        protocol: ExchangeProtocol, store: any SyncStoreConnection
    ) async throws -> [String: String] {
        var items: [(ref: MailboxItemRef, record: MailboxRecord)] = []
        for candidate in try await store.records(.tasks, mailbox: owner).values {
            guard let link = candidate.link, case .task(let task) = candidate.record, task.status != .completed,
                task.percentComplete > 0
            else { continue }
            items.append(
                (
                    MailboxItemRef(id: translated[link.itemID] ?? link.itemID, changeKey: link.changeKey),
                    candidate.record
                ))
        }
        var changeKeys: [String: String] = [:]
        for start in stride(from: 0, to: items.count, by: 100) {
            let batch = Array(items[start..<min(start + 100, items.count)])
            for (item, result) in zip(batch, try await target.carryOver(batch, in: owner)) {
                switch result {
                case .success(let ref):
                    if let key = ref.changeKey, key != item.ref.changeKey { changeKeys[ref.id] = key }
                case .failure(let error):
                    throw PipelineError(
                        .invalidRequest,
                        "\(owner.smtpAddress): the percentage of task \(item.ref.id) could not be written through "
                            + "\(`protocol`.rawValue) (\(error.code)); the mailbox keeps its protocol")
                }
            }
        }
        if !items.isEmpty {
            logger.notice(
                "tasks in progress carried over",
                metadata: ["mailbox": "\(owner.smtpAddress)", "tasks": "\(items.count)"])
        }
        return changeKeys
    }

    /// Pulls the folders' pending changes through the mailbox's current protocol, as a live-sync pass would, when sync
    /// is on for it. False when the old protocol refused or did not answer.
    func catchUp(_ owner: MailboxOwner, kinds: [ItemKind], store: any SyncStoreConnection) async throws -> Bool {
        let address = owner.smtpAddress.lowercased()
        guard !kinds.isEmpty, try await store.isSyncEnabled(),
            try await !store.disabledMailboxes().contains(address)
        else { return true }
        var report = LiveSyncReport()
        let liveSync = LiveSync(source: router, logger: logger)
        for kind in kinds {
            // Under the mailbox as the CRM spells it, as live sync and snapshots keep it.
            let folder = try await store.folderState(mailbox: owner.smtpAddress, kind: kind)
            guard let state = folder.state, !folder.needsSnapshot else { continue }
            do {
                try await liveSync.pull(owner, kind: kind, from: state, store: store, report: &report)
            } catch let error as MailboxSourceError {
                logger.warning(
                    "the old protocol did not give the mailbox's last changes: an inbound snapshot catches them up",
                    metadata: ["mailbox": "\(address)", "item.kind": "\(kind.rawValue)", "item.error": "\(error.code)"])
                return false
            }
        }
        return true
    }

    /// Drains the folder's changes from nothing through the new protocol: its final state is the new baseline.
    func baseline(
        _ kind: ItemKind, of owner: MailboxOwner, in source: any MailboxSource
    ) async throws(MailboxSourceError) -> String {
        var state: String?
        while true {
            let changes = try await source.changes(
                in: owner, kind: kind, since: state, window: .rolling(around: Date()), maxChanges: 512)
            state = changes.syncState
            if changes.isComplete { return changes.syncState }
        }
    }
}

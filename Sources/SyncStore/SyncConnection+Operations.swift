import Foundation
import Logging
import Postgres
import SyncCore

// MARK: CRM

extension SyncConnection {
    public func mailboxOwners(_ addresses: [String]?) async throws -> [MailboxOwner] {
        try await CRMStore.mailboxOwners(addresses, db: connection)
    }

    public func outboundPage(
        _ kind: ItemKind, mailbox: MailboxOwner, after: UUID?, limit: Int
    ) async throws -> [OutboundCandidate] {
        try await CRMStore.outboundPage(kind, mailbox: mailbox, after: after, limit: limit, db: connection)
    }

    public func records(_ kind: ItemKind, mailbox: MailboxOwner) async throws -> [UUID: OutboundCandidate] {
        try await CRMStore.records(kind, mailbox: mailbox, db: connection)
    }

    public func placedWithLinks(
        _ kind: ItemKind, ids: [UUID]
    ) async throws
        -> (placed: [UUID: CRMStore.Placed], links: [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]])
    {
        try await connection.run { db in
            (try CRMStore.placed(kind, ids: ids, db: db), try LinkStore.links(kind: kind, crmIDs: ids, db: db))
        }
    }

    public func versions(_ kind: ItemKind, ids: [UUID]) async throws -> [UUID: (version: Int64, updatedAt: Date)] {
        try await CRMStore.versions(kind, ids: ids, db: connection)
    }
}

// MARK: Runs and stages

extension SyncConnection {
    public func openRun(_ request: RunRequest, owners: [MailboxOwner]) async throws -> (run: RunRecord, resumed: Bool) {
        try await RunStore.openRun(request, owners: owners, db: connection)
    }

    public func run(_ id: Int64) async throws -> RunRecord? {
        try await RunStore.run(id, db: connection)
    }

    public func latestUnfinishedRun() async throws -> RunRecord? {
        try await RunStore.latestUnfinishedRun(db: connection)
    }

    public func resetStages(
        runID: Int64, mailbox: String?, kinds: [ItemKind]?, from stage: SnapshotStage
    ) async throws -> Int {
        try await RunStore.resetStages(runID: runID, mailbox: mailbox, kinds: kinds, from: stage, db: connection)
    }

    public func approveMassDelete(runID: Int64, mailboxes: [String], kinds: [ItemKind], approvedBy: String) async throws
    {
        try await RunStore.approveMassDelete(
            runID: runID, mailboxes: mailboxes, kinds: kinds, approvedBy: approvedBy, db: connection)
    }

    public func massDeleteApproved(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool {
        try await RunStore.massDeleteApproved(runID: runID, mailbox: mailbox, kind: kind, db: connection)
    }

    public func recordEvent(
        runID: Int64?, mailbox: String?, kind: ItemKind?, stage: SnapshotStage?, event: String, message: String,
        data: [String: Int]
    ) async throws {
        try await connection.run { db in
            try RunStore.recordEvent(
                runID: runID, mailbox: mailbox, kind: kind, stage: stage, event: event, message: message,
                data: data, db: db)
        }
    }

    public func finishRunIfDone(_ runID: Int64) async throws -> RunStatus? {
        try await RunStore.finishRunIfDone(runID, db: connection)
    }

    public func mailboxOutcome(runID: Int64, mailbox: String) async throws -> RunStatus? {
        try await RunStore.mailboxOutcome(runID: runID, mailbox: mailbox, db: connection)
    }

    public func leasesOnHost(runID: Int64, host: String) async throws -> [(mailbox: String, pid: Int32)] {
        try await RunStore.leasesOnHost(runID: runID, host: host, db: connection)
    }

    public func releaseDeadLease(runID: Int64, mailbox: String) async throws {
        try await RunStore.releaseDeadLease(runID: runID, mailbox: mailbox, db: connection)
    }

    public func claimMailbox(
        runID: Int64, worker: String, lease: Duration, mailbox: String?
    ) async throws -> ClaimedMailbox? {
        try await RunStore.claimMailbox(runID: runID, worker: worker, lease: lease, mailbox: mailbox, db: connection)
    }

    public func releaseMailbox(_ claim: ClaimedMailbox, status: MailboxRunStatus, error: String?) async throws {
        try await RunStore.releaseMailbox(claim, status: status, error: error, db: connection)
    }

    public func stages(runID: Int64, mailbox: String?) async throws -> [StageRecord] {
        try await RunStore.stages(runID: runID, mailbox: mailbox, db: connection)
    }

    public func startStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage
    ) async throws
        -> (cursor: String?, resumed: Bool, attempt: Int)
    {
        try await RunStore.startStage(runID: runID, mailbox: mailbox, kind: kind, stage: stage, db: connection)
    }

    public func finishStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage, status: StageStatus,
        error: String?
    ) async throws {
        try await RunStore.finishStage(
            runID: runID, mailbox: mailbox, kind: kind, stage: stage, status: status, error: error,
            db: connection)
    }

    /// Thrown inside a batch's transaction when the lease is gone, to roll it back.
    private struct LeaseLost: Error {}

    public func commit(
        _ writes: StageWrites, checkpoint: StageCheckpoint, claim: ClaimedMailbox, lease: Duration
    ) async throws -> StageCounts? {
        do {
            return try await connection.withTransaction { db in
                try LiveSyncStore.markOriginExchange(db: db)  // snapshot writes are not queued back to Exchange
                let counts = try Self.write(writes, kind: checkpoint.kind, claim: claim, db: db)
                guard try RunStore.renewLease(claim, lease: lease, db: db) else { throw LeaseLost() }
                try RunStore.checkpoint(
                    runID: claim.runID, mailbox: claim.owner.smtpAddress, kind: checkpoint.kind,
                    stage: checkpoint.stage, cursor: checkpoint.cursor, counts: counts, total: checkpoint.total, db: db)
                return counts
            }
        } catch is LeaseLost {
            return nil
        }
    }

    /// A batch's writes, inside its transaction; returns the counts its checkpoint adds.
    static func write(
        _ writes: StageWrites, kind: ItemKind, claim: ClaimedMailbox, db: isolated PostgresConnection
    ) throws -> StageCounts {
        let runID = claim.runID, owner = claim.owner, address = claim.owner.smtpAddress
        func quarantine(_ items: [QuarantinedItem], _ direction: QuarantineDirection) throws {
            for item in items {
                try RunStore.quarantine(
                    runID: runID, mailbox: address, kind: kind, itemID: item.itemID, crmID: item.crmID,
                    direction: direction, code: item.code, reason: item.reason, payload: nil, db: db)
            }
        }
        switch writes {
        case .counts(let counts):
            return counts
        case .extracted(let items, let quarantined):
            var counts = try InboundStore.load(items, runID: runID, mailbox: owner, kind: kind, db: db)
            try quarantine(quarantined, .inbound)
            counts.items += Int64(quarantined.count)  // read, then quarantined: the stage's items are the items it read
            counts.failed = Int64(quarantined.count)
            return counts
        case .match:
            return try InboundStore.match(runID: runID, mailbox: owner, kind: kind, db: db)
        case .merge(let unmatchedAreNew):
            return try InboundStore.merge(
                runID: runID, mailbox: owner, kind: kind, unmatchedAreNew: unmatchedAreNew, db: db)
        case .reconcile(let ids):
            let deleted = try InboundStore.deleteRows(ids, mailbox: address, kind: kind, db: db)
            return StageCounts(items: Int64(ids.count), deleted: Int64(deleted))
        case .finalize(let state):
            if let state { try FolderStateStore.store(state, mailbox: address, kind: kind, db: db) }
            try InboundStore.clearStaging(runID: runID, mailbox: address, kind: kind, db: db)
            return StageCounts()
        case .cleanCRM:
            let deleted = try InboundStore.cleanCRM(mailbox: owner, kind: kind, db: db)
            return StageCounts(items: Int64(deleted), deleted: Int64(deleted))
        case .pushed(let links, let read, let created, let updated, let intent, let quarantined):
            try LinkStore.upsert(links, mailbox: address, kind: kind, db: db)
            if let intent { try CreateIntentStore.clear([intent], db: db) }
            try quarantine(quarantined, .outbound)
            return StageCounts(
                items: Int64(read), created: Int64(created), updated: Int64(updated),
                failed: Int64(quarantined.count), changedRows: ["sync.links": links.count])
        case .deletedOrphans(let gone, let quarantined):
            try LinkStore.delete(crmIDs: gone, mailbox: address, kind: kind, db: db)
            try quarantine(quarantined, .outbound)
            return StageCounts(
                items: Int64(gone.count + quarantined.count), deleted: Int64(gone.count),
                failed: Int64(quarantined.count))
        case .forgetLinks:
            try LinkStore.deleteAll(mailbox: address, kind: kind, db: db)
            return StageCounts()
        }
    }

    public func recordActivityAndAnalyze(
        _ changedRows: [String: Int], policy: AnalyzePolicy, runID: Int64, mailbox: String,
        after stage: SnapshotStage, logger: Logger
    ) async throws {
        _ = try await connection.run { db in
            try TableActivityStore.record(changedRows, db: db)
            return try TableActivityStore.analyzeIfNeeded(
                policy: policy, runID: runID, mailbox: mailbox, after: stage, logger: logger, db: db)
        }
    }

    public func completeInterimStatistics(runID: Int64, logger: Logger) async throws {
        _ = try await connection.run { db in
            try TableActivityStore.completeInterimStatistics(runID: runID, logger: logger, db: db)
        }
    }
}

// MARK: Inbound staging

extension SyncConnection {
    public func hasStaged(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool {
        try await InboundStore.hasStaged(runID: runID, mailbox: mailbox, kind: kind, db: connection)
    }

    public func prepareMatch(runID: Int64, mailbox: String, kind: ItemKind, logger: Logger) async throws -> Bool {
        try await connection.run { db in
            guard try InboundStore.hasStaged(runID: runID, mailbox: mailbox, kind: kind, db: db) else { return false }
            try InboundStore.refreshStagingStatistics(kind, runID: runID, mailbox: mailbox, logger: logger, db: db)
            return true
        }
    }

    public func reconcileCandidates(
        runID: Int64, mailbox: String, kind: ItemKind
    ) async throws
        -> (vanished: [InboundStore.Vanished], linked: Int)
    {
        try await connection.run { db in
            // After the merge every item the run read has its link, written by the run, and an item has one link, so
            // as many links as written ones means no link lost its item (a first snapshot, or nothing deleted): the
            // search is skipped.
            let (linked, written) = try InboundStore.linkCounts(runID: runID, mailbox: mailbox, kind: kind, db: db)
            let vanished =
                linked == written ? [] : try InboundStore.vanished(runID: runID, mailbox: mailbox, kind: kind, db: db)
            return (vanished, linked)
        }
    }
}

// MARK: Links and create intents

extension SyncConnection {
    public func links(
        mailbox: String, kind: ItemKind
    ) async throws -> [String: (crmID: UUID, changeKey: String?, version: Int64)] {
        try await LinkStore.links(mailbox: mailbox, kind: kind, db: connection)
    }

    public func links(
        mailbox: String, kind: ItemKind, itemIDs: [String]
    ) async throws
        -> [String: (crmID: UUID, changeKey: String?, version: Int64)]
    {
        try await LinkStore.links(mailbox: mailbox, kind: kind, itemIDs: itemIDs, db: connection)
    }

    public func orphanPage(
        mailbox: MailboxOwner, kind: ItemKind, after: UUID?, limit: Int
    ) async throws -> [(crmID: UUID, ref: MailboxItemRef)] {
        try await LinkStore.orphanPage(mailbox: mailbox, kind: kind, after: after, limit: limit, db: connection)
    }

    public func outboundPending(
        mailbox: MailboxOwner, kind: ItemKind
    ) async throws -> (create: Int, update: Int, delete: Int) {
        try await LinkStore.outboundPending(mailbox: mailbox, kind: kind, db: connection)
    }

    public func insertMissingLinks(_ links: [LinkStore.Link], mailbox: String, kind: ItemKind) async throws {
        try await LinkStore.insertMissing(links, mailbox: mailbox, kind: kind, db: connection)
    }

    public func withFolderLock<T: Sendable>(
        mailbox: String, kind: ItemKind, _ body: () async throws -> T
    ) async throws -> T {
        try await CreateIntentStore.withFolderLock(mailbox: mailbox, kind: kind, db: connection, body)
    }

    public func createIntents(mailbox: String, kind: ItemKind) async throws -> [CreateIntentStore.Intent] {
        try await CreateIntentStore.intents(mailbox: mailbox, kind: kind, db: connection)
    }

    public func recordCreateIntent(mailbox: String, kind: ItemKind, crmIDs: [UUID], runID: Int64?) async throws -> Int64
    {
        try await CreateIntentStore.record(mailbox: mailbox, kind: kind, crmIDs: crmIDs, runID: runID, db: connection)
    }

    public func resolveCreateIntents(
        _ intents: [Int64], links: [LinkStore.Link], mailbox: String, kind: ItemKind
    ) async throws {
        try await connection.withTransaction { db in
            try LinkStore.insertMissing(links, mailbox: mailbox, kind: kind, db: db)
            try CreateIntentStore.clear(intents, db: db)
        }
    }
}

// MARK: Live sync

extension SyncConnection {
    public func isSyncEnabled() async throws -> Bool {
        try await LiveSyncStore.isEnabled(db: connection)
    }

    public func disabledMailboxes() async throws -> Set<String> {
        try await LiveSyncStore.disabledMailboxes(db: connection)
    }

    public func setSyncEnabled(_ enabled: Bool, mailbox: String?, actor: String, note: String?) async throws {
        try await LiveSyncStore.setEnabled(enabled, mailbox: mailbox, actor: actor, note: note, db: connection)
    }

    public func claimDueOutbox(limit: Int, lease: Duration) async throws -> [LiveSyncStore.Entry] {
        try await LiveSyncStore.claimDue(limit: limit, lease: lease, db: connection)
    }

    public func commitDeliveries(_ deliveries: OutboxDeliveries) async throws {
        try await connection.withTransaction { db in
            let kind = deliveries.kind
            for (mailbox, links) in deliveries.upserts {
                try LinkStore.upsert(links, mailbox: mailbox, kind: kind, db: db)
            }
            try CreateIntentStore.clear(deliveries.answeredIntents, db: db)
            for (mailbox, ids) in deliveries.removals {
                try LinkStore.delete(crmIDs: ids, mailbox: mailbox, kind: kind, db: db)
            }
            for (mailbox, conflicts) in deliveries.conflicts {
                for conflict in conflicts {
                    try LiveSyncStore.recordConflict(
                        mailbox: mailbox, kind: kind, crmID: conflict.crmID, itemID: conflict.itemID,
                        policy: deliveries.policy, winner: conflict.winner.rawValue, db: db)
                }
            }
            for (entry, outcome) in deliveries.outcomes {
                switch outcome {
                case .delivered:
                    try LiveSyncStore.complete(entry, db: db)
                case .failed(let transient, let code, let message, let backoff):
                    try LiveSyncStore.fail(
                        entry, transient: transient, code: code, message: message, limit: deliveries.limit,
                        backoff: backoff, db: db)
                }
            }
        }
    }

    public func folderState(mailbox: String, kind: ItemKind) async throws -> (state: String?, needsSnapshot: Bool) {
        try await FolderStateStore.status(mailbox: mailbox, kind: kind, db: connection)
    }

    public func markNeedsSnapshot(mailbox: String, kind: ItemKind, reason: String) async throws {
        try await FolderStateStore.markNeedsSnapshot(mailbox: mailbox, kind: kind, reason: reason, db: connection)
    }

    public func resetFolderStates(mailbox: String, kinds: [ItemKind]) async throws -> Int {
        try await FolderStateStore.reset(mailbox: mailbox, kinds: kinds, db: connection)
    }

    /// The run id under which live sync stages and merges pulled items: no run has it (run ids start at 1), and the
    /// staged rows are cleared in the transaction that wrote them, so no other transaction ever sees them.
    static let liveSyncRunID: Int64 = 0

    public func apply(_ changes: PulledChanges) async throws {
        let namespace = Self.liveSyncRunID
        try await connection.withTransaction { db in
            let owner = changes.mailbox, address = changes.mailbox.smtpAddress, kind = changes.kind
            if let expected = changes.readFrom,
                try FolderStateStore.lockedState(mailbox: address, kind: kind, db: db) != expected
            {
                throw SyncStoreError(
                    code: .syncStateChanged,
                    message: "the \(kind.rawValue) sync state of \(address) changed while live sync read from it")
            }
            try LiveSyncStore.markOriginExchange(db: db)
            if !changes.items.isEmpty {
                _ = try InboundStore.stage(changes.items, runID: namespace, mailbox: address, kind: kind, db: db)
                _ = try InboundStore.match(runID: namespace, mailbox: owner, kind: kind, db: db)
                try TableActivityStore.record(
                    try InboundStore.merge(
                        runID: namespace, mailbox: owner, kind: kind, unmatchedAreNew: true,
                        db: db
                    ).changedRows, db: db)
                try InboundStore.clearStaging(runID: namespace, mailbox: address, kind: kind, db: db)
            }
            _ = try InboundStore.deleteRows(changes.deleting, mailbox: address, kind: kind, db: db)
            try LinkStore.delete(crmIDs: changes.relinking, mailbox: address, kind: kind, db: db)
            try LiveSyncStore.enqueue(kind: kind, crmIDs: changes.crmWins.map(\.crmID), db: db)
            for (crmID, itemID) in changes.crmWins {
                try LiveSyncStore.recordConflict(
                    mailbox: address, kind: kind, crmID: crmID, itemID: itemID, policy: changes.policy,
                    winner: ConflictWinner.crm.rawValue, db: db)
            }
            for (crmID, itemID) in changes.exchangeWins {
                try LiveSyncStore.recordConflict(
                    mailbox: address, kind: kind, crmID: crmID, itemID: itemID, policy: changes.policy,
                    winner: ConflictWinner.exchange.rawValue, db: db)
            }
            for item in changes.quarantined {
                try RunStore.quarantine(
                    runID: nil, mailbox: address, kind: kind, itemID: item.itemID, crmID: item.crmID,
                    direction: .inbound, code: item.code, reason: item.reason,
                    payload: nil, db: db)
            }
            if let state = changes.syncState { try FolderStateStore.store(state, mailbox: address, kind: kind, db: db) }
        }
    }
}

// MARK: Doctor and onboarding

extension SyncConnection {
    public func recoveryFacts(owners: [MailboxOwner], now: Date) async throws -> RecoveryFacts {
        try await RecoveryStore.facts(owners: owners, now: now, db: connection)
    }

    public func requeueParked() async throws -> Int {
        try await RecoveryStore.requeueParked(db: connection)
    }

    public func onboardingRows() async throws -> [OnboardingRow] {
        try await OnboardingStore.rows(db: connection)
    }

    public func deleteOnboardingRow(mailbox: String) async throws {
        try await OnboardingStore.delete(mailbox: mailbox, db: connection)
    }

    public func recordOnboardingFailure(mailbox: String, error: String) async throws {
        try await OnboardingStore.recordFailure(mailbox: mailbox, error: error, db: connection)
    }

    public func onboardingUsers(
        login: String, mailbox: String
    ) async throws
        -> (user: OnboardingDecision.CRMUser?, holder: OnboardingDecision.CRMUser?)
    {
        try await OnboardingStore.users(login: login, mailbox: mailbox, db: connection)
    }

    public func setUserMailbox(_ mailbox: String, userID: UUID) async throws -> Bool {
        try await OnboardingStore.setMailbox(mailbox, userID: userID, db: connection)
    }
}

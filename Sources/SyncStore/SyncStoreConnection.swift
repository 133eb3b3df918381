import Foundation
import Logging
import SyncCore

/// Opens connections to the sync store: ``SyncDatabase`` over PostgreSQL, or an in-memory store in tests.
public protocol SyncStoreDatabase: Sendable {
    /// Runs `body` with a connection that is closed when `body` returns or throws.
    func withConnection<T: Sendable>(_ body: (any SyncStoreConnection) async throws -> T) async throws -> T

    /// Like ``withConnection(_:)``, but answers `.unreachable` instead of throwing when the database does not answer
    /// (a wrong connection setting is still thrown: it is a configuration error, not an outage).
    func withConnectionIfReachable<T: Sendable>(
        _ body: (any SyncStoreConnection) async throws -> T
    ) async throws -> Reachability<T>
}

/// The answer of ``SyncStoreDatabase/withConnectionIfReachable(_:)``.
public enum Reachability<T: Sendable>: Sendable {
    case answered(T)
    /// The database did not answer, for this reason (no secret in it).
    case unreachable(String)
}

/// The typed operations of the pipeline on the sync store: runs and their checkpoints, the CRM rows of a mailbox,
/// links, create intents, live sync's outbox and folder states, onboarding, and the doctor's facts. Each operation is
/// one round trip or one transaction; a batch of a stage commits with its checkpoint (``commit(_:checkpoint:claim:lease:)``).
public protocol SyncStoreConnection: Sendable {
    // MARK: CRM

    /// The mailbox owners among CRM users (all with a mailbox when `addresses` is nil), by address.
    func mailboxOwners(_ addresses: [String]?) async throws -> [MailboxOwner]
    /// One keyset page of the rows of `kind` that belong in the mailbox, with their links.
    func outboundPage(
        _ kind: ItemKind, mailbox: MailboxOwner, after: UUID?, limit: Int
    ) async throws -> [OutboundCandidate]
    /// Every row of `kind` that belongs in the mailbox, by CRM id.
    func records(_ kind: ItemKind, mailbox: MailboxOwner) async throws -> [UUID: OutboundCandidate]
    /// The rows with these ids with the mailboxes they belong in (deleted rows are absent), and their links in every mailbox.
    func placedWithLinks(
        _ kind: ItemKind, ids: [UUID]
    ) async throws
        -> (placed: [UUID: CRMStore.Placed], links: [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]])
    /// The version and last change of these rows.
    func versions(_ kind: ItemKind, ids: [UUID]) async throws -> [UUID: (version: Int64, updatedAt: Date)]

    // MARK: Runs

    /// The unfinished run with the request's signature, or a new one with every mailbox and stage pending.
    func openRun(_ request: RunRequest, owners: [MailboxOwner]) async throws -> (run: RunRecord, resumed: Bool)
    func run(_ id: Int64) async throws -> RunRecord?
    func latestUnfinishedRun() async throws -> RunRecord?
    /// Sets a stage and the later ones back to pending (`snapsync rerun`); returns how many were reset.
    func resetStages(runID: Int64, mailbox: String?, kinds: [ItemKind]?, from stage: SnapshotStage) async throws -> Int
    func approveMassDelete(runID: Int64, mailboxes: [String], kinds: [ItemKind], approvedBy: String) async throws
    func massDeleteApproved(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool
    /// Appends an event to the run log (`runID` nil: live sync's).
    func recordEvent(
        runID: Int64?, mailbox: String?, kind: ItemKind?, stage: SnapshotStage?, event: String, message: String,
        data: [String: Int]) async throws
    /// Marks the run finished when no mailbox is left pending or running; its final status, nil while unfinished.
    func finishRunIfDone(_ runID: Int64) async throws -> RunStatus?
    /// How one mailbox of a run ended (`completed` or `completed_with_errors`), nil while pending or running.
    func mailboxOutcome(runID: Int64, mailbox: String) async throws -> RunStatus?
    /// The mailboxes of a run leased by processes of this host, with their pid.
    func leasesOnHost(runID: Int64, host: String) async throws -> [(mailbox: String, pid: Int32)]
    func releaseDeadLease(runID: Int64, mailbox: String) async throws
    /// Claims the next pending (or expired) mailbox of the run, only `mailbox` when given.
    func claimMailbox(runID: Int64, worker: String, lease: Duration, mailbox: String?) async throws -> ClaimedMailbox?
    /// Ends a claim: done, failed (with the reason) or pending again.
    func releaseMailbox(_ claim: ClaimedMailbox, status: MailboxRunStatus, error: String?) async throws

    // MARK: Stages

    /// The stages of a mailbox in a run (every mailbox when nil), in order.
    func stages(runID: Int64, mailbox: String?) async throws -> [StageRecord]
    /// Marks a stage running; its checkpoint, whether it was running before (resumed) and which attempt this is.
    func startStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage
    ) async throws
        -> (cursor: String?, resumed: Bool, attempt: Int)
    func finishStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage, status: StageStatus,
        error: String?) async throws
    /// Commits a batch of a stage in one transaction: its writes, a renewal of the claim's lease and the checkpoint.
    /// Returns the batch's counts, or nil (and writes nothing) when another worker took the mailbox over.
    func commit(
        _ writes: StageWrites, checkpoint: StageCheckpoint, claim: ClaimedMailbox, lease: Duration
    ) async throws -> StageCounts?
    /// Adds a stage's rows written per table to the activity counts, then runs the ANALYZEs the policy asks for.
    func recordActivityAndAnalyze(
        _ changedRows: [String: Int], policy: AnalyzePolicy, runID: Int64, mailbox: String,
        after stage: SnapshotStage, logger: Logger) async throws
    /// Full statistics of the tables a run analyzed only in part, before it ends.
    func completeInterimStatistics(runID: Int64, logger: Logger) async throws

    // MARK: Inbound staging

    /// Whether the run staged items of the folder.
    func hasStaged(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool
    /// Whether the run staged items of the folder; when it did, the staging tables' statistics are refreshed for the match.
    func prepareMatch(runID: Int64, mailbox: String, kind: ItemKind, logger: Logger) async throws -> Bool
    /// The folder's linked CRM rows whose item the run did not see, and the number of links.
    func reconcileCandidates(
        runID: Int64, mailbox: String, kind: ItemKind
    ) async throws
        -> (vanished: [InboundStore.Vanished], linked: Int)

    // MARK: Links

    /// Every link of a mailbox folder, keyed by item id.
    func links(
        mailbox: String, kind: ItemKind
    ) async throws -> [String: (crmID: UUID, changeKey: String?, version: Int64)]
    /// The links of these items of a mailbox folder, keyed by item id.
    func links(
        mailbox: String, kind: ItemKind, itemIDs: [String]
    ) async throws
        -> [String: (crmID: UUID, changeKey: String?, version: Int64)]
    /// A keyset page of links whose CRM row is gone or no longer belongs in the mailbox.
    func orphanPage(
        mailbox: MailboxOwner, kind: ItemKind, after: UUID?, limit: Int
    ) async throws -> [(crmID: UUID, ref: MailboxItemRef)]
    /// What an outbound snapshot would create, update and delete in the folder.
    func outboundPending(mailbox: MailboxOwner, kind: ItemKind) async throws -> (create: Int, update: Int, delete: Int)
    /// Links items to CRM rows that have no link in the folder yet.
    func insertMissingLinks(_ links: [LinkStore.Link], mailbox: String, kind: ItemKind) async throws

    // MARK: Create intents

    /// Runs `body` holding the folder's create lock (waits for another holder); released on every path.
    func withFolderLock<T: Sendable>(mailbox: String, kind: ItemKind, _ body: () async throws -> T) async throws -> T
    /// The open create intents of a mailbox folder, oldest first.
    func createIntents(mailbox: String, kind: ItemKind) async throws -> [CreateIntentStore.Intent]
    /// Records (and commits) that these CRM ids are about to be created in the folder; the intent's id.
    func recordCreateIntent(mailbox: String, kind: ItemKind, crmIDs: [UUID], runID: Int64?) async throws -> Int64
    /// Links what the intents created and clears them, in one transaction.
    func resolveCreateIntents(_ intents: [Int64], links: [LinkStore.Link], mailbox: String, kind: ItemKind) async throws

    // MARK: Live sync

    /// Whether sync is switched on globally.
    func isSyncEnabled() async throws -> Bool
    /// The mailboxes whose sync is switched off on their own (lower case).
    func disabledMailboxes() async throws -> Set<String>
    /// Switches sync on or off, globally (`mailbox` nil) or for one mailbox, and journals it.
    func setSyncEnabled(_ enabled: Bool, mailbox: String?, actor: String, note: String?) async throws
    /// Claims up to `limit` due outbox entries for `lease`, oldest first.
    func claimDueOutbox(limit: Int, lease: Duration) async throws -> [LiveSyncStore.Entry]
    /// Commits what delivering a batch of outbox entries did, in one transaction.
    func commitDeliveries(_ deliveries: OutboxDeliveries) async throws
    /// The folder's stored sync state and whether it needs an inbound snapshot.
    func folderState(mailbox: String, kind: ItemKind) async throws -> (state: String?, needsSnapshot: Bool)
    func markNeedsSnapshot(mailbox: String, kind: ItemKind, reason: String) async throws
    /// Forgets folders' sync states (`snapsync mailbox reset-state`); returns how many there were.
    func resetFolderStates(mailbox: String, kinds: [ItemKind]) async throws -> Int
    /// Applies a batch of changes pulled from a folder, with its new sync state, in one transaction.
    func apply(_ changes: PulledChanges) async throws

    // MARK: Protocol per mailbox

    /// The mailboxes with a protocol of their own (lower-case address); the others follow the configuration.
    func mailboxProtocols() async throws -> [String: ExchangeProtocol]
    /// What a switch of the mailbox's protocol is decided from.
    func mailboxProtocolFacts(mailbox: String) async throws -> MailboxProtocolFacts
    /// Switches the mailbox's protocol, its links' item ids and folder states, journaled, in one transaction.
    func commitProtocolSwitch(_ commit: ProtocolSwitchCommit) async throws

    // MARK: Doctor and onboarding

    /// Every fact the database knows about these mailboxes (Exchange probes stay `.notProbed`).
    func recoveryFacts(owners: [MailboxOwner], now: Date) async throws -> RecoveryFacts
    /// Queues every parked outbox entry again; returns how many.
    func requeueParked() async throws -> Int
    func onboardingRows() async throws -> [OnboardingRow]
    func deleteOnboardingRow(mailbox: String) async throws
    func recordOnboardingFailure(mailbox: String, error: String) async throws
    /// The CRM user with this login, and the one holding this mailbox.
    func onboardingUsers(
        login: String, mailbox: String
    ) async throws
        -> (user: OnboardingDecision.CRMUser?, holder: OnboardingDecision.CRMUser?)
    /// Sets the user's mailbox when it has none; false when it got one meanwhile.
    func setUserMailbox(_ mailbox: String, userID: UUID) async throws -> Bool
}

/// An item quarantined by a batch: its Exchange id and CRM id when known, the source's code and reason.
public struct QuarantinedItem: Sendable, Hashable {
    public var itemID: String?
    public var crmID: UUID?
    public var code: String
    public var reason: String
    public init(itemID: String?, crmID: UUID?, code: String, reason: String) {
        self.itemID = itemID
        self.crmID = crmID
        self.code = code
        self.reason = reason
    }
}

/// Where a committed batch leaves its stage.
public struct StageCheckpoint: Sendable, Hashable {
    public var kind: ItemKind
    public var stage: SnapshotStage
    public var cursor: String?
    /// The number of items the stage has in all, when the batch learnt it.
    public var total: Int64?
    public init(kind: ItemKind, stage: SnapshotStage, cursor: String?, total: Int64? = nil) {
        self.kind = kind
        self.stage = stage
        self.cursor = cursor
        self.total = total
    }
}

/// What a batch of a snapshot stage writes (with its checkpoint) for the claimed mailbox folder.
public enum StageWrites: Sendable {
    /// Nothing but the counts given (a baseline page, a chunk of items deleted in Exchange).
    case counts(StageCounts)
    /// A page of extracted items: those no CRM row can claim straight into the CRM, the others staged for the match;
    /// the items that could not be read quarantined.
    case extracted([MailboxItem], quarantined: [QuarantinedItem])
    /// Matches the folder's staged items to CRM rows.
    case match
    /// Merges the folder's staging into the CRM (unmatched rows inserted without a conflict check when new).
    case merge(unmatchedAreNew: Bool)
    /// Deletes the CRM rows whose item is gone.
    case reconcile(deleting: [UUID])
    /// Stores the baseline's sync state for live sync and clears the folder's staging.
    case finalize(syncState: String?)
    /// Removes the CRM rows of the mailbox's user for the kind (full snapshot from Exchange).
    case cleanCRM
    /// A pushed batch: its links, the CRM rows it covers (`read`, those needing no write included), the create intent
    /// it answered, its quarantined items.
    case pushed(
        links: [LinkStore.Link], read: Int, created: Int, updated: Int, clearingIntent: Int64?,
        quarantined: [QuarantinedItem])
    /// Orphans deleted in Exchange (or gone already): their links go; the others are quarantined.
    case deletedOrphans([UUID], quarantined: [QuarantinedItem])
    /// Forgets every link of the folder (full snapshot from the CRM).
    case forgetLinks
}

/// What delivering a batch of outbox entries of one kind did, to commit together.
public struct OutboxDeliveries: Sendable {
    /// How one entry ended.
    public enum Outcome: Sendable, Hashable {
        case delivered
        /// Retried after `backoff` seconds; `transient` failures are never parked, others after `limit` attempts.
        case failed(transient: Bool, code: String, message: String, backoff: TimeInterval)
    }
    public var kind: ItemKind
    /// Links written, per mailbox.
    public var upserts: [String: [LinkStore.Link]]
    /// Links removed, per mailbox.
    public var removals: [String: [UUID]]
    /// Create intents answered by these links.
    public var answeredIntents: [Int64]
    public var outcomes: [(entry: LiveSyncStore.Entry, outcome: Outcome)]
    /// Permanent failures after which an entry is parked.
    public var limit: Int
    /// Conflicts decided while delivering (the item had changed in Exchange too), per mailbox, with the policy that
    /// decided them.
    public var conflicts: [String: [(crmID: UUID, itemID: String, winner: ConflictWinner)]]
    public var policy: String
    public init(
        kind: ItemKind, upserts: [String: [LinkStore.Link]], removals: [String: [UUID]], answeredIntents: [Int64],
        outcomes: [(entry: LiveSyncStore.Entry, outcome: Outcome)], limit: Int,
        conflicts: [String: [(crmID: UUID, itemID: String, winner: ConflictWinner)]] = [:], policy: String = ""
    ) {
        self.kind = kind
        self.upserts = upserts
        self.removals = removals
        self.answeredIntents = answeredIntents
        self.outcomes = outcomes
        self.limit = limit
        self.conflicts = conflicts
        self.policy = policy
    }
}

/// The side whose change a conflict kept.
public enum ConflictWinner: String, Sendable, Hashable {
    case crm, exchange
}

/// A batch of changes pulled from a mailbox folder by live sync, as decided against the CRM.
public struct PulledChanges: Sendable {
    public var mailbox: MailboxOwner
    public var kind: ItemKind
    /// Items to write into the CRM (new or changed in Exchange, Exchange winning).
    public var items: [MailboxItem]
    /// CRM rows whose item was deleted in Exchange.
    public var deleting: [UUID]
    /// CRM rows whose item was deleted in Exchange but that changed in the CRM since: their links go, so they are
    /// created again.
    public var relinking: [UUID]
    /// Conflicts the CRM won (queued to Exchange again) and Exchange won, as (CRM id, item id).
    public var crmWins: [(crmID: UUID, itemID: String)]
    public var exchangeWins: [(crmID: UUID, itemID: String)]
    /// The conflict policy that decided them.
    public var policy: String
    public var quarantined: [QuarantinedItem]
    /// The folder's sync state after these changes (nil: the changes were read outside the folder's sync, and its
    /// state stays).
    public var syncState: String?
    /// The sync state the changes were read from: they are applied only while the folder still has it, so a pass
    /// that read through a protocol the mailbox has left, or before an inbound snapshot, writes nothing (nil: no
    /// check, for changes read outside the folder's sync).
    public var readFrom: String?
    public init(
        mailbox: MailboxOwner, kind: ItemKind, items: [MailboxItem], deleting: [UUID], relinking: [UUID],
        crmWins: [(crmID: UUID, itemID: String)], exchangeWins: [(crmID: UUID, itemID: String)], policy: String,
        quarantined: [QuarantinedItem], syncState: String?, readFrom: String?
    ) {
        self.mailbox = mailbox
        self.kind = kind
        self.items = items
        self.deleting = deleting
        self.relinking = relinking
        self.crmWins = crmWins
        self.exchangeWins = exchangeWins
        self.policy = policy
        self.quarantined = quarantined
        self.syncState = syncState
        self.readFrom = readFrom
    }
}

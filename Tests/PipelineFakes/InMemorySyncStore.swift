import Foundation
import Logging
import Synchronization
import SyncCore
import SyncStore

/// The sync store in memory, for unit tests of the pipeline: CRM rows, runs with their stages and checkpoints,
/// links, create intents, the outbox and folder states. Set-based SQL (the inbound match and merge) is modelled by
/// its observable effect: a staged item updates the row it is linked to or stamped with, or becomes a new row.
///
/// ``crash(at:)`` models a process killed in the middle of a stage: the named batch throws ``SimulatedCrash`` and
/// ``restart()`` brings the store back to what was committed before it, with the dead process's leases expired.
public final class InMemorySyncStore: SyncStoreDatabase, SyncStoreConnection, Sendable {
    /// Everything the store holds; tests read and seed it through ``state``.
    public struct State: Sendable {
        public var users: [MailboxOwner] = []
        /// CRM rows by kind and id.
        public var rows: [ItemKind: [UUID: MailboxRecord]] = [:]
        /// The contacts each user covers (contacts belong in the mailboxes of the users covering them).
        public var coverage: [UUID: Set<UUID>] = [:]
        public var links: [LinkKey: StoredLink] = [:]
        public var runs: [Int64: RunRecord] = [:]
        public var runMailboxes: [Int64: [String: RunMailbox]] = [:]
        public var stages: [Int64: [StageRecord]] = [:]
        public var approvals: Set<String> = []
        public var events: [(runID: Int64?, event: String, message: String)] = []
        public var quarantine:
            [(runID: Int64?, mailbox: String, kind: ItemKind, item: QuarantinedItem, direction: QuarantineDirection)] =
                []
        public var staged: [String: [MailboxItem]] = [:]
        public var folderStates: [String: (state: String?, needsSnapshot: Bool)] = [:]
        public var intents: [Int64: (mailbox: String, kind: ItemKind, crmIDs: [UUID])] = [:]
        public var syncEnabled = true
        public var disabled: Set<String> = []
        public var outbox: [LiveSyncStore.Entry] = []
        public var conflicts: [(crmID: UUID, winner: String)] = []
        public var facts: RecoveryFacts?
        /// The mailboxes with a protocol of their own, and the protocol changes journaled (mailbox, protocol).
        public var protocols: [String: ExchangeProtocol] = [:]
        public var protocolJournal: [(mailbox: String, protocol: ExchangeProtocol)] = []
        var nextID: Int64 = 0
        var seenByRun: Set<String> = []
        public init() {}
    }

    /// A link's key: mailbox (lower case), kind, CRM id.
    public struct LinkKey: Sendable, Hashable {
        public var mailbox: String
        public var kind: ItemKind
        public var crmID: UUID
    }

    public struct StoredLink: Sendable, Hashable {
        public var ref: MailboxItemRef
        public var version: Int64
    }

    public struct RunMailbox: Sendable, Hashable {
        public var owner: MailboxOwner
        public var status: MailboxRunStatus = .pending
        public var leaseOwner: String?
        public var error: String?
    }

    /// A stage's batch at which ``crash(at:)`` kills the process.
    public struct CrashPoint: Sendable, Hashable {
        public var stage: SnapshotStage
        /// 1 for the stage's first committed batch.
        public var batch: Int
        public init(_ stage: SnapshotStage, batch: Int = 1) {
            self.stage = stage
            self.batch = batch
        }
    }

    /// Thrown by the batch a crash point names: the process is dead from there on.
    public struct SimulatedCrash: Error, Sendable {}

    /// The contents and the crash point, behind one lock.
    private struct Guts {
        var current = State()
        var crashPoint: CrashPoint?
        var batches: [SnapshotStage: Int] = [:]
        var stateAtCrash: State?
    }

    private let guts = Mutex(Guts())

    public init() {}

    /// The store's contents (a copy).
    public var state: State { guts.withLock { $0.current } }

    /// Changes the store's contents.
    public func update<T: Sendable, E: Error>(_ body: (inout State) throws(E) -> T) throws(E) -> T {
        try guts.withLock { (guts) throws(E) -> T in try body(&guts.current) }
    }

    /// Kills the process at this batch of a stage (the batch is not committed).
    public func crash(at point: CrashPoint) {
        guts.withLock { guts in
            guts.crashPoint = point
            guts.batches = [:]
            guts.stateAtCrash = nil
        }
    }

    /// True once the crash point was reached.
    public var crashed: Bool { guts.withLock { $0.stateAtCrash != nil } }

    /// After a crash: what the killed process did after the crash point is undone (it never happened), and the
    /// mailboxes it held are free to claim again (their leases expired).
    public func restart() {
        guts.withLock { guts in
            if let saved = guts.stateAtCrash { guts.current = saved }
            guts.stateAtCrash = nil
            guts.crashPoint = nil
            for (run, mailboxes) in guts.current.runMailboxes {
                for (address, mailbox) in mailboxes where mailbox.status == .running {
                    guts.current.runMailboxes[run]?[address]?.leaseOwner = "expired"
                }
            }
        }
    }

    // MARK: Seeding

    /// Adds a CRM user with a mailbox.
    @discardableResult
    public func addUser(_ address: String, id: UUID = UUID()) -> MailboxOwner {
        let owner = MailboxOwner(smtpAddress: address.lowercased(), userID: id)
        update { $0.users.append(owner) }
        return owner
    }

    /// Adds or replaces a CRM row.
    public func put(_ record: MailboxRecord) {
        update { $0.rows[record.kind, default: [:]][record.id] = record }
    }

    /// The CRM rows of a kind owned by (or, for contacts, covered by) a user.
    public func rows(_ kind: ItemKind, of owner: MailboxOwner) -> [MailboxRecord] {
        let state = state
        return (state.rows[kind] ?? [:]).values.filter { Self.belongs($0, to: owner, state) }.sorted {
            $0.id.uuidString < $1.id.uuidString
        }
    }

    /// Links of a mailbox folder, by CRM id.
    public func links(of owner: MailboxOwner, kind: ItemKind) -> [UUID: StoredLink] {
        var result: [UUID: StoredLink] = [:]
        for (key, link) in state.links where key.mailbox == owner.smtpAddress.lowercased() && key.kind == kind {
            result[key.crmID] = link
        }
        return result
    }

    // MARK: SyncStoreDatabase

    public func withConnection<T: Sendable>(_ body: (any SyncStoreConnection) async throws -> T) async throws -> T {
        try await body(self)
    }

    public func withConnectionIfReachable<T: Sendable>(
        _ body: (any SyncStoreConnection) async throws -> T
    ) async throws -> Reachability<T> {
        .answered(try await body(self))
    }

    // MARK: CRM

    static func belongs(_ record: MailboxRecord, to owner: MailboxOwner, _ state: State) -> Bool {
        switch record {
        case .contact(let contact): state.coverage[owner.userID]?.contains(contact.id) ?? false
        case .appointment(let appointment): appointment.ownerID == owner.userID
        case .task(let task): task.ownerID == owner.userID
        }
    }

    public func mailboxOwners(_ addresses: [String]?) async throws -> [MailboxOwner] {
        let wanted = addresses.map { Set($0.map { $0.lowercased() }) }
        return state.users.filter { wanted?.contains($0.smtpAddress) ?? true }.sorted {
            $0.smtpAddress < $1.smtpAddress
        }
    }

    private func candidate(_ record: MailboxRecord, mailbox: String, _ state: State) -> OutboundCandidate {
        let link = state.links[LinkKey(mailbox: mailbox.lowercased(), kind: record.kind, crmID: record.id)]
        return OutboundCandidate(
            record: record, version: record.version,
            link: link.map {
                OutboundCandidate.Link(itemID: $0.ref.id, changeKey: $0.ref.changeKey, syncedVersion: $0.version)
            })
    }

    public func outboundPage(
        _ kind: ItemKind, mailbox: MailboxOwner, after: UUID?, limit: Int
    ) async throws -> [OutboundCandidate] {
        let state = state
        return (state.rows[kind] ?? [:]).values
            .filter { record in
                Self.belongs(record, to: mailbox, state) && (after.map { record.id.uuidString > $0.uuidString } ?? true)
            }
            .sorted { $0.id.uuidString < $1.id.uuidString }
            .prefix(limit)
            .map { candidate($0, mailbox: mailbox.smtpAddress, state) }
    }

    public func records(_ kind: ItemKind, mailbox: MailboxOwner) async throws -> [UUID: OutboundCandidate] {
        let state = state
        var result: [UUID: OutboundCandidate] = [:]
        for record in (state.rows[kind] ?? [:]).values where Self.belongs(record, to: mailbox, state) {
            result[record.id] = candidate(record, mailbox: mailbox.smtpAddress, state)
        }
        return result
    }

    public func placedWithLinks(
        _ kind: ItemKind, ids: [UUID]
    ) async throws
        -> (placed: [UUID: CRMStore.Placed], links: [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]])
    {
        let state = state
        var placed: [UUID: CRMStore.Placed] = [:]
        var links: [UUID: [(mailbox: String, ref: MailboxItemRef, version: Int64)]] = [:]
        for id in ids {
            if let record = state.rows[kind]?[id] {
                placed[id] = CRMStore.Placed(
                    record: record, version: record.version, updatedAt: record.updatedAt,
                    mailboxes: state.users.filter { Self.belongs(record, to: $0, state) })
            }
            for (key, link) in state.links where key.kind == kind && key.crmID == id {
                links[id, default: []].append((key.mailbox, link.ref, link.version))
            }
        }
        return (placed, links)
    }

    public func versions(_ kind: ItemKind, ids: [UUID]) async throws -> [UUID: (version: Int64, updatedAt: Date)] {
        let state = state
        var result: [UUID: (version: Int64, updatedAt: Date)] = [:]
        for id in ids { if let record = state.rows[kind]?[id] { result[id] = (record.version, record.updatedAt) } }
        return result
    }

    // MARK: Runs

    public func openRun(_ request: RunRequest, owners: [MailboxOwner]) async throws -> (run: RunRecord, resumed: Bool) {
        update { state in
            if let open = state.runs.values.filter({
                $0.request.signature == request.signature && $0.status == .running
            })
            .max(by: { $0.id < $1.id }) {
                return (open, true)
            }
            state.nextID += 1
            let run = RunRecord(
                id: state.nextID, request: request, status: .running, createdAt: Date(), finishedAt: nil)
            state.runs[run.id] = run
            var stages: [StageRecord] = []
            for owner in owners {
                state.runMailboxes[run.id, default: [:]][owner.smtpAddress] = RunMailbox(owner: owner)
                for kind in request.kinds {
                    for stage in SnapshotStage.stages(for: request.direction) {
                        stages.append(
                            StageRecord(
                                mailbox: owner.smtpAddress, kind: kind, stage: stage, status: .pending,
                                cursor: nil, items: 0, created: 0, updated: 0, deleted: 0, failed: 0, total: nil,
                                attempts: 0, error: nil, startedAt: nil, finishedAt: nil))
                    }
                }
            }
            state.stages[run.id] = stages
            if request.allowMassDelete {
                for owner in owners {
                    for kind in request.kinds {
                        state.approvals.insert("\(run.id)/\(owner.smtpAddress)/\(kind.rawValue)")
                    }
                }
            }
            return (run, false)
        }
    }

    public func run(_ id: Int64) async throws -> RunRecord? { state.runs[id] }

    public func latestUnfinishedRun() async throws -> RunRecord? {
        state.runs.values.filter { $0.status == .running }.max { $0.id < $1.id }
    }

    public func resetStages(
        runID: Int64, mailbox: String?, kinds: [ItemKind]?, from stage: SnapshotStage
    ) async throws -> Int {
        update { state in
            guard var stages = state.stages[runID] else { return 0 }
            var reset = 0
            var resetFrom: Set<String> = []
            for index in stages.indices {
                let record = stages[index]
                guard mailbox.map({ $0 == record.mailbox }) ?? true, kinds.map({ $0.contains(record.kind) }) ?? true
                else { continue }
                let folder = "\(record.mailbox)/\(record.kind.rawValue)"
                if record.stage == stage { resetFrom.insert(folder) }
                guard resetFrom.contains(folder) else { continue }
                stages[index].status = .pending
                stages[index].cursor = nil
                stages[index].items = 0
                stages[index].created = 0
                stages[index].updated = 0
                stages[index].deleted = 0
                stages[index].failed = 0
                stages[index].error = nil
                reset += 1
            }
            state.stages[runID] = stages
            for (address, _) in state.runMailboxes[runID] ?? [:] where mailbox.map({ $0 == address }) ?? true {
                if stages.contains(where: { $0.mailbox == address && $0.status == .pending }) {
                    state.runMailboxes[runID]?[address]?.status = .pending
                    state.runMailboxes[runID]?[address]?.leaseOwner = nil
                }
            }
            if reset > 0 { state.runs[runID]?.status = .running }
            return reset
        }
    }

    public func approveMassDelete(runID: Int64, mailboxes: [String], kinds: [ItemKind], approvedBy: String) async throws
    {
        update { state in
            for mailbox in mailboxes {
                for kind in kinds { state.approvals.insert("\(runID)/\(mailbox.lowercased())/\(kind.rawValue)") }
            }
        }
    }

    public func massDeleteApproved(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool {
        state.approvals.contains("\(runID)/\(mailbox.lowercased())/\(kind.rawValue)")
    }

    public func recordEvent(
        runID: Int64?, mailbox: String?, kind: ItemKind?, stage: SnapshotStage?, event: String, message: String,
        data: [String: Int]
    ) async throws {
        update { $0.events.append((runID, event, message)) }
    }

    private func outcome(_ mailbox: RunMailbox, runID: Int64, _ state: State) -> RunStatus? {
        let quarantined = (state.stages[runID] ?? []).contains {
            $0.mailbox == mailbox.owner.smtpAddress && $0.failed > 0
        }
        switch mailbox.status {
        case .done: return quarantined ? .completedWithErrors : .completed
        case .failed: return .completedWithErrors
        case .pending, .running: return nil
        }
    }

    public func finishRunIfDone(_ runID: Int64) async throws -> RunStatus? {
        update { state in
            let mailboxes = Array((state.runMailboxes[runID] ?? [:]).values)
            let outcomes = mailboxes.map { outcome($0, runID: runID, state) }
            guard !outcomes.contains(where: { $0 == nil }) else { return nil }
            let status: RunStatus = outcomes.contains(.completedWithErrors) ? .completedWithErrors : .completed
            if state.runs[runID]?.status == .running {
                state.runs[runID]?.status = status
                state.runs[runID]?.finishedAt = Date()
            }
            return status
        }
    }

    public func mailboxOutcome(runID: Int64, mailbox: String) async throws -> RunStatus? {
        let state = state
        return state.runMailboxes[runID]?[mailbox].flatMap { outcome($0, runID: runID, state) }
    }

    public func leasesOnHost(runID: Int64, host: String) async throws -> [(mailbox: String, pid: Int32)] { [] }

    public func releaseDeadLease(runID: Int64, mailbox: String) async throws {}

    public func claimMailbox(
        runID: Int64, worker: String, lease: Duration, mailbox: String?
    ) async throws -> ClaimedMailbox? {
        update { state in
            let candidates = (state.runMailboxes[runID] ?? [:]).filter { address, claim in
                (mailbox.map { $0 == address } ?? true)
                    && (claim.status == .pending || (claim.status == .running && claim.leaseOwner == "expired"))
            }
            guard let (address, claim) = candidates.min(by: { $0.key < $1.key }) else { return nil }
            state.runMailboxes[runID]?[address]?.status = .running
            state.runMailboxes[runID]?[address]?.leaseOwner = worker
            return ClaimedMailbox(runID: runID, owner: claim.owner, leaseOwner: worker)
        }
    }

    public func releaseMailbox(_ claim: ClaimedMailbox, status: MailboxRunStatus, error: String?) async throws {
        update { state in
            guard state.runMailboxes[claim.runID]?[claim.owner.smtpAddress]?.leaseOwner == claim.leaseOwner else {
                return
            }
            state.runMailboxes[claim.runID]?[claim.owner.smtpAddress]?.status = status
            state.runMailboxes[claim.runID]?[claim.owner.smtpAddress]?.error = error
            state.runMailboxes[claim.runID]?[claim.owner.smtpAddress]?.leaseOwner = nil
        }
    }

    // MARK: Stages

    private func stageIndex(_ state: State, runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage) -> Int?
    {
        state.stages[runID]?.firstIndex { $0.mailbox == mailbox && $0.kind == kind && $0.stage == stage }
    }

    public func stages(runID: Int64, mailbox: String?) async throws -> [StageRecord] {
        (state.stages[runID] ?? []).filter { record in mailbox.map { $0 == record.mailbox } ?? true }
    }

    public func startStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage
    ) async throws
        -> (cursor: String?, resumed: Bool, attempt: Int)
    {
        update { state in
            let index = stageIndex(state, runID: runID, mailbox: mailbox, kind: kind, stage: stage)!
            let resumed = state.stages[runID]![index].status != .pending
            state.stages[runID]![index].status = .running
            state.stages[runID]![index].attempts += 1
            state.stages[runID]![index].error = nil
            return (state.stages[runID]![index].cursor, resumed, state.stages[runID]![index].attempts)
        }
    }

    public func finishStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage, status: StageStatus,
        error: String?
    ) async throws {
        update { state in
            let index = stageIndex(state, runID: runID, mailbox: mailbox, kind: kind, stage: stage)!
            state.stages[runID]![index].status = status
            state.stages[runID]![index].error = error
        }
    }

    public func commit(
        _ writes: StageWrites, checkpoint: StageCheckpoint, claim: ClaimedMailbox, lease: Duration
    ) async throws -> StageCounts? {
        try guts.withLock { (guts) throws(SimulatedCrash) -> StageCounts? in
            if let point = guts.crashPoint, point.stage == checkpoint.stage {
                guts.batches[point.stage, default: 0] += 1
                if guts.batches[point.stage] == point.batch {
                    guts.stateAtCrash = guts.current
                    throw SimulatedCrash()
                }
            }
            var state = guts.current
            guard state.runMailboxes[claim.runID]?[claim.owner.smtpAddress]?.leaseOwner == claim.leaseOwner else {
                return nil
            }
            let counts = write(writes, kind: checkpoint.kind, claim: claim, &state)
            let index = stageIndex(
                state, runID: claim.runID, mailbox: claim.owner.smtpAddress, kind: checkpoint.kind,
                stage: checkpoint.stage)!
            state.stages[claim.runID]![index].cursor = checkpoint.cursor
            state.stages[claim.runID]![index].items += counts.items
            state.stages[claim.runID]![index].created += counts.created
            state.stages[claim.runID]![index].updated += counts.updated
            state.stages[claim.runID]![index].deleted += counts.deleted
            state.stages[claim.runID]![index].failed += counts.failed
            if let total = checkpoint.total { state.stages[claim.runID]![index].total = total }
            guts.current = state
            return counts
        }
    }

    private func write(
        _ writes: StageWrites, kind: ItemKind, claim: ClaimedMailbox, _ state: inout State
    ) -> StageCounts {
        let owner = claim.owner, address = owner.smtpAddress, folder = "\(claim.runID)/\(address)/\(kind.rawValue)"
        func quarantine(_ items: [QuarantinedItem], _ direction: QuarantineDirection) {
            for item in items { state.quarantine.append((claim.runID, address, kind, item, direction)) }
        }
        switch writes {
        case .counts(let counts):
            return counts
        case .extracted(let items, let quarantined):
            var counts = StageCounts(items: Int64(items.count))
            for item in items {
                if Self.claimingRow(item, kind: kind, mailbox: address, state) == nil {
                    counts.created +=
                        Self.merge(item, owner: owner, kind: kind, runFolder: folder, &state).created ? 1 : 0
                } else {
                    state.staged[folder, default: []].append(item)
                }
            }
            quarantine(quarantined, .inbound)
            counts.items += Int64(quarantined.count)
            counts.failed = Int64(quarantined.count)
            return counts
        case .match:
            return StageCounts()
        case .merge:
            var counts = StageCounts()
            for item in state.staged[folder] ?? [] {
                let merged = Self.merge(item, owner: owner, kind: kind, runFolder: folder, &state)
                if merged.created { counts.created += 1 } else if merged.updated { counts.updated += 1 }
                counts.items += 1
            }
            return counts
        case .reconcile(let ids):
            var deleted = 0
            for id in ids {
                if state.rows[kind]?.removeValue(forKey: id) != nil { deleted += 1 }
                state.links[LinkKey(mailbox: address, kind: kind, crmID: id)] = nil
            }
            return StageCounts(items: Int64(ids.count), deleted: Int64(deleted))
        case .finalize(let syncState):
            if let syncState { state.folderStates["\(address)/\(kind.rawValue)"] = (syncState, false) }
            state.staged[folder] = nil
            return StageCounts()
        case .cleanCRM:
            let doomed = (state.rows[kind] ?? [:]).values.filter { Self.belongs($0, to: owner, state) }.map(\.id)
            for id in doomed { state.rows[kind]?[id] = nil }
            return StageCounts(items: Int64(doomed.count), deleted: Int64(doomed.count))
        case .pushed(let links, let read, let created, let updated, let intent, let quarantined):
            for link in links {
                state.links[LinkKey(mailbox: address, kind: kind, crmID: link.crmID)] = StoredLink(
                    ref: link.ref, version: link.version)
            }
            if let intent { state.intents[intent] = nil }
            quarantine(quarantined, .outbound)
            return StageCounts(
                items: Int64(read), created: Int64(created), updated: Int64(updated),
                failed: Int64(quarantined.count), changedRows: ["sync.links": links.count])
        case .deletedOrphans(let gone, let quarantined):
            for id in gone { state.links[LinkKey(mailbox: address, kind: kind, crmID: id)] = nil }
            quarantine(quarantined, .outbound)
            return StageCounts(
                items: Int64(gone.count + quarantined.count), deleted: Int64(gone.count),
                failed: Int64(quarantined.count))
        case .forgetLinks:
            for key in state.links.keys where key.mailbox == address && key.kind == kind { state.links[key] = nil }
            return StageCounts()
        }
    }

    /// The CRM row an item belongs to: its link's, or the one stamped on it.
    static func claimingRow(_ item: MailboxItem, kind: ItemKind, mailbox: String, _ state: State) -> UUID? {
        if let linked = state.links.first(where: {
            $0.key.mailbox == mailbox && $0.key.kind == kind && $0.value.ref.id == item.ref.id
        }) {
            return linked.key.crmID
        }
        if let stamped = item.crmID, state.rows[kind]?[stamped] != nil { return stamped }
        return nil
    }

    /// Writes an item into the CRM as its row (updated when it differs, created when it has none) and links it.
    static func merge(
        _ item: MailboxItem, owner: MailboxOwner, kind: ItemKind, runFolder: String?, _ state: inout State
    )
        -> (created: Bool, updated: Bool)
    {
        let id = claimingRow(item, kind: kind, mailbox: owner.smtpAddress, state) ?? item.crmID ?? item.record.id
        let existing = state.rows[kind]?[id]
        let record = item.record.stored(as: id, owner: owner.userID, version: (existing?.version ?? 0) + 1)
        var created = false, updated = false
        if existing == nil {
            state.rows[kind, default: [:]][id] = record
            created = true
        } else if existing?.stored(as: id, owner: owner.userID, version: 0)
            != record.stored(as: id, owner: owner.userID, version: 0)
        {
            state.rows[kind]?[id] = record
            updated = true
        }
        let version = state.rows[kind]![id]!.version
        state.links[LinkKey(mailbox: owner.smtpAddress, kind: kind, crmID: id)] = StoredLink(
            ref: item.ref, version: version)
        if let runFolder { state.seenByRun.insert("\(runFolder)/\(id)") }
        return (created, updated)
    }

    public func recordActivityAndAnalyze(
        _ changedRows: [String: Int], policy: AnalyzePolicy, runID: Int64, mailbox: String,
        after stage: SnapshotStage, logger: Logger
    ) async throws {}

    public func completeInterimStatistics(runID: Int64, logger: Logger) async throws {}

    // MARK: Inbound staging

    public func hasStaged(runID: Int64, mailbox: String, kind: ItemKind) async throws -> Bool {
        !(state.staged["\(runID)/\(mailbox)/\(kind.rawValue)"] ?? []).isEmpty
    }

    public func prepareMatch(runID: Int64, mailbox: String, kind: ItemKind, logger: Logger) async throws -> Bool {
        try await hasStaged(runID: runID, mailbox: mailbox, kind: kind)
    }

    public func reconcileCandidates(
        runID: Int64, mailbox: String, kind: ItemKind
    ) async throws
        -> (vanished: [InboundStore.Vanished], linked: Int)
    {
        let state = state
        let folder = "\(runID)/\(mailbox)/\(kind.rawValue)"
        let linked = state.links.keys.filter { $0.mailbox == mailbox && $0.kind == kind }
        let vanished = linked.filter { !state.seenByRun.contains("\(folder)/\($0.crmID)") }.map { key in
            let record = state.rows[kind]?[key.crmID]
            return InboundStore.Vanished(
                crmID: key.crmID, startsAt: record?.startsAt, seriesEnd: nil, modifiedAt: record?.updatedAt)
        }
        return (vanished.sorted { $0.crmID.uuidString < $1.crmID.uuidString }, linked.count)
    }

    // MARK: Links

    public func links(
        mailbox: String, kind: ItemKind
    ) async throws -> [String: (crmID: UUID, changeKey: String?, version: Int64)] {
        var result: [String: (crmID: UUID, changeKey: String?, version: Int64)] = [:]
        for (key, link) in state.links where key.mailbox == mailbox.lowercased() && key.kind == kind {
            result[link.ref.id] = (key.crmID, link.ref.changeKey, link.version)
        }
        return result
    }

    public func links(
        mailbox: String, kind: ItemKind, itemIDs: [String]
    ) async throws
        -> [String: (crmID: UUID, changeKey: String?, version: Int64)]
    {
        let wanted = Set(itemIDs)
        return try await links(mailbox: mailbox, kind: kind).filter { wanted.contains($0.key) }
    }

    public func orphanPage(
        mailbox: MailboxOwner, kind: ItemKind, after: UUID?, limit: Int
    ) async throws -> [(crmID: UUID, ref: MailboxItemRef)] {
        let state = state
        return state.links.filter { key, _ in
            guard key.mailbox == mailbox.smtpAddress, key.kind == kind else { return false }
            guard after.map({ key.crmID.uuidString > $0.uuidString }) ?? true else { return false }
            guard let record = state.rows[kind]?[key.crmID] else { return true }
            return !Self.belongs(record, to: mailbox, state)
        }
        .sorted { $0.key.crmID.uuidString < $1.key.crmID.uuidString }
        .prefix(limit)
        .map { ($0.key.crmID, $0.value.ref) }
    }

    public func outboundPending(
        mailbox: MailboxOwner, kind: ItemKind
    ) async throws -> (create: Int, update: Int, delete: Int) {
        let candidates = try await records(kind, mailbox: mailbox).values
        let orphans = try await orphanPage(mailbox: mailbox, kind: kind, after: nil, limit: .max)
        return (
            candidates.filter { $0.link == nil }.count,
            candidates.filter { candidate in candidate.link.map { $0.syncedVersion != candidate.version } ?? false }
                .count, orphans.count
        )
    }

    public func insertMissingLinks(_ links: [LinkStore.Link], mailbox: String, kind: ItemKind) async throws {
        update { state in
            for link in links
            where state.links[LinkKey(mailbox: mailbox.lowercased(), kind: kind, crmID: link.crmID)] == nil {
                state.links[LinkKey(mailbox: mailbox.lowercased(), kind: kind, crmID: link.crmID)] = StoredLink(
                    ref: link.ref, version: link.version)
            }
        }
    }

    // MARK: Create intents

    public func withFolderLock<T: Sendable>(
        mailbox: String, kind: ItemKind, _ body: () async throws -> T
    ) async throws -> T {
        try await body()
    }

    public func createIntents(mailbox: String, kind: ItemKind) async throws -> [CreateIntentStore.Intent] {
        state.intents.filter { $0.value.mailbox == mailbox.lowercased() && $0.value.kind == kind }
            .sorted { $0.key < $1.key }
            .map { CreateIntentStore.Intent(id: $0.key, crmIDs: $0.value.crmIDs) }
    }

    public func recordCreateIntent(mailbox: String, kind: ItemKind, crmIDs: [UUID], runID: Int64?) async throws -> Int64
    {
        update { state in
            state.nextID += 1
            state.intents[state.nextID] = (mailbox.lowercased(), kind, crmIDs)
            return state.nextID
        }
    }

    public func resolveCreateIntents(
        _ intents: [Int64], links: [LinkStore.Link], mailbox: String, kind: ItemKind
    ) async throws {
        try await insertMissingLinks(links, mailbox: mailbox, kind: kind)
        update { state in for id in intents { state.intents[id] = nil } }
    }

    // MARK: Live sync

    public func isSyncEnabled() async throws -> Bool { state.syncEnabled }

    public func disabledMailboxes() async throws -> Set<String> { state.disabled }

    public func setSyncEnabled(_ enabled: Bool, mailbox: String?, actor: String, note: String?) async throws {
        update { state in
            if let mailbox {
                if enabled {
                    state.disabled.remove(mailbox.lowercased())
                } else {
                    state.disabled.insert(mailbox.lowercased())
                }
            } else {
                state.syncEnabled = enabled
            }
        }
    }

    /// Queues CRM rows for delivery to Exchange (what the CRM's triggers do).
    public func enqueue(_ kind: ItemKind, _ ids: [UUID]) {
        update { state in
            for id in ids {
                state.nextID += 1
                state.outbox.append(
                    LiveSyncStore.Entry(id: state.nextID, kind: kind, crmID: id, seq: state.nextID, attempts: 0))
            }
        }
    }

    public func claimDueOutbox(limit: Int, lease: Duration) async throws -> [LiveSyncStore.Entry] {
        update { state in
            let due = Array(state.outbox.prefix(limit))
            state.outbox.removeFirst(due.count)
            return due
        }
    }

    public func commitDeliveries(_ deliveries: OutboxDeliveries) async throws {
        update { state in
            for (mailbox, links) in deliveries.upserts {
                for link in links {
                    state.links[LinkKey(mailbox: mailbox.lowercased(), kind: deliveries.kind, crmID: link.crmID)] =
                        StoredLink(ref: link.ref, version: link.version)
                }
            }
            for id in deliveries.answeredIntents { state.intents[id] = nil }
            for (mailbox, ids) in deliveries.removals {
                for id in ids {
                    state.links[LinkKey(mailbox: mailbox.lowercased(), kind: deliveries.kind, crmID: id)] = nil
                }
            }
            for conflict in deliveries.conflicts.values.joined() {
                state.conflicts.append((conflict.crmID, conflict.winner.rawValue))
            }
            for (entry, outcome) in deliveries.outcomes {
                if case .failed = outcome {
                    var retried = entry
                    retried.attempts += 1
                    state.outbox.append(retried)
                }
            }
        }
    }

    public func folderState(mailbox: String, kind: ItemKind) async throws -> (state: String?, needsSnapshot: Bool) {
        state.folderStates["\(mailbox.lowercased())/\(kind.rawValue)"] ?? (nil, false)
    }

    public func markNeedsSnapshot(mailbox: String, kind: ItemKind, reason: String) async throws {
        update { state in
            let key = "\(mailbox.lowercased())/\(kind.rawValue)"
            state.folderStates[key] = (state.folderStates[key]?.state, true)
        }
    }

    public func resetFolderStates(mailbox: String, kinds: [ItemKind]) async throws -> Int {
        update { state in
            var count = 0
            for kind in kinds
            where state.folderStates.removeValue(forKey: "\(mailbox.lowercased())/\(kind.rawValue)") != nil {
                count += 1
            }
            return count
        }
    }

    public func mailboxProtocols() async throws -> [String: ExchangeProtocol] { state.protocols }

    public func mailboxProtocolFacts(mailbox: String) async throws -> MailboxProtocolFacts {
        let state = self.state
        let address = mailbox.lowercased()
        var facts = MailboxProtocolFacts(assigned: state.protocols[address])
        for (key, link) in state.links where key.mailbox.lowercased() == address {
            facts.linkedItemIDs[key.kind, default: []].append(link.ref.id)
        }
        for kind in ItemKind.allCases {
            if let folder = state.folderStates["\(address)/\(kind.rawValue)"] {
                facts.folders[kind] = MailboxProtocolFacts.FolderStatus(
                    state: folder.state, needsSnapshot: folder.needsSnapshot)
            }
        }
        facts.unfinishedRuns = state.runMailboxes.compactMap { runID, mailboxes in
            guard state.runs[runID]?.status == .running,
                let entry = mailboxes.first(where: { $0.key.lowercased() == address })?.value,
                entry.status == .pending || entry.status == .running
            else { return nil }
            return runID
        }.sorted()
        return facts
    }

    public func commitProtocolSwitch(_ commit: ProtocolSwitchCommit) async throws {
        for (kind, expected) in commit.replacing
        where state.folderStates["\(commit.mailbox.lowercased())/\(kind.rawValue)"]?.state != expected {
            throw SyncStoreError(code: .syncStateChanged, message: "the sync state changed during the switch")
        }
        update { state in
            let address = commit.mailbox.lowercased()
            for (key, link) in state.links where key.mailbox.lowercased() == address {
                if let new = commit.itemIDs[key.kind]?[link.ref.id] { state.links[key]?.ref.id = new }
                if let id = state.links[key]?.ref.id, let changeKey = commit.changeKeys[key.kind]?[id] {
                    state.links[key]?.ref.changeKey = changeKey
                }
            }
            for (kind, folderState) in commit.folderStates {
                let key = "\(address)/\(kind.rawValue)"
                guard let old = state.folderStates[key] else { continue }
                state.folderStates[key] = (folderState, old.needsSnapshot && folderState == nil)
            }
            state.protocols[address] = commit.protocol
            state.protocolJournal.append((address, commit.protocol))
        }
    }

    public func apply(_ changes: PulledChanges) async throws {
        let folder = "\(changes.mailbox.smtpAddress)/\(changes.kind.rawValue)"
        if let expected = changes.readFrom, state.folderStates[folder]?.state != expected {
            throw SyncStoreError(code: .syncStateChanged, message: "the sync state of \(folder) changed")
        }
        update { state in
            let owner = changes.mailbox, kind = changes.kind
            for item in changes.items { _ = Self.merge(item, owner: owner, kind: kind, runFolder: nil, &state) }
            for id in changes.deleting {
                state.rows[kind]?[id] = nil
                state.links[LinkKey(mailbox: owner.smtpAddress, kind: kind, crmID: id)] = nil
            }
            for id in changes.relinking {
                state.links[LinkKey(mailbox: owner.smtpAddress, kind: kind, crmID: id)] = nil
            }
            for (crmID, _) in changes.crmWins {
                state.nextID += 1
                state.outbox.append(
                    LiveSyncStore.Entry(id: state.nextID, kind: kind, crmID: crmID, seq: state.nextID, attempts: 0))
                state.conflicts.append((crmID, "crm"))
            }
            for (crmID, _) in changes.exchangeWins { state.conflicts.append((crmID, "exchange")) }
            for item in changes.quarantined { state.quarantine.append((nil, owner.smtpAddress, kind, item, .inbound)) }
            if let syncState = changes.syncState {
                state.folderStates["\(owner.smtpAddress)/\(kind.rawValue)"] = (syncState, false)
            }
        }
    }

    // MARK: Doctor and onboarding

    public func recoveryFacts(owners: [MailboxOwner], now: Date) async throws -> RecoveryFacts {
        var facts = state.facts ?? RecoveryFacts(now: now, globalSyncEnabled: state.syncEnabled)
        facts.mailboxes = owners.map { owner in
            facts.mailboxes.first { $0.mailbox == owner.smtpAddress } ?? MailboxFacts(mailbox: owner.smtpAddress)
        }
        return facts
    }

    public func requeueParked() async throws -> Int { 0 }

    public func onboardingRows() async throws -> [OnboardingRow] { [] }

    public func deleteOnboardingRow(mailbox: String) async throws {}

    public func recordOnboardingFailure(mailbox: String, error: String) async throws {}

    public func onboardingUsers(
        login: String, mailbox: String
    ) async throws
        -> (user: OnboardingDecision.CRMUser?, holder: OnboardingDecision.CRMUser?)
    {
        (nil, nil)
    }

    public func setUserMailbox(_ mailbox: String, userID: UUID) async throws -> Bool { false }
}

extension MailboxRecord {
    /// The record as the CRM stores it: this id, owner and version.
    func stored(as id: UUID, owner: UUID, version: Int64) -> MailboxRecord {
        switch self {
        case .contact(var contact):
            contact.id = id
            contact.version = version
            return .contact(contact)
        case .appointment(var appointment):
            appointment.id = id
            appointment.ownerID = owner
            appointment.version = version
            return .appointment(appointment)
        case .task(var task):
            task.id = id
            task.ownerID = owner
            task.version = version
            return .task(task)
        }
    }

    /// The row version.
    public var version: Int64 {
        switch self {
        case .contact(let contact): contact.version
        case .appointment(let appointment): appointment.version
        case .task(let task): task.version
        }
    }

    /// When the row last changed.
    public var updatedAt: Date {
        switch self {
        case .contact(let contact): contact.updatedAt
        case .appointment(let appointment): appointment.updatedAt
        case .task(let task): task.updatedAt
        }
    }

    /// When an appointment starts, or a task's start (or due) day.
    var startsAt: Date? {
        switch self {
        case .contact: nil
        case .appointment(let appointment): appointment.startsAt
        case .task(let task): (task.startsOn ?? task.dueOn)?.startOfDayUTC
        }
    }
}

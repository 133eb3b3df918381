import Foundation
import Logging
import SyncCore
import SyncStore

/// `snapsync doctor`: gathers the facts (PostgreSQL, then a cheap probe of each mailbox in Exchange),
/// diagnoses them with ``RecoveryDiagnosis``, and carries the prescribed steps out (`--fix`).
public struct RecoveryDoctor: Sendable {
    public let database: any SyncStoreDatabase
    public let source: any MailboxSource
    public let logger: Logger

    public init(database: any SyncStoreDatabase, source: any MailboxSource, logger: Logger) {
        self.database = database
        self.source = source
        self.logger = logger
    }

    /// A doctor of the PostgreSQL database of `conninfo`.
    public init(conninfo: String, source: any MailboxSource, logger: Logger) {
        self.init(database: SyncDatabase(conninfo: conninfo, logger: logger), source: source, logger: logger)
    }

    /// The facts about every mailbox with a CRM user (or only `mailbox`). When PostgreSQL does not answer,
    /// the facts say so (and whether Exchange answered for `mailbox`, when given).
    public func gatherFacts(mailbox: String? = nil, now: Date = Date()) async throws -> RecoveryFacts {
        let gathered = try await database.withConnectionIfReachable { store in
            try await gatherFacts(mailbox: mailbox, now: now, store: store)
        }
        switch gathered {
        case .answered(let facts):
            return facts
        case .unreachable(let message):
            logger.info("PostgreSQL did not answer", metadata: ["doctor.error": "\(message)"])
            var reachable: Bool?
            if let mailbox {
                let probe = await probe(MailboxOwner(smtpAddress: mailbox, userID: UUID()), states: [:])
                if case .unreachable = probe { reachable = false } else { reachable = true }
            }
            return .postgresDown(now: now, exchangeReachable: reachable)
        }
    }

    func gatherFacts(mailbox: String?, now: Date, store: any SyncStoreConnection) async throws -> RecoveryFacts {
        let owners = try await store.mailboxOwners(mailbox.map { [$0] })
        if let mailbox, owners.isEmpty {
            throw PipelineError(.unknownMailbox, "no CRM user has the mailbox \(mailbox)")
        }
        var facts = try await store.recoveryFacts(owners: owners, now: now)
        let router = source as? MailboxSourceRouter
        facts.graphConfigured = router?.configured.contains(.graph) ?? false
        var down: String?
        for (index, owner) in owners.enumerated() {
            facts.mailboxes[index].protocol = router?.protocolOf(owner.smtpAddress)
            if let down {
                facts.mailboxes[index].exchange = .unreachable("not probed: \(down)")
                continue
            }
            let address = owner.smtpAddress
            var states: [ItemKind: String] = [:]
            for kind in [ItemKind.appointments, .tasks] {
                let status = try await store.folderState(mailbox: address, kind: kind)
                if let state = status.state, !status.needsSnapshot { states[kind] = state }
            }
            let result = await probe(owner, states: states)
            if case .unreachable(let reason) = result { down = reason }
            facts.mailboxes[index].exchange = result
            if case .answered = result {
                do {
                    facts.mailboxes[index].duplicateItems = try await Deduplicator(source: source, logger: logger)
                        .count(owner)
                } catch {
                    logger.info(
                        "Exchange did not list the mailbox's stamped items",
                        metadata: ["mailbox": "\(address)", "doctor.error": "\(error.code)"])
                }
            }
        }
        return facts
    }

    /// One FindItem page of one item per folder (reachability and item counts), then each stored sync state
    /// offered back to Exchange (a restore from backup makes Exchange reject it). Reads only.
    public func probe(_ owner: MailboxOwner, states: [ItemKind: String]) async -> ExchangeProbe {
        var counts: [ItemKind: Int] = [:]
        var rejected: [ItemKind] = []
        do {
            for kind in ItemKind.allCases {
                let page = try await source.itemRefs(in: owner, kind: kind, after: nil, pageSize: 1)
                if let total = page.totalCount { counts[kind] = total }
            }
            for kind in states.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
                do {
                    _ = try await source.changes(
                        in: owner, kind: kind, since: states[kind], window: .rolling(around: Date()), maxChanges: 1)
                } catch  where error.kind == .invalidSyncState {
                    rejected.append(kind)
                }
            }
        } catch {
            logger.info(
                "Exchange probe failed", metadata: ["mailbox": "\(owner.smtpAddress)", "doctor.error": "\(error.code)"])
            if error.code == MailboxSourceError.ewsBlockedCode { return .ewsBlocked(error.message) }
            return error.kind == .transient
                ? .unreachable("\(error.code)") : .refused("\(error.code): \(error.message)")
        }
        return .answered(itemCounts: counts, rejectedSyncStates: rejected)
    }

    /// What carrying out one step did.
    public struct StepOutcome: Sendable, Hashable {
        public var step: RecoveryStep
        /// The snapshot or resumed run, if the step ran one.
        public var run: SnapshotResult?
        /// A line for the report.
        public var message: String
        /// False when the step did not reach its goal (a run ended with errors or in a window).
        public var succeeded: Bool
    }

    /// Carries the steps out in order (``RecoveryDiagnosis/plan`` is in the contract's order), stopping at the
    /// first step that does not succeed. `actor` is journaled with switch transitions.
    public func fix(
        _ steps: [RecoveryStep], actor: String,
        options: (RunRequest) -> SnapshotOptions = { SnapshotOptions(request: $0) },
        report: (StepOutcome) -> Void = { _ in }
    ) async throws -> [StepOutcome] {
        let runner = SnapshotRunner(database: database, source: source, logger: logger)
        var outcomes: [StepOutcome] = []
        for step in steps {
            let outcome: StepOutcome
            switch step {
            case .enableSync(let mailbox):
                try await database.withConnection { store in
                    try await store.setSyncEnabled(true, mailbox: mailbox, actor: actor, note: "snapsync doctor --fix")
                }
                outcome = StepOutcome(
                    step: step, run: nil, message: "sync switched on" + (mailbox.map { " for \($0)" } ?? ""),
                    succeeded: true)
            case .snapshot(let direction, let mailboxes):
                let request = RunRequest(
                    direction: direction, kinds: direction.supportedKinds, mailboxes: mailboxes, dateRange: nil,
                    requestedBy: actor)
                outcome = Self.outcome(step, try await runner.run(options(request)))
            case .resume(let runID):
                let resumeOptions = options(
                    RunRequest(direction: .inbound, kinds: [], mailboxes: nil, dateRange: nil, requestedBy: actor))
                outcome = Self.outcome(step, try await runner.resume(runID: runID, options: resumeOptions))
            case .retryParked:
                let count = try await database.withConnection { store in try await store.requeueParked() }
                outcome = StepOutcome(
                    step: step, run: nil,
                    message: "\(count) parked outbox entr\(count == 1 ? "y" : "ies") queued again", succeeded: true)
            case .removeDuplicates(let mailboxes):
                outcome = try await removeDuplicates(step, mailboxes: mailboxes)
            case .setProtocol(let mailbox, let target):
                outcome = try await setProtocol(step, mailbox: mailbox, target, actor: actor)
            case .none, .manual:
                continue
            }
            logger.info(
                "doctor step done", metadata: ["doctor.step": "\(step)", "doctor.succeeded": "\(outcome.succeeded)"])
            outcomes.append(outcome)
            report(outcome)
            if !outcome.succeeded { break }
        }
        return outcomes
    }

    /// Deletes the extra copies of CRM records in the mailboxes, keeping the linked one (`snapsync dedupe`).
    func removeDuplicates(_ step: RecoveryStep, mailboxes: [String]) async throws -> StepOutcome {
        let (deleted, failed) = try await database.withConnection { store in
            var deleted = 0, failed = 0
            for owner in try await store.mailboxOwners(mailboxes) {
                for removal in try await Deduplicator(source: source, logger: logger).remove(owner, store: store) {
                    deleted += removal.deleted
                    failed += removal.failed
                }
            }
            return (deleted, failed)
        }
        return StepOutcome(
            step: step, run: nil,
            message: "\(deleted) extra cop\(deleted == 1 ? "y" : "ies") deleted"
                + (failed > 0 ? ", \(failed) refused by Exchange" : ""), succeeded: failed == 0)
    }

    /// Switches the mailbox's protocol keeping its links (``ProtocolSwitcher``); needs a routing source.
    func setProtocol(
        _ step: RecoveryStep, mailbox: String, _ target: ExchangeProtocol, actor: String
    ) async throws -> StepOutcome {
        guard let router = source as? MailboxSourceRouter else {
            return StepOutcome(step: step, run: nil, message: "this source cannot switch protocols", succeeded: false)
        }
        do {
            let switched = try await ProtocolSwitcher(database: database, router: router, logger: logger).setProtocol(
                target, mailbox: mailbox, actor: actor, note: "snapsync doctor --fix")
            return StepOutcome(
                step: step, run: nil,
                message:
                    "\(switched.mailbox) reached by \(switched.to.rawValue); \(switched.translatedLinks) link(s) kept",
                succeeded: true)
        } catch let error as PipelineError {
            return StepOutcome(step: step, run: nil, message: error.message, succeeded: false)
        }
    }

    static func outcome(_ step: RecoveryStep, _ result: SnapshotResult) -> StepOutcome {
        StepOutcome(
            step: step, run: result, message: "run \(result.runID): \(result.outcome.rawValue)",
            succeeded: result.outcome == .completed || result.outcome == .completedWithErrors)
    }
}

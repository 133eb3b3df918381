import Foundation
import Logging
import SyncCore
import SyncStore
import Synchronization

/// The first source-wide failure a worker of the run met (``MailboxSourceError/isSourceWide``): once set, the other
/// workers finish the mailbox they hold and claim no other, so a run stops within one retry budget instead of trying
/// every mailbox against an Exchange that is down or refuses the account.
final class SourceOutage: Sendable {
    private let error = Mutex<MailboxSourceError?>(nil)

    func record(_ failure: MailboxSourceError) { error.withLock { $0 = $0 ?? failure } }

    var current: MailboxSourceError? { error.withLock { $0 } }
}

/// One worker of a run: claims mailboxes one at a time and carries out their pending stages.
struct MailboxWorker: Sendable {
    let runID: Int64
    let request: RunRequest
    let options: SnapshotOptions
    let name: String
    /// The one mailbox of the run this worker may claim (`snapsync rerun --mailbox`); any when nil.
    let only: String?
    let source: any MailboxSource
    let logger: Logger
    let progress: (any StageProgressReporting)?
    let outage: SourceOutage

    /// Why a worker stopped.
    enum Stop: Sendable {
        /// No mailbox left to claim.
        case done
        /// The window ended; the mailbox it held is pending again.
        case windowEnded
        /// The mailbox source is unavailable or refuses every call; the mailbox it held is pending again.
        case sourceUnavailable(MailboxSourceError)
    }

    /// Works until no mailbox is left to claim, the window ends, or the source stops answering.
    func run(store: any SyncStoreConnection) async throws -> Stop {
        while true {
            if options.window.hasEnded(at: Date()) { return .windowEnded }
            if let error = outage.current { return .sourceUnavailable(error) }
            guard
                let claim = try await store.claimMailbox(
                    runID: runID, worker: name, lease: options.lease, mailbox: only)
            else {
                return .done
            }
            var logger = self.logger
            logger[metadataKey: "mailbox"] = "\(claim.owner.smtpAddress)"
            if let router = source as? MailboxSourceRouter {
                // The run log names the protocol each mailbox was reached by (`runs show`, the HTML report).
                let reached = router.protocolOf(claim.owner.smtpAddress)
                logger[metadataKey: "protocol"] = "\(reached.rawValue)"
                try await store.recordEvent(
                    runID: runID, mailbox: claim.owner.smtpAddress, kind: nil, stage: nil,
                    event: MailboxSourceRouter.protocolEvent, message: reached.rawValue, data: [:])
            }
            let context = StageContext(
                runID: runID, request: request, options: options, claim: claim, source: source,
                store: store, logger: logger, progress: progress)
            do {
                let failures = try await context.processMailbox()
                try await store.releaseMailbox(
                    claim, status: failures == 0 ? .done : .failed,
                    error: failures == 0 ? nil : "\(failures) stage(s) failed")
            } catch is WindowEnded {
                try await store.releaseMailbox(claim, status: .pending, error: nil)
                logger.info("window ended; mailbox released for the next run")
                return .windowEnded
            } catch let error as MailboxSourceError where error.isSourceWide {
                outage.record(error)
                try await store.releaseMailbox(claim, status: .pending, error: nil)
                return .sourceUnavailable(error)
            } catch let error as PipelineError where error.code == .leaseLost {
                logger.info("lease lost; another worker took the mailbox over")
            }
        }
    }
}

/// Everything a stage needs, for one claimed mailbox.
struct StageContext: Sendable {
    let runID: Int64
    let request: RunRequest
    let options: SnapshotOptions
    let claim: ClaimedMailbox
    let source: any MailboxSource
    let store: any SyncStoreConnection
    let logger: Logger
    let progress: (any StageProgressReporting)?
    /// Rows changed by the current stage in batches that record them here rather than in their transaction.
    let activity = TableActivityTally()

    var mailbox: MailboxOwner { claim.owner }
    var address: String { claim.owner.smtpAddress }

    /// Runs the mailbox's pending stages in order; a failed stage stops that folder's later stages.
    /// Returns the number of failed stages.
    func processMailbox() async throws -> Int {
        let stages = try await store.stages(runID: runID, mailbox: address)
        var failed = 0
        var failedKinds = Set<ItemKind>()
        var refusal: String?
        for stage in stages where !stage.status.isSettled {
            if let refusal {
                // The mailbox is refused as a whole: its other stages would meet the same answer.
                failed += 1
                try await store.finishStage(
                    runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage, status: .failed,
                    error: refusal)
                continue
            }
            if failedKinds.contains(stage.kind) { continue }
            if options.window.hasEnded(at: Date()) { throw WindowEnded() }
            var logger = self.logger
            logger[metadataKey: "stage.name"] = "\(stage.stage.rawValue)"
            logger[metadataKey: "item.kind"] = "\(stage.kind.rawValue)"
            let (cursor, resumed, attempt) = try await store.startStage(
                runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage)
            let started = ContinuousClock.now
            do {
                try await perform(
                    stage.stage, kind: stage.kind, cursor: cursor, resumed: resumed, attempt: attempt, logger: logger)
                try await store.finishStage(
                    runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage, status: .done, error: nil)
                logger.info(
                    "stage done", metadata: ["stage.seconds": "\((ContinuousClock.now - started).components.seconds)"])
            } catch let error as WindowEnded {
                throw error
            } catch let error as PipelineError where error.code == .leaseLost {
                throw error
            } catch let error as MailboxSourceError where error.isSourceWide {
                // Not the stage's fault: it stays where its last batch left it, like after a kill, for the next run.
                try await store.recordEvent(
                    runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage, event: "interrupted",
                    message: "Exchange: \(error.code); the stage resumes at its last committed batch", data: [:])
                logger.error(
                    "stage interrupted: Exchange unavailable or refusing", metadata: ["stage.error": "\(error)"])
                throw error
            } catch let error as MailboxSourceError where error.kind == .mailboxRefused {
                failed += 1
                refusal =
                    "\(MailboxSourceError.refusalPrefix) Exchange refuses mailbox \(address): \(error.code): \(error.message)"
                try await store.finishStage(
                    runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage, status: .failed,
                    error: refusal)
                logger.error(
                    "mailbox refused: its stages fail until the configuration is fixed",
                    metadata: ["stage.error": "\(error)"])
            } catch {
                failed += 1
                failedKinds.insert(stage.kind)
                try await store.finishStage(
                    runID: runID, mailbox: address, kind: stage.kind, stage: stage.stage, status: .failed,
                    error: "\(error)")
                logger.error("stage failed", metadata: ["stage.error": "\(error)"])
            }
            try await analyzeIfNeeded(after: stage.stage)
        }
        return failed
    }

    func perform(
        _ stage: SnapshotStage, kind: ItemKind, cursor: String?, resumed: Bool, attempt: Int, logger: Logger
    ) async throws {
        switch stage {
        case .baseline: try await baseline(kind, cursor: cursor)
        case .extract: try await extract(kind, cursor: cursor)
        case .match: try await match(kind)
        case .merge: try await merge(kind, firstAttempt: attempt == 1)
        case .reconcile: try await reconcile(kind, logger: logger)
        case .finalize: try await finalize(kind)
        case .push: try await push(kind, cursor: cursor, resumed: resumed)
        case .delete: try await deleteOrphans(kind, cursor: cursor)
        case .cleanCRM: try await cleanCRM(kind)
        case .cleanExchange: try await cleanExchange(kind)
        }
    }

    /// Commits a batch: its writes, then the stage checkpoint and a lease renewal in the same transaction. Losing the
    /// lease rolls the batch back.
    func commit(
        _ stage: SnapshotStage, kind: ItemKind, cursor: String?, total: Int64? = nil, _ writes: StageWrites
    ) async throws {
        let checkpoint = StageCheckpoint(kind: kind, stage: stage, cursor: cursor, total: total)
        guard let counts = try await store.commit(writes, checkpoint: checkpoint, claim: claim, lease: options.lease)
        else {
            throw PipelineError(.leaseLost, "mailbox \(address) was taken over by another worker")
        }
        activity.add(counts.changedRows)
    }

    func reportProgress(_ kind: ItemKind, _ stage: SnapshotStage) async throws {
        guard let progress else { return }
        let record = try await store.stages(runID: runID, mailbox: address)
            .first { $0.kind == kind && $0.stage == stage }
        if let record {
            progress.report(mailbox: address, kind: kind, stage: stage, done: record.items, total: record.total)
        }
    }

    func checkWindow() throws {
        if options.window.hasEnded(at: Date()) { throw WindowEnded() }
    }

    func analyzeIfNeeded(after stage: SnapshotStage) async throws {
        try await store.recordActivityAndAnalyze(
            activity.drain(), policy: options.analyzePolicy, runID: runID, mailbox: address,
            after: stage, logger: logger)
    }
}

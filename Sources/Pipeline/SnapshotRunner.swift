import Foundation
import Logging
import SyncCore
import SyncStore

/// Runs snapshot runs: opens (or resumes) the run in PostgreSQL, then lets workers claim its mailboxes and
/// carry out their stages, every batch committing its rows with its checkpoint.
public struct SnapshotRunner: Sendable {
    public let database: any SyncStoreDatabase
    public let source: any MailboxSource
    public let logger: Logger
    public let progress: (any StageProgressReporting)?

    public init(
        database: any SyncStoreDatabase, source: any MailboxSource, logger: Logger,
        progress: (any StageProgressReporting)? = nil
    ) {
        self.database = database
        self.source = source
        self.logger = logger
        self.progress = progress
    }

    /// A runner on the PostgreSQL database of `conninfo`.
    public init(
        conninfo: String, source: any MailboxSource, logger: Logger, progress: (any StageProgressReporting)? = nil
    ) {
        self.init(
            database: SyncDatabase(conninfo: conninfo, logger: logger), source: source, logger: logger,
            progress: progress)
    }

    /// Starts the run `options.request` describes, or resumes the unfinished run of the same command.
    public func run(_ options: SnapshotOptions) async throws -> SnapshotResult {
        let request = options.request
        let (run, resumed) = try await database.withConnection { store in
            let owners = try await store.mailboxOwners(request.mailboxes)
            if let wanted = request.mailboxes {
                let known = Set(owners.map { $0.smtpAddress.lowercased() })
                if let missing = wanted.first(where: { !known.contains($0) }) {
                    throw PipelineError(.unknownMailbox, "no CRM user has the mailbox \(missing)")
                }
            }
            return try await store.openRun(request, owners: owners)
        }
        return try await execute(runID: run.id, request: run.request, resumed: resumed, options: options)
    }

    /// Continues an unfinished run (the newest when `runID` is nil).
    public func resume(runID: Int64?, options: SnapshotOptions) async throws -> SnapshotResult {
        let found = try await database.withConnection { store in
            if let runID { try await store.run(runID) } else { try await store.latestUnfinishedRun() }
        }
        guard let run = found else {
            throw PipelineError(.unknownRun, runID.map { "no run \($0)" } ?? "no unfinished run to resume")
        }
        return try await execute(runID: run.id, request: run.request, resumed: true, options: options)
    }

    /// `snapsync rerun RUN --stage STAGE [--mailbox ADDR] [--kind K]... [--allow-mass-delete]`: sets the stage and the
    /// stages after it back to pending and carries them out, for `mailbox` only when given (no other mailbox of the
    /// run is touched, whatever state its stages are in) and the kinds given (all when nil). `allowMassDelete` is an
    /// approval for that mailbox and those kinds, so it needs a mailbox. `onReset` receives the number of stages reset.
    public func rerun(
        runID: Int64, stage: SnapshotStage, mailbox: String?, kinds: [ItemKind]? = nil, allowMassDelete: Bool,
        options: SnapshotOptions, onReset: @Sendable (Int) -> Void = { _ in }
    ) async throws -> SnapshotResult {
        let address = mailbox?.lowercased()
        if allowMassDelete && address == nil {
            throw PipelineError(.invalidRequest, "an approval to delete names the mailbox it approves: add --mailbox")
        }
        let approvedBy = options.request.requestedBy
        let (run, reset) = try await database.withConnection { store in
            guard let run = try await store.run(runID) else { throw PipelineError(.unknownRun, "no run \(runID)") }
            let reset = try await store.resetStages(runID: runID, mailbox: address, kinds: kinds, from: stage)
            if allowMassDelete, let address, reset > 0 {
                try await store.approveMassDelete(
                    runID: runID, mailboxes: [address], kinds: kinds ?? run.request.kinds, approvedBy: approvedBy)
                try await store.recordEvent(
                    runID: runID, mailbox: address, kind: nil, stage: stage, event: "mass-delete-approved",
                    message:
                        "mass deletion approved for \((kinds ?? run.request.kinds).map(\.rawValue).joined(separator: ", "))"
                        + " by \(approvedBy)", data: [:])
            }
            return (run, reset)
        }
        guard reset > 0 else {
            throw PipelineError(
                .unknownRun, "run \(runID) has no stage \(stage.rawValue)\(mailbox.map { " for \($0)" } ?? "")")
        }
        onReset(reset)
        return try await execute(runID: runID, request: run.request, resumed: true, options: options, only: address)
    }

    /// Carries the run out; with `only`, workers claim that mailbox of the run and no other.
    func execute(
        runID: Int64, request: RunRequest, resumed: Bool, options: SnapshotOptions,
        only mailbox: String? = nil
    ) async throws -> SnapshotResult {
        var logger = self.logger
        logger[metadataKey: "run.id"] = "\(runID)"
        logger.info(
            "snapshot run \(resumed ? "resumed" : "started")",
            metadata: [
                "run.direction": "\(request.direction.rawValue)",
                "run.kinds": "\(request.kinds.map(\.rawValue).joined(separator: ","))",
            ])
        try await releaseLeasesOfDeadProcesses(runID: runID, options: options, logger: logger)
        progress?.runStarted(runID: runID)
        let outage = SourceOutage()
        let stops = try await withThrowingTaskGroup(of: MailboxWorker.Stop.self) { group in
            for index in 0..<max(options.workers, 1) {
                let worker = MailboxWorker(
                    runID: runID, request: request, options: options, name: "\(options.workerName)#\(index)",
                    only: mailbox, source: source, logger: logger, progress: progress, outage: outage)
                group.addTask { try await database.withConnection { store in try await worker.run(store: store) } }
            }
            var stops: [MailboxWorker.Stop] = []
            for try await stop in group { stops.append(stop) }
            return stops
        }
        let windowEnded = stops.contains { if case .windowEnded = $0 { true } else { false } }
        let unavailable = stops.lazy.compactMap { stop -> MailboxSourceError? in
            if case .sourceUnavailable(let error) = stop { return error }
            return nil
        }.first
        let outcome = try await database.withConnection { [logger] store in
            if let unavailable {
                try await store.recordEvent(
                    runID: runID, mailbox: nil, kind: nil, stage: nil, event: "unavailable",
                    message:
                        "Exchange \(unavailable.code): the run stopped; the next run resumes at the last committed batch",
                    data: [:])
                logger.error(
                    "snapshot run stopped: Exchange unavailable or refusing; the run stays unfinished",
                    metadata: ["run.error": "\(unavailable)"])
                throw PipelineError(
                    .sourceUnavailable,
                    "run \(runID) stopped at its last committed batch and stays unfinished: \(unavailable)",
                    runID: runID, sourceError: unavailable)
            }
            // The ANALYZEs between stages were interim ones: full statistics for the CRM's own queries before the run ends.
            try await store.completeInterimStatistics(runID: runID, logger: logger)
            var status = try await store.finishRunIfDone(runID)
            if status == nil, let mailbox {
                // A rerun of one mailbox answers for that mailbox while others of the run are left pending.
                status = try await store.mailboxOutcome(runID: runID, mailbox: mailbox)
            }
            let outcome = SnapshotOutcome(status, windowEnded: windowEnded)
            if outcome == .windowEnded {
                try await store.recordEvent(
                    runID: runID, mailbox: nil, kind: nil, stage: nil, event: "window",
                    message: "the window ended; the next run resumes at the last committed batch", data: [:])
            }
            return outcome
        }
        if outcome == .completedWithErrors {
            logger.error("snapshot run ended with errors", metadata: ["run.outcome": "\(outcome.rawValue)"])
        } else {
            logger.info("snapshot run ended", metadata: ["run.outcome": "\(outcome.rawValue)"])
        }
        return SnapshotResult(runID: runID, resumed: resumed, outcome: outcome)
    }
}

extension SnapshotRunner {
    /// A run killed on this host left its mailboxes leased to a process that no longer exists: give them
    /// back at once instead of waiting for the leases to expire (processes on other hosts wait for expiry).
    func releaseLeasesOfDeadProcesses(runID: Int64, options: SnapshotOptions, logger: Logger) async throws {
        guard let host = options.workerName.split(separator: ":").first.map(String.init) else { return }
        try await database.withConnection { store in
            for lease in try await store.leasesOnHost(runID: runID, host: host)
            where lease.pid != ProcessInfo.processInfo.processIdentifier && kill(lease.pid, 0) != 0 && errno == ESRCH {
                try await store.releaseDeadLease(runID: runID, mailbox: lease.mailbox)
                logger.info(
                    "mailbox released from a process that died",
                    metadata: ["mailbox": "\(lease.mailbox)", "run.dead_pid": "\(lease.pid)"])
            }
        }
    }
}

/// Receives progress of the stages (a terminal line, log lines, metrics).
public protocol StageProgressReporting: Sendable {
    /// The run about to be carried out (a live display follows its progress in the database).
    func runStarted(runID: Int64)
    /// `done` items of `total` (when known) of a stage of a mailbox folder.
    func report(mailbox: String, kind: ItemKind, stage: SnapshotStage, done: Int64, total: Int64?)
}

extension StageProgressReporting {
    public func runStarted(runID: Int64) {}
}

import Foundation
import Logging
import SyncCore
import SyncStore

/// Bulk onboarding (`snapsync onboard`): carries out the rows of `sync.onboarding`. An activate row's mailbox
/// is tested in Exchange, linked to its CRM user, has its sync switched on (journaled) and, with a day window,
/// gets an initial inbound and outbound snapshot limited to it; the row is deleted on success. A failure
/// counts an attempt and keeps the reason; rows at the limit are skipped. A deactivate row switches the
/// mailbox's sync off (journaled).
public struct Onboarding: Sendable {
    public let database: any SyncStoreDatabase
    public let source: any MailboxSource
    public let logger: Logger
    /// Failed attempts after which a row is no longer retried.
    public var maxAttempts = 5
    /// The date range of the initial snapshot (nil: no initial snapshot).
    public var snapshotRange: SnapshotDateRange?
    /// When to stop (between rows, and inside an initial snapshot at a batch boundary); the next pass goes on.
    public var window: RunWindow = .unlimited
    /// Who the journal names.
    public var actor = "snapsync onboard"
    /// How the initial snapshots run.
    public var snapshotOptions: @Sendable (RunRequest) -> SnapshotOptions = { SnapshotOptions(request: $0) }

    public init(database: any SyncStoreDatabase, source: any MailboxSource, logger: Logger) {
        self.database = database
        self.source = source
        self.logger = logger
    }

    /// Onboarding on the PostgreSQL database of `conninfo`.
    public init(conninfo: String, source: any MailboxSource, logger: Logger) {
        self.init(database: SyncDatabase(conninfo: conninfo, logger: logger), source: source, logger: logger)
    }

    /// A row that failed or was skipped.
    public struct RowOutcome: Sendable, Hashable {
        public var mailbox: String
        /// Failed attempts so far.
        public var attempts: Int
        public var error: String?
    }

    /// What one pass did, per mailbox.
    public struct Report: Sendable, Hashable {
        public var activated: [String] = []
        public var deactivated: [String] = []
        /// Rows that failed this time (kept for a later run), with the reason.
        public var failed: [RowOutcome] = []
        /// Rows at the attempt limit, with their last reason.
        public var skipped: [RowOutcome] = []
        /// The window ended with rows left (they are carried out by the next pass).
        public var windowEnded = false
    }

    /// One pass over every row.
    public func run() async throws -> Report {
        try await database.withConnection { store in try await run(store: store) }
    }

    func run(store: any SyncStoreConnection) async throws -> Report {
        var report = Report()
        rows: for row in try await store.onboardingRows() {
            if window.hasEnded(at: Date()) {
                report.windowEnded = true
                break
            }
            switch OnboardingDecision.decide(row, maxAttempts: maxAttempts) {
            case .skip(let attempts, let error):
                report.skipped.append(RowOutcome(mailbox: row.mailbox, attempts: attempts, error: error))
                continue
            case .deactivate:
                try await store.setSyncEnabled(
                    false, mailbox: row.mailbox, actor: actor, note: SwitchTransition.deactivatedNote)
                try await store.deleteOnboardingRow(mailbox: row.mailbox)
                report.deactivated.append(row.mailbox)
            case .activate:
                do {
                    try await activate(row, store: store)
                    try await store.deleteOnboardingRow(mailbox: row.mailbox)
                    report.activated.append(row.mailbox)
                } catch is SnapshotWindowEnded {
                    report.windowEnded = true
                    break rows
                } catch let error
                    where error is OnboardingFailure || error is MailboxSourceError || error is PipelineError
                {
                    let reason = (error as? OnboardingFailure)?.reason ?? "\(error)"
                    try await store.recordOnboardingFailure(mailbox: row.mailbox, error: reason)
                    report.failed.append(RowOutcome(mailbox: row.mailbox, attempts: row.attempts + 1, error: reason))
                    logger.error(
                        "onboarding failed",
                        metadata: ["mailbox": "\(row.mailbox)", "onboarding.attempt": "\(row.attempts + 1)"])
                }
            }
        }
        return report
    }

    struct OnboardingFailure: Error { var reason: String }
    struct SnapshotWindowEnded: Error {}

    func activate(_ row: OnboardingRow, store: any SyncStoreConnection) async throws {
        let (user, holder) = try await store.onboardingUsers(login: row.userLogin, mailbox: row.mailbox)
        let userID: UUID
        let link = OnboardingDecision.link(mailbox: row.mailbox, login: row.userLogin, user: user, holder: holder)
        switch link {
        case .refuse(let reason): throw OnboardingFailure(reason: reason)
        case .setMailbox(let id), .alreadyLinked(let id): userID = id
        }
        let owner = MailboxOwner(smtpAddress: user?.mailbox ?? row.mailbox, userID: userID)
        do {
            _ = try await source.itemRefs(in: owner, kind: .appointments, after: nil, pageSize: 1)
        } catch {
            throw OnboardingFailure(reason: "the mailbox test failed: \(error)")
        }
        if case .setMailbox(let id) = link {
            guard try await store.setUserMailbox(row.mailbox, userID: id) else {
                throw OnboardingFailure(reason: "the CRM user \(row.userLogin) got another mailbox meanwhile")
            }
        }
        try await store.setSyncEnabled(true, mailbox: row.mailbox, actor: actor, note: "activated by bulk onboarding")
        guard let snapshotRange else { return }
        let runner = SnapshotRunner(database: database, source: source, logger: logger)
        for direction in [SnapshotDirection.inbound, .outbound] {
            let request = RunRequest(
                direction: direction, kinds: direction.supportedKinds, mailboxes: [owner.smtpAddress],
                dateRange: snapshotRange, requestedBy: actor)
            var options = snapshotOptions(request)
            options.window = window
            let result = try await runner.run(options)
            // resumed by the next pass, no attempt counted
            if result.outcome == .windowEnded { throw SnapshotWindowEnded() }
            guard result.outcome == .completed else {
                throw OnboardingFailure(
                    reason:
                        "the initial \(direction.rawValue) snapshot ended \(result.outcome.rawValue) (snapsync runs show \(result.runID))"
                )
            }
        }
    }
}

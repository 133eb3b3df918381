import Foundation
import Logging
import SyncCore
import SyncStore

extension ConflictPolicy {
    /// Parses `appointments=crm-wins,tasks=newest-wins` (kinds not named keep `newest-wins`).
    public static func perKind(_ text: String?) throws -> [ItemKind: ConflictPolicy] {
        var result: [ItemKind: ConflictPolicy] = [:]
        guard let text, !text.isEmpty else { return result }
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let kind = ItemKind(rawValue: pair[0]),
                let policy = ConflictPolicy(rawValue: pair[1])
            else {
                throw PipelineError(
                    .invalidRequest, "conflict policy '\(part)': expected KIND=crm-wins|exchange-wins|newest-wins")
            }
            result[kind] = policy
        }
        return result
    }
}

/// Settings of live sync.
public struct LiveSyncOptions: Sendable {
    public var batchSize = 100
    /// Permanent failures of an item before it is parked.
    public var permanentFailureLimit = 5
    /// Backoff base and cap for retries.
    public var retryBase: TimeInterval = 5
    public var retryCap: TimeInterval = 900
    public var lease: Duration = .seconds(300)
    public var conflictPolicies: [ItemKind: ConflictPolicy] = [:]
    public init() {}

    func policy(_ kind: ItemKind) -> ConflictPolicy { conflictPolicies[kind] ?? .newestWins }

    /// Exponential backoff with full jitter: base·2^attempts capped, times a random factor in 0.5...1.
    func backoff(attempts: Int, random: Double = Double.random(in: 0.5...1)) -> TimeInterval {
        min(retryCap, retryBase * pow(2, Double(min(attempts, 20)))) * random
    }
}

/// What one live-sync pass did.
public struct LiveSyncReport: Sendable, Hashable {
    public var delivered = 0
    public var retried = 0
    public var parked = 0
    public var pulled = 0
    public var conflicts = 0
    public var foldersNeedingSnapshot: [String] = []
    public var exchangeUnavailable = false
    /// Exchange refused the account or the endpoint is wrong: nothing is delivered until the configuration is fixed.
    public var exchangeRefused: MailboxSourceError?
}

/// Live sync between snapshots: delivers the outbox to Exchange and pulls Exchange changes per folder.
public struct LiveSync: Sendable {
    public let source: any MailboxSource
    public let logger: Logger
    public var options: LiveSyncOptions

    public init(source: any MailboxSource, logger: Logger, options: LiveSyncOptions = LiveSyncOptions()) {
        self.source = source
        self.logger = logger
        self.options = options
    }

    /// One pass: does nothing while sync is switched off (no change captured, Exchange not read).
    public func runOnce(store: any SyncStoreConnection) async throws -> LiveSyncReport {
        var report = LiveSyncReport()
        guard try await store.isSyncEnabled() else {
            logger.info("sync is switched off; nothing to do")
            return report
        }
        try await deliverOutbox(store: store, report: &report)
        // The deliveries it stopped are recorded (to retry); the configuration must be fixed before anything else.
        if let refused = report.exchangeRefused { throw refused }
        try await pullChanges(store: store, report: &report)
        return report
    }
}

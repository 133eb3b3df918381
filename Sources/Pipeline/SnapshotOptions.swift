import Foundation
import SyncCore
import SyncStore

/// How a snapshot run is carried out (what it does is its ``RunRequest``).
public struct SnapshotOptions: Sendable {
    public var request: RunRequest
    /// Mailboxes processed in parallel by this process.
    public var workers: Int = 4
    /// When to stop at a batch boundary (the next run resumes).
    public var window: RunWindow = .unlimited
    /// Items per FindItem page and CRM rows per keyset page.
    public var pageSize: Int = 1000
    /// Items per GetItem request when extracting.
    public var fetchBatchSize: Int = 250
    /// Items per CreateItem / UpdateItem / DeleteItem request.
    public var batchSize: Int = 100
    public var analyzePolicy = AnalyzePolicy()
    public var massDeleteGuard = MassDeleteGuard()
    /// How long a claimed mailbox stays ours without a renewal (a crashed worker's mailbox is taken over after it).
    public var lease: Duration = .seconds(300)
    /// Identifies this process in leases (host and pid by default).
    public var workerName: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"

    public init(request: RunRequest) { self.request = request }
}

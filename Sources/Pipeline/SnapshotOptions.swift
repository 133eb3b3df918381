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
    /// Whether an inbound snapshot writes the items no CRM row can claim straight into the CRM as it pages them
    /// (``InboundStore/load(_:runID:mailbox:kind:db:)``) instead of staging every item for the match and merge.
    /// Both ways write the same rows; staging everything is the slower way, kept to compare them.
    public var directLoad = true
    /// How long a claimed mailbox stays ours without a renewal (a crashed worker's mailbox is taken over after it).
    public var lease: Duration = .seconds(300)
    /// Identifies this process in leases (host and pid by default).
    public var workerName: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"

    public init(request: RunRequest) { self.request = request }
}

/// How a run ended, as the CLI maps it to an exit code.
public enum SnapshotOutcome: String, Sendable, Hashable {
    /// Everything done.
    case completed
    /// Done, but some items were quarantined or a mailbox failed (see `snapsync runs show`).
    case completedWithErrors = "completed_with_errors"
    /// The window ended with work left; the next run resumes.
    case windowEnded = "window_ended"
    /// Other processes still hold mailboxes of the run; it finishes when they do.
    case inProgressElsewhere = "in_progress_elsewhere"
}

/// The result of ``SnapshotRunner/run(_:)``.
public struct SnapshotResult: Sendable, Hashable {
    public var runID: Int64
    public var resumed: Bool
    public var outcome: SnapshotOutcome
}

/// Errors of the pipeline itself (PostgreSQL and mailbox errors keep their own types).
public struct PipelineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unknownMailbox = "unknown mailbox"
        case massDeleteRefused = "mass delete refused"
        case leaseLost = "lease lost"
        case unknownRun = "unknown run"
        case invalidRequest = "invalid request"
        /// The mailbox source is unavailable or refuses every call (``MailboxSourceError/isSourceWide``): the run
        /// stopped at its last committed batch and stays unfinished, to be resumed.
        case sourceUnavailable = "source unavailable"
    }
    public var code: Code
    public var message: String
    /// The run the error is about, if any.
    public var runID: Int64?
    /// The source's error behind `.sourceUnavailable`.
    public var sourceError: MailboxSourceError?
    public init(_ code: Code, _ message: String, runID: Int64? = nil, sourceError: MailboxSourceError? = nil) {
        self.code = code
        self.message = message
        self.runID = runID
        self.sourceError = sourceError
    }
    public var description: String { "\(code.rawValue): \(message)" }
}

/// Thrown inside a worker when the window ended: the mailbox goes back to pending.
struct WindowEnded: Error {}

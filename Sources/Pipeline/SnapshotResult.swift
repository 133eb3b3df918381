import SyncStore

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

    /// The outcome of a run (or of the one mailbox a rerun carried out) whose status is `status`, nil while
    /// unfinished: then the window ended, or other processes hold mailboxes of it.
    init(_ status: RunStatus?, windowEnded: Bool) {
        switch status {
        case .completed: self = .completed
        case .completedWithErrors: self = .completedWithErrors
        case .running, .failed, .cancelled, nil: self = windowEnded ? .windowEnded : .inProgressElsewhere
        }
    }
}

/// The result of ``SnapshotRunner/run(_:)``.
public struct SnapshotResult: Sendable, Hashable {
    public var runID: Int64
    public var resumed: Bool
    public var outcome: SnapshotOutcome
}

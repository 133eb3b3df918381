import SyncCore

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

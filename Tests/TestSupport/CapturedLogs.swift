import Logging
import Synchronization

/// Collects what a `Logger` logs, for tests asserting on log output (levels, messages, metadata).
public final class CapturedLogs: Sendable {
    /// One log call, metadata flattened to strings.
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The message and every metadata key and value, for "never contains" checks.
        public var fullText: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let captured = Mutex<[Entry]>([])

    public init() {}

    /// A logger at `.trace` that records into this capture.
    public func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    /// Everything logged so far.
    public var entries: [Entry] { captured.withLock { $0 } }

    func append(_ entry: Entry) { captured.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let capture: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let entry = Entry(
                level: event.level, message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" })
            capture.append(entry)
        }
    }
}

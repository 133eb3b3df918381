/// The Observability module's one error: what went wrong (``Code``) and the data needed to fix it (a metric or
/// label name, a line number, a file path and `errno`). It never carries log messages or metric values.
public struct ObservabilityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default` branch.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidMetricName, invalidLabelName, conflictingFamily, malformedMetricsText, io
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A metric family name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
        public static let invalidMetricName = Code(.invalidMetricName)
        /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*` or starts with the reserved `__`.
        public static let invalidLabelName = Code(.invalidLabelName)
        /// The same family appears twice with different types, or a sample repeats a label set.
        public static let conflictingFamily = Code(.conflictingFamily)
        /// A metrics text file does not follow the Prometheus text format (see ``ObservabilityError/line``).
        public static let malformedMetricsText = Code(.malformedMetricsText)
        /// Reading, writing or renaming the metrics file failed (see ``ObservabilityError/errno``).
        public static let io = Code(.io)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The offending metric or label name, or the file path for ``Code/io``.
    public var name: String?
    /// The 1-based line number for ``Code/malformedMetricsText``.
    public var line: Int?
    /// The C `errno` for ``Code/io``.
    public var errno: Int32?
    /// What the module was doing or which rule was broken.
    public var message: String?

    /// Creates an error.
    public init(code: Code, name: String? = nil, line: Int? = nil, errno: Int32? = nil, message: String? = nil) {
        self.code = code
        self.name = name
        self.line = line
        self.errno = errno
        self.message = message
    }

    public var description: String {
        var parts = ["ObservabilityError(\(code)"]
        if let name { parts.append("name: \(name)") }
        if let line { parts.append("line: \(line)") }
        if let errno { parts.append("errno: \(errno)") }
        if let message { parts.append(message) }
        return parts.joined(separator: ", ") + ")"
    }
}

/// One metric family of the Prometheus text exposition format: a name, its HELP text, its TYPE and its samples.
public struct MetricFamily: Sendable, Hashable {
    /// The family's TYPE.
    public enum Kind: String, Sendable, Hashable {
        /// Only goes up (resets to zero when the file is removed); names end in `_total`.
        case counter
        /// A value that can go up and down (durations of the last run, timestamps, exit codes).
        case gauge
        /// A family whose TYPE line is absent or not one of the above; kept as read.
        case untyped
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public var name: String
    /// One line of documentation.
    public var help: String
    /// The TYPE line.
    public var kind: Kind
    /// The family's samples, one per label set, in output order.
    public var samples: [MetricSample]

    /// Creates a family.
    public init(name: String, help: String, kind: Kind, samples: [MetricSample] = []) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }
}

/// One sample: a label set and a value.
public struct MetricSample: Sendable, Hashable {
    /// Label names and values in output order; names match `[a-zA-Z_][a-zA-Z0-9_]*`, values are any text.
    public var labels: [MetricLabel]
    /// The value (`+Inf`, `-Inf` and `NaN` are written as such).
    public var value: Double

    /// Creates a sample.
    public init(labels: [MetricLabel] = [], value: Double) {
        self.labels = labels
        self.value = value
    }

    /// Creates a sample from `(name, value)` pairs.
    public init(_ labels: KeyValuePairs<String, String>, value: Double) {
        self.labels = labels.map { MetricLabel(name: $0.key, value: $0.value) }
        self.value = value
    }

    /// Whether this sample has the same label set as `other`, regardless of order.
    public func hasSameLabels(as other: MetricSample) -> Bool {
        Set(labels) == Set(other.labels)
    }
}

/// A label of a sample.
public struct MetricLabel: Sendable, Hashable {
    /// The label name.
    public var name: String
    /// The label value, escaped when written.
    public var value: String

    /// Creates a label.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

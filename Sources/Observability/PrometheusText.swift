/// The Prometheus text exposition format (version 0.0.4), as read by node_exporter's textfile collector:
/// rendering with validation, and parsing (to merge with the previous file and to check output).
public enum PrometheusText {
    /// Whether `name` is a valid metric family name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":")
        else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    /// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`.
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__")
        else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// The text of `families`: per family a `# HELP` line, one `# TYPE` line and its samples; ends with a line
    /// break. Throws for an invalid metric or label name, a family given twice or a label set repeated.
    public static func render(_ families: [MetricFamily]) throws -> String {
        var seen = Set<String>()
        var text = ""
        for family in families {
            guard isValidMetricName(family.name) else {
                throw ObservabilityError(code: .invalidMetricName, name: family.name)
            }
            guard seen.insert(family.name).inserted else {
                throw ObservabilityError(code: .conflictingFamily, name: family.name, message: "family given twice")
            }
            text += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            text += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            var labelSets = Set<Set<MetricLabel>>()
            for sample in family.samples {
                guard labelSets.insert(Set(sample.labels)).inserted else {
                    throw ObservabilityError(code: .conflictingFamily, name: family.name, message: "label set repeated")
                }
                text += family.name
                if !sample.labels.isEmpty {
                    var names = Set<String>()
                    let rendered = try sample.labels.map { label in
                        guard isValidLabelName(label.name), names.insert(label.name).inserted else {
                            throw ObservabilityError(code: .invalidLabelName, name: label.name)
                        }
                        return "\(label.name)=\"\(escapeLabelValue(label.value))\""
                    }
                    text += "{" + rendered.joined(separator: ",") + "}"
                }
                text += " \(formatValue(sample.value))\n"
            }
        }
        return text
    }

    /// Label value escaping: backslash, double quote and line feed.
    public static func escapeLabelValue(_ value: String) -> String {
        escape(value, quotes: true)
    }

    /// HELP text escaping: backslash and line feed.
    public static func escapeHelp(_ help: String) -> String {
        escape(help, quotes: false)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\n" || (quotes && $0 == "\"") }) else { return text }
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\"" where quotes: result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }

    /// A sample value: integers without a fraction, `+Inf`, `-Inf`, `NaN`, otherwise the shortest exact decimal.
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension PrometheusText {
    /// Parses the text format back into families, in order of first appearance. Enforces: metric and label name
    /// charsets, label value escapes (`\\`, `\"`, `\n` only), at most one HELP and one TYPE per family, TYPE
    /// before the family's first sample, and no repeated label set. Sample timestamps are accepted and dropped.
    public static func parse(_ text: String) throws -> [MetricFamily] {
        var families: [MetricFamily] = []
        var index: [String: Int] = [:]
        var helpSeen = Set<String>()
        var typeSeen = Set<String>()

        func family(_ name: String, lineNumber: Int) throws -> Int {
            guard isValidMetricName(name) else {
                throw ObservabilityError(code: .invalidMetricName, name: name, line: lineNumber)
            }
            if let position = index[name] { return position }
            families.append(MetricFamily(name: name, help: "", kind: .untyped))
            index[name] = families.count - 1
            return families.count - 1
        }

        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let words = line.dropFirst().drop { $0 == " " }.split(
                    separator: " ", maxSplits: 2,
                    omittingEmptySubsequences: true)
                guard words.count >= 2, words[0] == "HELP" || words[0] == "TYPE" else { continue }  // a comment
                let name = String(words[1])
                let position = try family(name, lineNumber: lineNumber)
                let argument = words.count > 2 ? String(words[2]) : ""
                if words[0] == "HELP" {
                    guard helpSeen.insert(name).inserted else {
                        throw ObservabilityError(
                            code: .malformedMetricsText, name: name, line: lineNumber,
                            message: "second HELP line")
                    }
                    families[position].help = try unescape(argument, quotes: false, line: lineNumber)
                } else {
                    guard typeSeen.insert(name).inserted else {
                        throw ObservabilityError(
                            code: .malformedMetricsText, name: name, line: lineNumber,
                            message: "second TYPE line")
                    }
                    guard families[position].samples.isEmpty else {
                        throw ObservabilityError(
                            code: .malformedMetricsText, name: name, line: lineNumber,
                            message: "TYPE after samples")
                    }
                    switch argument {
                    case "counter": families[position].kind = .counter
                    case "gauge": families[position].kind = .gauge
                    case "untyped", "histogram", "summary": families[position].kind = .untyped
                    default:
                        throw ObservabilityError(
                            code: .malformedMetricsText, name: name, line: lineNumber,
                            message: "unknown TYPE")
                    }
                }
                continue
            }
            let (name, sample) = try parseSample(line, line: lineNumber)
            let position = try family(name, lineNumber: lineNumber)
            guard !families[position].samples.contains(where: { $0.hasSameLabels(as: sample) }) else {
                throw ObservabilityError(
                    code: .conflictingFamily, name: name, line: lineNumber,
                    message: "label set repeated")
            }
            families[position].samples.append(sample)
        }
        return families
    }

    private static func parseSample(_ line: Substring, line lineNumber: Int) throws -> (String, MetricSample) {
        func malformed(_ message: String) -> ObservabilityError {
            ObservabilityError(code: .malformedMetricsText, line: lineNumber, message: message)
        }
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " || $0 == "\t" } ?? line.endIndex
        let name = String(line[..<nameEnd])
        var rest = line[nameEnd...]
        var labels: [MetricLabel] = []
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " }
                if rest.first == "}" { rest = rest.dropFirst(); break }
                guard let equals = rest.firstIndex(of: "=") else { throw malformed("label without '='") }
                let labelName = String(rest[..<equals]).trimmingSpaces()
                guard isValidLabelName(labelName) else {
                    throw ObservabilityError(code: .invalidLabelName, name: labelName, line: lineNumber)
                }
                guard !labels.contains(where: { $0.name == labelName }) else { throw malformed("label repeated") }
                rest = rest[rest.index(after: equals)...].drop { $0 == " " }
                guard rest.first == "\"" else { throw malformed("label value not quoted") }
                rest = rest.dropFirst()
                var raw = ""
                var escaped = false
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped { raw.append("\\"); raw.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { closed = true; break }
                    raw.append(character)
                }
                guard closed else { throw malformed("unterminated label value") }
                labels.append(MetricLabel(name: labelName, value: try unescape(raw, quotes: true, line: lineNumber)))
                rest = rest.drop { $0 == " " }
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw malformed("expected ',' or '}' after a label")
                }
            }
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 1 || fields.count == 2 else {
            throw malformed("expected a value and an optional timestamp")
        }
        guard let value = parseValue(fields[0]) else { throw malformed("value is not a number") }
        if fields.count == 2, Int64(fields[1]) == nil { throw malformed("timestamp is not an integer") }
        return (name, MetricSample(labels: labels, value: value))
    }

    private static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }

    /// Undoes ``escapeLabelValue(_:)`` (`quotes: true`) or ``escapeHelp(_:)``; any other escape is an error.
    private static func unescape(_ text: String, quotes: Bool, line: Int) throws -> String {
        guard text.contains("\\") else { return text }
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "\"" where quotes: result.append("\"")
                default:
                    throw ObservabilityError(code: .malformedMetricsText, line: line, message: "unknown escape")
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        if escaped { throw ObservabilityError(code: .malformedMetricsText, line: line, message: "dangling backslash") }
        return result
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

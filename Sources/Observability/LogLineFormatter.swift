import Logging

/// One event as a line of text or JSON. Metadata is already redacted.
struct LogLineFormatter {
    /// Keys written first (in this order) in text lines, so run, stage and mailbox line up.
    static let leadingKeys = ["run.id", "run.kind", "stage.name", "mailbox"]
    /// Top-level JSON keys of every line; a metadata key equal to one of these is written as `metadata.<key>`.
    static let reservedKeys: Set<String> = ["timestamp", "level", "label", "message", "source"]

    var timestamp: String
    var level: Logger.Level
    var label: String
    var message: String
    var source: String
    var metadata: Logger.Metadata

    /// Metadata keys in line order: ``leadingKeys`` first, then the rest sorted.
    private var orderedKeys: [String] {
        let leading = Self.leadingKeys.filter { metadata[$0] != nil }
        let rest = metadata.keys.filter { !Self.leadingKeys.contains($0) }.sorted()
        return leading + rest
    }

    // MARK: Text

    /// `2026-11-25T12:11:53.123Z info snapsync: message run.id=7 stage.name=contacts mailbox=a@example.com`.
    func text() -> String {
        var line = "\(timestamp) \(level.rawValue) \(label): \(Self.escapeControlCharacters(message))"
        for key in orderedKeys {
            line += " \(key)=\(Self.textValue(metadata[key]!))"
        }
        return line
    }

    private static func textValue(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quotedIfNeeded(text)
        case .stringConvertible(let convertible): quotedIfNeeded(convertible.description)
        case .array(let values): "[" + values.map(textValue).joined(separator: ", ") + "]"
        case .dictionary(let nested):
            "{" + nested.keys.sorted().map { "\($0)=\(textValue(nested[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    private static func quotedIfNeeded(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0.isWhitespace || $0 == "\"" || $0 == "=" || $0 == "\\" }
        guard needsQuotes else { return text }
        return "\"" + jsonEscaped(text) + "\""
    }

    private static func escapeControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return text }
        return text.unicodeScalars.map { $0.value < 0x20 ? jsonEscaped(String($0)) : String($0) }.joined()
    }

    // MARK: JSON

    /// `{"timestamp":"…","level":"info","label":"snapsync","message":"…","source":"Pipeline","run.id":"7",…}`.
    func json() -> String {
        var line = "{\"timestamp\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\""
        line += ",\"label\":" + Self.jsonString(label)
        line += ",\"message\":" + Self.jsonString(message)
        line += ",\"source\":" + Self.jsonString(source)
        for key in orderedKeys {
            let name = Self.reservedKeys.contains(key) ? "metadata." + key : key
            line += "," + Self.jsonString(name) + ":" + Self.jsonValue(metadata[key]!)
        }
        return line + "}"
    }

    private static func jsonValue(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return jsonString(text)
        case .stringConvertible(let convertible):
            if convertible is any BinaryInteger || convertible is Bool {
                return convertible.description
            }
            if let number = convertible as? any BinaryFloatingPoint {
                let double = Double(number)
                return double.isFinite ? "\(double)" : jsonString("\(double)")
            }
            return jsonString(convertible.description)
        case .array(let values): return "[" + values.map(jsonValue).joined(separator: ",") + "]"
        case .dictionary(let nested):
            return "{"
                + nested.keys.sorted().map { jsonString($0) + ":" + jsonValue(nested[$0]!) }
                .joined(separator: ",") + "}"
        }
    }

    static func jsonString(_ text: String) -> String {
        "\"" + jsonEscaped(text) + "\""
    }

    /// JSON string escaping (RFC 8259): quote, backslash and control characters; everything else as UTF-8.
    static func jsonEscaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

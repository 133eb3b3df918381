/// Writes XML into a byte buffer: escapes text and attribute values and drops characters that XML 1.0
/// does not allow (control characters other than tab, LF and CR; U+FFFE and U+FFFF), so any Swift
/// String yields a well-formed document.
///
/// Names are written as given (`"t:Subject"`); the caller declares namespaces with ordinary
/// `xmlns:` attributes.
public struct XMLWriter: Sendable {
    /// The document written so far (UTF-8).
    public private(set) var bytes: [UInt8]
    private var open: [String] = []
    private var startTagOpen = false

    /// Creates a writer; with `declaration` the document starts with `<?xml version="1.0" encoding="utf-8"?>`.
    public init(declaration: Bool = true, reservingCapacity capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
        if declaration { append("<?xml version=\"1.0\" encoding=\"utf-8\"?>") }
    }

    /// Opens an element with attributes (written in the given order).
    public mutating func startElement(_ name: String, attributes: KeyValuePairs<String, String> = [:]) {
        closeStartTag()
        bytes.append(UInt8(ascii: "<"))
        append(name)
        startTagOpen = true
        open.append(name)
        for (key, value) in attributes { attribute(key, value) }
    }

    /// Adds an attribute to the element just opened (before any content).
    public mutating func attribute(_ name: String, _ value: String) {
        precondition(startTagOpen, "XMLWriter.attribute outside a start tag")
        bytes.append(UInt8(ascii: " "))
        append(name)
        append("=\"")
        escape(value, inAttribute: true)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Closes the innermost open element (as `<x/>` when it has no content).
    public mutating func endElement() {
        guard let name = open.popLast() else { preconditionFailure("XMLWriter.endElement with no open element") }
        if startTagOpen {
            append("/>")
            startTagOpen = false
            return
        }
        append("</")
        append(name)
        bytes.append(UInt8(ascii: ">"))
    }

    /// Writes escaped character data into the current element.
    public mutating func text(_ value: String) {
        closeStartTag()
        escape(value, inAttribute: false)
    }

    /// Writes `<name attributes>text</name>`.
    public mutating func element(_ name: String, attributes: KeyValuePairs<String, String> = [:], text value: String) {
        startElement(name, attributes: attributes)
        text(value)
        endElement()
    }

    /// Writes an element with content produced by `body`.
    public mutating func element(_ name: String, attributes: KeyValuePairs<String, String> = [:], _ body: (inout XMLWriter) -> Void) {
        startElement(name, attributes: attributes)
        body(&self)
        endElement()
    }

    /// Writes pre-serialized, trusted markup as is (for fragments produced by another XMLWriter).
    public mutating func raw(_ markup: [UInt8]) {
        closeStartTag()
        bytes.append(contentsOf: markup)
    }

    /// The document as a String (for diagnostics and tests).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// True when every element opened has been closed.
    public var isComplete: Bool { open.isEmpty }

    /// True when `scalar` may appear in an XML 1.0 document.
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    private mutating func closeStartTag() {
        if startTagOpen {
            bytes.append(UInt8(ascii: ">"))
            startTagOpen = false
        }
    }

    private mutating func append(_ string: String) {
        bytes.append(contentsOf: string.utf8)
    }

    private mutating func escape(_ value: String, inAttribute: Bool) {
        // Fast path: plain ASCII text needing no escaping is copied as is.
        var plain = true
        for byte in value.utf8 {
            if byte < 0x20 || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
                || byte == UInt8(ascii: "\"") || byte >= 0xEF {
                plain = false
                break
            }
        }
        if plain {
            bytes.append(contentsOf: value.utf8)
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "<": append("&lt;")
            case ">": append("&gt;")
            case "&": append("&amp;")
            case "\"" where inAttribute: append("&quot;")
            case "\r": append("&#xD;")
            case "\n" where inAttribute: append("&#xA;")
            case "\t" where inAttribute: append("&#x9;")
            default:
                if XMLWriter.isAllowed(scalar) {
                    UTF8.encode(scalar) { bytes.append($0) }
                }
            }
        }
    }
}

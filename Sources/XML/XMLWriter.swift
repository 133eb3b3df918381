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
    public mutating func element(
        _ name: String, attributes: KeyValuePairs<String, String> = [:], _ body: (inout XMLWriter) -> Void
    ) {
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

    private mutating func closeStartTag() {
        if startTagOpen {
            bytes.append(UInt8(ascii: ">"))
            startTagOpen = false
        }
    }

    private mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }  // a buffer copy; appending the UTF8View went byte by byte
    }

    /// Copies `value` escaped. Runs of bytes that need no escaping (all of most values, such as item ids) are copied
    /// whole; escaping scalar by scalar took a twentieth of snapsync's time in an inbound snapshot writing GetItem ids.
    private mutating func escape(_ value: String, inAttribute: Bool) {
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                // Bytes that may need work: markup characters, control characters, and the lead byte 0xEF of
                // U+FFFE and U+FFFF (the characters XML 1.0 excludes above the control range).
                guard
                    byte < 0x20 || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
                        || byte == UInt8(ascii: "\"") || byte == 0xEF
                else {
                    index += 1
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                switch byte {
                case UInt8(ascii: "<"): append("&lt;")
                case UInt8(ascii: ">"): append("&gt;")
                case UInt8(ascii: "&"): append("&amp;")
                case UInt8(ascii: "\""): if inAttribute { append("&quot;") } else { bytes.append(byte) }
                case 0x0D: append("&#xD;")
                case 0x0A: if inAttribute { append("&#xA;") } else { bytes.append(byte) }
                case 0x09: if inAttribute { append("&#x9;") } else { bytes.append(byte) }
                case 0xEF:
                    // U+FFFE and U+FFFF are EF BF BE and EF BF BF; other characters starting with EF are kept.
                    if index + 2 < utf8.count, utf8[index + 1] == 0xBF, utf8[index + 2] >= 0xBE {
                        index += 2
                    } else {
                        bytes.append(byte)
                    }
                default: break  // other control characters are not allowed in XML 1.0
                }
                index += 1
                start = index
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }
}

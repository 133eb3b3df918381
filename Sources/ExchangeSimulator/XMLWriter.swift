/// A fast append-only XML writer into a byte buffer with correct escaping. Characters that XML 1.0
/// cannot carry (control characters other than tab, LF, CR; lone surrogates cannot occur in Swift strings)
/// are dropped, as Exchange does when it serialises.
struct XMLWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }  // a buffer copy; appending the UTF8View went byte by byte
    }
    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Escaped character data.
    mutating func text(_ s: String) { escape(s, attribute: false) }

    /// Escaped attribute value (without quotes).
    mutating func attrValue(_ s: String) { escape(s, attribute: true) }

    /// Copies `s` escaped: the runs between the bytes that need it are copied whole (most values have none, and
    /// a byte at a time was a sixth of the simulator's time serving GetItem).
    private mutating func escape(_ s: String, attribute: Bool) {
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for (index, b) in utf8.enumerated()
            where b < 0x20 || b == UInt8(ascii: "&") || b == UInt8(ascii: "<")
                || b == UInt8(ascii: ">") || (attribute && b == UInt8(ascii: "\""))
            {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                switch b {
                case UInt8(ascii: "&"): raw("&amp;")
                case UInt8(ascii: "<"): raw("&lt;")
                case UInt8(ascii: ">"): raw("&gt;")
                case UInt8(ascii: "\""): raw("&quot;")
                case 0x09, 0x0A, 0x0D:
                    if attribute { raw(b == 0x09 ? "&#9;" : b == 0x0A ? "&#10;" : "&#13;") } else { bytes.append(b) }
                default: continue  // other control characters are not allowed in XML 1.0
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }

    /// `<prefix:name a="v">` .
    mutating func open(_ qname: String, _ attrs: [(String, String)] = []) {
        bytes.append(UInt8(ascii: "<")); raw(qname)
        attributes(attrs)
        bytes.append(UInt8(ascii: ">"))
    }

    private mutating func attributes(_ attrs: [(String, String)]) {
        for (k, v) in attrs { bytes.append(0x20); raw(k); raw("=\""); attrValue(v); bytes.append(UInt8(ascii: "\"")) }
    }

    mutating func close(_ qname: String) { raw("</"); raw(qname); bytes.append(UInt8(ascii: ">")) }

    mutating func empty(_ qname: String, _ attrs: [(String, String)] = []) {
        bytes.append(UInt8(ascii: "<")); raw(qname)
        attributes(attrs)
        raw("/>")
    }

    /// `<qname>escaped text</qname>`.
    mutating func leaf(_ qname: String, _ value: String) { open(qname); text(value); close(qname) }

    /// Writes a stored element tree, using prefix `t:` for the types namespace and `m:` for messages.
    mutating func element(_ e: XElement) {
        let prefix: StaticString = e.ns == NS.messages ? "m:" : "t:"
        bytes.append(UInt8(ascii: "<")); raw(prefix); raw(e.name)
        attributes(e.attributes)
        if e.children.isEmpty && e.text.isEmpty { raw("/>"); return }
        bytes.append(UInt8(ascii: ">"))
        if e.children.isEmpty { text(e.text) } else { for c in e.children { element(c) } }
        raw("</"); raw(prefix); raw(e.name); bytes.append(UInt8(ascii: ">"))
    }
}

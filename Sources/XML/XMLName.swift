/// An element or attribute name as libxml2 reports it: pointers into the parser's name dictionary,
/// valid only during the callback that received them. Compare without building Strings.
public struct XMLName {
    /// The NUL-terminated local name.
    public let localName: UnsafePointer<UInt8>
    /// The NUL-terminated namespace URI, nil when the name is in no namespace.
    public let namespaceURI: UnsafePointer<UInt8>?

    /// Creates a name from libxml2 pointers (valid for the callback only).
    public init(localName: UnsafePointer<UInt8>, namespaceURI: UnsafePointer<UInt8>?) {
        self.localName = localName
        self.namespaceURI = namespaceURI
    }

    /// True when the local name equals `name` (byte comparison, no allocation).
    @inlinable
    public func hasLocalName(_ name: StaticString) -> Bool {
        XMLName.equal(localName, name)
    }

    /// True when the namespace URI equals `uri` (byte comparison, no allocation).
    @inlinable
    public func isIn(namespace uri: StaticString) -> Bool {
        guard let ns = namespaceURI else { return false }
        return XMLName.equal(ns, uri)
    }

    /// True when both local name and namespace match.
    @inlinable
    public func matches(_ name: StaticString, namespace uri: StaticString) -> Bool {
        hasLocalName(name) && isIn(namespace: uri)
    }

    /// The local name as a String (allocates; for diagnostics and rare paths).
    public var localNameString: String { String(cString: localName) }

    /// The namespace URI as a String, nil when in no namespace.
    public var namespaceString: String? { namespaceURI.map { String(cString: $0) } }

    @inlinable
    static func equal(_ cString: UnsafePointer<UInt8>, _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        let expected = name.utf8Start
        for i in 0..<count where cString[i] != expected[i] { return false }
        return cString[count] == 0
    }
}

/// The attributes of one start tag (valid during the callback only), read without allocation until
/// a value is asked for.
public struct XMLAttributes {
    // libxml2 layout: for each attribute 5 pointers: localname, prefix, URI, value begin, value end.
    @usableFromInline let base: UnsafeMutablePointer<UnsafePointer<UInt8>?>?
    /// The number of attributes.
    public let count: Int

    /// Wraps libxml2's attribute array.
    public init(base: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int) {
        self.base = base
        self.count = count
    }

    /// The bytes of the value of the attribute with that local name (any namespace), or nil.
    /// References are resolved (libxml2 leaves `&amp;` as `&#38;` in attribute values without entity
    /// substitution, which stays off for XXE safety; such values are decoded here).
    @inlinable
    public func withValue<R>(_ localName: StaticString, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard let base else { return nil }
        for i in 0..<count {
            let entry = base + i * 5
            guard let name = entry[0], XMLName.equal(name, localName),
                let begin = entry[3], let end = entry[4]
            else { continue }
            return XMLAttributes.withResolvedValue(UnsafeBufferPointer(start: begin, count: end - begin), body)
        }
        return nil
    }

    /// Calls `body` with the value bytes, references resolved (copied only when the value has one).
    @usableFromInline
    static func withResolvedValue<R>(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
    {
        if !raw.contains(UInt8(ascii: "&")) { return body(raw) }
        return resolvingReferences(raw).withUnsafeBufferPointer(body)
    }

    @usableFromInline
    static func resolvingReferences(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            guard raw[i] == UInt8(ascii: "&"), let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")) else {
                out.append(raw[i]); i += 1; continue
            }
            let reference = String(decoding: UnsafeBufferPointer(rebasing: raw[(i + 1)..<semicolon]), as: UTF8.self)
            var scalar: Unicode.Scalar?
            switch reference {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if reference.hasPrefix("#x") {
                    scalar = UInt32(reference.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if reference.hasPrefix("#") {
                    scalar = UInt32(reference.dropFirst()).flatMap(Unicode.Scalar.init)
                }
            }
            guard let scalar else { out.append(raw[i]); i += 1; continue }
            UTF8.encode(scalar) { out.append($0) }
            i = semicolon + 1
        }
        return out
    }

    /// The value of the attribute with that local name (any namespace) as a String, or nil.
    public func value(_ localName: StaticString) -> String? {
        withValue(localName) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every attribute as (local name, value), references resolved, in document order.
    public var all: [(localName: String, value: String)] {
        guard let base else { return [] }
        var result: [(localName: String, value: String)] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            let entry = base + i * 5
            guard let name = entry[0], let begin = entry[3], let end = entry[4] else { continue }
            let value = XMLAttributes.withResolvedValue(UnsafeBufferPointer(start: begin, count: end - begin)) {
                String(decoding: $0, as: UTF8.self)
            }
            result.append((String(cString: name), value))
        }
        return result
    }
}

/// Resolves element names to a caller's tag enum by byte comparison, caching by the parser's interned
/// name pointer so that the common case is one pointer lookup plus one short compare.
public struct XMLNameTable<Tag: Sendable>: @unchecked Sendable {
    @usableFromInline let entries: [(name: [UInt8], tag: Tag)]
    @usableFromInline var cache: [UnsafeRawPointer: Int] = [:]

    /// Creates a table from local names and their tags.
    public init(_ names: [(String, Tag)]) {
        entries = names.map { (Array($0.0.utf8), $0.1) }
    }

    /// The tag of `localName`, or nil when the name is not in the table.
    @inlinable
    public mutating func lookup(_ localName: UnsafePointer<UInt8>) -> Tag? {
        let key = UnsafeRawPointer(localName)
        if let index = cache[key] {
            // The pointer may have been reused by another parse: confirm the bytes.
            if index >= 0, matches(localName, entries[index].name) { return entries[index].tag }
            if index < 0, !entries.contains(where: { matches(localName, $0.name) }) { return nil }
        }
        let found = entries.firstIndex { matches(localName, $0.name) } ?? -1
        if cache.count > 4096 { cache.removeAll(keepingCapacity: true) }
        cache[key] = found
        return found >= 0 ? entries[found].tag : nil
    }

    @inlinable
    func matches(_ cString: UnsafePointer<UInt8>, _ name: [UInt8]) -> Bool {
        for i in 0..<name.count where cString[i] != name[i] { return false }
        return cString[name.count] == 0
    }
}

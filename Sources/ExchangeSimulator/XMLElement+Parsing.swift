import Foundation
import XML

/// Namespace URIs used by EWS.
enum NS {
    static let soap = "http://schemas.xmlsoap.org/soap/envelope/"
    static let types = "http://schemas.microsoft.com/exchange/services/2006/types"
    static let messages = "http://schemas.microsoft.com/exchange/services/2006/messages"
    static let errors = "http://schemas.microsoft.com/exchange/services/2006/errors"
}

/// A small namespace-aware element tree: requests are small, so the simulator parses them whole.
/// Stored item fields are kept in this form too (always in the EWS types namespace).
struct XElement: Sendable, Equatable {
    var name: String
    var ns: String
    var attributes: [(String, String)]
    var children: [XElement]
    var text: String

    init(
        _ name: String, ns: String = NS.types, attributes: [(String, String)] = [], children: [XElement] = [],
        text: String = ""
    ) {
        self.name = name; self.ns = ns; self.attributes = attributes; self.children = children; self.text = text
    }

    static func == (a: XElement, b: XElement) -> Bool {
        a.name == b.name && a.ns == b.ns && a.text == b.text && a.children == b.children
            && a.attributes.count == b.attributes.count
            && zip(a.attributes, b.attributes).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// The value of attribute `name` (unqualified).
    func attr(_ name: String) -> String? { attributes.first { $0.0 == name }?.1 }

    /// The first child with local name `name`.
    func child(_ name: String) -> XElement? { children.first { $0.name == name } }

    /// All children with local name `name`.
    func all(_ name: String) -> [XElement] { children.filter { $0.name == name } }

    /// Follows a path of local names.
    func path(_ names: String...) -> XElement? {
        var cur: XElement? = self
        for n in names { cur = cur?.child(n) }
        return cur
    }

    /// Trimmed text of this element.
    var value: String { text.trimmedOfWhitespace }

    mutating func setAttr(_ name: String, _ value: String) {
        if let i = attributes.firstIndex(where: { $0.0 == name }) {
            attributes[i].1 = value
        } else {
            attributes.append((name, value))
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines. Nearly every value has none, and those
    /// are returned as they are: Foundation's `trimmingCharacters(in:)` copies through NSString on Linux and was
    /// a seventh of the simulator's CPU time in an outbound snapshot.
    var trimmedOfWhitespace: String {
        // Printable ASCII at both ends (nearly every value) needs no look at Foundation's character set.
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return self
        }
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        let space = CharacterSet.whitespacesAndNewlines
        guard space.contains(first) || space.contains(last) else { return self }
        return trimmingCharacters(in: space)
    }
}

/// Parses a whole document into an `XElement` tree with libxml2's SAX parser (the `XML` module: namespaces on,
/// no DTD or external entity ever loaded). The tree and everything the simulator reads from it are its own: only
/// the tokenizer is shared with the client. FoundationXML, used before, took a quarter of the simulator's CPU time
/// in an outbound snapshot.
enum XMLTreeParser {
    struct Failure: Error { var message: String }

    static func parse(_ data: Data) throws -> XElement {
        let builder = Builder()
        do {
            try XMLStreamParser.parse([UInt8](data), handler: builder)
        } catch {
            throw Failure(message: error.message)
        }
        guard let root = builder.root else { throw Failure(message: "empty document") }
        return root
    }

    private final class Builder: XMLEventHandler {
        /// The open elements, each with the bytes of its text so far.
        var stack: [(element: XElement, text: [UInt8])] = []
        var root: XElement?
        /// Names and namespace URIs made into Strings once per parse: libxml2 hands every occurrence of a name as the
        /// same pointer into its dictionary, which lives as long as the parse (this builder).
        var strings: [UnsafeRawPointer: String] = [:]

        func string(_ pointer: UnsafePointer<UInt8>) -> String {
            if let known = strings[UnsafeRawPointer(pointer)] { return known }
            let made = String(cString: pointer)
            strings[UnsafeRawPointer(pointer)] = made
            return made
        }

        func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
            var attrs = attributes.all.map { ($0.localName, $0.value) }
            attrs.sort { $0.0 < $1.0 }
            stack.append(
                (XElement(string(name.localName), ns: name.namespaceURI.map(string) ?? "", attributes: attrs), []))
        }

        func endElement(_ name: XMLName) throws {
            guard let (element, bytes) = stack.popLast() else { return }
            var done = element
            done.text = String(decoding: bytes, as: UTF8.self)
            if !done.children.isEmpty && done.text.allSatisfy({ $0.isWhitespace }) { done.text = "" }
            if stack.isEmpty { root = done } else { stack[stack.count - 1].element.children.append(done) }
        }

        func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text.append(contentsOf: bytes)
        }
    }
}

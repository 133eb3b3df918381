import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

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

    init(_ name: String, ns: String = NS.types, attributes: [(String, String)] = [], children: [XElement] = [], text: String = "") {
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
        if let i = attributes.firstIndex(where: { $0.0 == name }) { attributes[i].1 = value } else { attributes.append((name, value)) }
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines. Nearly every value has none, and those
    /// are returned as they are: Foundation's `trimmingCharacters(in:)` copies through NSString on Linux and was
    /// a seventh of the simulator's CPU time in an outbound snapshot.
    var trimmedOfWhitespace: String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        let space = CharacterSet.whitespacesAndNewlines
        guard space.contains(first) || space.contains(last) else { return self }
        return trimmingCharacters(in: space)
    }
}

/// Parses a whole document into an `XElement` tree with FoundationXML (namespace processing on,
/// external entities off). Kept independent of the client's libxml2 decoder on purpose.
enum XMLTreeParser {
    struct Failure: Error { var message: String }

    static func parse(_ data: Data) throws -> XElement {
        let delegate = Builder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        if !parser.parse() || delegate.failed {
            throw Failure(message: parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML")
        }
        guard let root = delegate.root else { throw Failure(message: "empty document") }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XElement] = []
        var root: XElement?
        var failed = false

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            var attrs: [(String, String)] = []
            attrs.reserveCapacity(attributeDict.count)
            for (k, v) in attributeDict where !k.hasPrefix("xmlns") {
                let local = k.split(separator: ":").last.map(String.init) ?? k
                attrs.append((local, v))
            }
            attrs.sort { $0.0 < $1.0 }
            stack.append(XElement(elementName, ns: namespaceURI ?? "", attributes: attrs))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard var done = stack.popLast() else { failed = true; return }
            if !done.children.isEmpty && done.text.allSatisfy({ $0.isWhitespace }) { done.text = "" }
            if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { failed = true }
    }
}

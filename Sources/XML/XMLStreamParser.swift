import CLibXML2

/// A streaming, namespace-aware SAX2 parser over libxml2's push parser.
///
/// Feed the document in chunks with ``feed(_:)`` and end it with ``finish()``, or parse one buffer with
/// ``parse(_:handler:)``. The parser is XXE-safe: a DOCTYPE is refused (so no entity can be declared),
/// no DTD or external entity is ever loaded and network access is off (`XML_PARSE_NONET`).
/// Not thread-safe: one parser belongs to one task.
public final class XMLStreamParser {
    private let handler: any XMLEventHandler
    private var context: xmlParserCtxtPtr?
    private var saxHandler = xmlSAXHandler()
    private var failure: XMLError?
    private var depth = 0
    private var rootClosed = false
    private var finished = false

    /// Creates a parser that reports events to `handler` (held strongly for the parser's lifetime).
    public init(handler: any XMLEventHandler) {
        self.handler = handler
        saxHandler.initialized = UInt32(XML_SAX2_MAGIC)
        saxHandler.startElementNs = { context, localName, _, uri, _, _, attributeCount, _, attributes in
            guard let context, let localName else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(context).takeUnretainedValue()
            parser.depth += 1
            let name = XMLName(localName: localName, namespaceURI: uri)
            parser.call {
                try $0.startElement(name, attributes: XMLAttributes(base: attributes, count: Int(attributeCount)))
            }
        }
        saxHandler.endElementNs = { context, localName, _, uri in
            guard let context, let localName else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(context).takeUnretainedValue()
            parser.depth -= 1
            if parser.depth == 0 { parser.rootClosed = true }
            parser.call { try $0.endElement(XMLName(localName: localName, namespaceURI: uri)) }
        }
        let characters: charactersSAXFunc = { context, bytes, length in
            guard let context, let bytes, length > 0 else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(context).takeUnretainedValue()
            parser.call { try $0.characters(UnsafeBufferPointer(start: bytes, count: Int(length))) }
        }
        saxHandler.characters = characters
        saxHandler.cdataBlock = characters
        saxHandler.internalSubset = { context, _, _, _ in
            guard let context else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(context).takeUnretainedValue()
            parser.stop(
                with: XMLError(
                    code: .doctypeRefused,
                    message: "documents with a DOCTYPE (DTDs, entity declarations) are not accepted"))
        }
        // Structured errors are read from the context after each call; keep libxml2 from printing them.
        saxHandler.serror = { _, _ in }
    }

    deinit {
        if let context { xmlFreeParserCtxt(context) }
    }

    /// Parses a whole buffer with a fresh parser. libxml2 reads the buffer in place (pull mode): the push parser
    /// checks how much input it holds before every token, which made it a third slower on EWS responses.
    public static func parse(_ bytes: [UInt8], handler: any XMLEventHandler) throws(XMLError) {
        let parser = XMLStreamParser(handler: handler)
        guard !bytes.isEmpty else { throw parser.makeError(code: .malformed, message: "no root element") }
        guard bytes.count <= Int(Int32.max) else {
            throw parser.makeError(code: .malformed, message: "document larger than 2 GB")
        }
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars -> Int32? in
                guard let context = xmlCreateMemoryParserCtxt(chars.baseAddress, Int32(chars.count)) else { return nil }
                parser.context = context
                context.pointee.sax.pointee = parser.saxHandler  // copied into the context's own handler
                context.pointee.userData = Unmanaged.passUnretained(parser).toOpaque()
                xmlCtxtUseOptions(context, parser.options)
                return xmlParseDocument(context)
            }
        }
        parser.finished = true
        guard let status, let context = parser.context else { throw noContext }
        try parser.check(status, of: context, atEnd: true)
        try parser.requireRootClosed()
    }

    /// Feeds the next chunk of the document.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(XMLError) {
        precondition(!finished, "XMLStreamParser.feed after finish")
        if let failure { throw failure }
        try push(chunk, terminate: false)
    }

    /// Ends the document: fails if it is incomplete.
    public func finish() throws(XMLError) {
        guard !finished else { return }
        finished = true
        if let failure { throw failure }
        try push(UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
        try requireRootClosed()
    }

    /// Fails when the document ended before its root element closed (or had none).
    private func requireRootClosed() throws(XMLError) {
        if !rootClosed {
            throw makeError(
                code: depth > 0 ? .truncated : .malformed,
                message: depth > 0 ? "the document ended inside an element" : "no root element")
        }
    }

    private func push(_ chunk: UnsafeRawBufferPointer, terminate: Bool) throws(XMLError) {
        let context = try ensureContext()
        let status = chunk.withMemoryRebound(to: CChar.self) { bytes in
            xmlParseChunk(context, bytes.baseAddress, Int32(bytes.count), terminate ? 1 : 0)
        }
        try check(status, of: context, atEnd: terminate)
    }

    /// Throws the handler's error, or libxml2's when its call returned `status` other than 0 or found the document
    /// not well-formed.
    private func check(_ status: Int32, of context: xmlParserCtxtPtr, atEnd: Bool) throws(XMLError) {
        if let failure { throw failure }
        if status != 0 || context.pointee.wellFormed == 0 { throw libxmlError(context, atEnd: atEnd) }
    }

    private func ensureContext() throws(XMLError) -> xmlParserCtxtPtr {
        if let context { return context }
        let userData = Unmanaged.passUnretained(self).toOpaque()
        guard let created = xmlCreatePushParserCtxt(&saxHandler, userData, nil, 0, nil) else { throw Self.noContext }
        xmlCtxtUseOptions(created, options)
        context = created
        return created
    }

    private static let noContext = XMLError(code: .malformed, message: "libxml2 could not create a parser context")

    /// No XML_PARSE_NOENT (no entity substitution), no DTDLOAD/DTDATTR/DTDVALID; no network.
    private var options: Int32 {
        Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOERROR.rawValue)
    }

    private func libxmlError(_ context: xmlParserCtxtPtr, atEnd: Bool) -> XMLError {
        let last = context.pointee.lastError
        let message = last.message.map { String(cString: $0).trimmingWhitespace() } ?? "not well-formed"
        let code: XMLError.Code
        switch Int(last.code) {
        case Int(XML_ERR_INVALID_CHAR.rawValue), Int(XML_ERR_INVALID_ENCODING.rawValue),
            Int(XML_ERR_UNKNOWN_ENCODING.rawValue), Int(XML_ERR_UNSUPPORTED_ENCODING.rawValue):
            code =
                message.contains("UTF-8") || last.code != XML_ERR_INVALID_CHAR.rawValue ? .invalidEncoding : .malformed
        default:
            code = atEnd && depth > 0 ? .truncated : .malformed
        }
        return XMLError(code: code, message: message, line: Int(last.line), column: Int(last.int2))
    }

    private func call(_ body: (any XMLEventHandler) throws -> Void) {
        guard failure == nil else { return }
        do { try body(handler) } catch {
            stop(with: makeError(code: .handler, message: String(describing: error), underlying: error))
        }
    }

    private func stop(with error: XMLError) {
        if failure == nil { failure = error }
        if let context { xmlStopParser(context) }
    }

    private func makeError(code: XMLError.Code, message: String, underlying: (any Error & Sendable)? = nil) -> XMLError
    {
        var line = 0, column = 0
        if let input = context?.pointee.input {
            line = Int(input.pointee.line)
            column = Int(input.pointee.col)
        }
        return XMLError(code: code, message: message, line: line, column: column, underlying: underlying)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

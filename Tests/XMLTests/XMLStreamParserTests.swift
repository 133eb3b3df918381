import Testing
import XML

/// Records events as strings (tests only; production handlers compare bytes).
final class RecordingHandler: XMLEventHandler {
    var events: [String] = []
    var text = ""
    func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        var event = "start \(name.namespaceString ?? "-") \(name.localNameString)"
        if let id = attributes.value("Id") { event += " Id=\(id)" }
        events.append(event)
    }
    func endElement(_ name: XMLName) throws { events.append("end \(name.localNameString)") }
    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { text += String(decoding: bytes, as: UTF8.self) }
}

struct Stop: Error {}
final class ThrowingHandler: XMLEventHandler {
    func startElement(_ name: XMLName, attributes: XMLAttributes) throws { if name.hasLocalName("b") { throw Stop() } }
    func endElement(_ name: XMLName) throws {}
    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {}
}

@Suite struct XMLStreamParserTests {
    @Test func namespaceAwareEventsAndAttributes() throws {
        let doc =
            #"<?xml version="1.0"?><m:R xmlns:m="urn:m" xmlns="urn:t"><I Id="a&amp;b"/>x&lt;y<![CDATA[<z>]]></m:R>"#
        let handler = RecordingHandler()
        try XMLStreamParser.parse(Array(doc.utf8), handler: handler)
        #expect(handler.events == ["start urn:m R", "start urn:t I Id=a&b", "end I", "end R"])
        #expect(handler.text == "x<y<z>")
    }

    @Test func chunkedFeedingGivesTheSameEvents() throws {
        let doc = Array(#"<a xmlns="urn:x"><b Id="1">hello</b><b Id="2">world</b></a>"#.utf8)
        let handler = RecordingHandler()
        let parser = XMLStreamParser(handler: handler)
        for byte in doc { try [byte].withUnsafeBytes { try parser.feed($0) } }
        try parser.finish()
        #expect(
            handler.events == ["start urn:x a", "start urn:x b Id=1", "end b", "start urn:x b Id=2", "end b", "end a"])
        #expect(handler.text == "helloworld")
    }

    @Test func doctypeAndExternalEntityAreRefused() {
        let xxe = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <r>&x;</r>
            """
        let handler = RecordingHandler()
        #expect { try XMLStreamParser.parse(Array(xxe.utf8), handler: handler) } throws: { error in
            (error as? XMLError)?.code == .doctypeRefused
        }
        #expect(!handler.text.contains("root"))
        let external = #"<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>"#
        #expect { try XMLStreamParser.parse(Array(external.utf8), handler: RecordingHandler()) } throws: { error in
            (error as? XMLError)?.code == .doctypeRefused
        }
    }

    @Test func undeclaredEntityIsAnError() {
        #expect(throws: XMLError.self) {
            try XMLStreamParser.parse(Array("<r>&x;</r>".utf8), handler: RecordingHandler())
        }
    }

    @Test func invalidUTF8IsAClearErrorWithPosition() {
        var doc = Array("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<r>\nab".utf8)
        doc += [0xC3, 0x28] + Array("</r>".utf8)
        do {
            try XMLStreamParser.parse(doc, handler: RecordingHandler())
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidEncoding)
            #expect(error.line == 3)
            #expect(error.description.contains("invalid UTF-8"))
        }
    }

    @Test func truncatedDocumentIsAClearError() {
        let doc = Array(#"<a><b>text</b><c Id="x">more"#.utf8)
        do {
            try XMLStreamParser.parse(doc, handler: RecordingHandler())
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .truncated)
            #expect(error.line == 1)
        }
        #expect { try XMLStreamParser.parse([], handler: RecordingHandler()) } throws: {
            ($0 as? XMLError)?.code == .malformed
        }
    }

    @Test func handlerErrorStopsTheParse() {
        do {
            try XMLStreamParser.parse(Array("<a><b/><c/></a>".utf8), handler: ThrowingHandler())
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .handler)
            #expect(error.underlying is Stop)
        }
    }

    @Test func nameTableResolvesInternedNames() throws {
        final class Counter: XMLEventHandler {
            enum Tag { case item, subject }
            var table = XMLNameTable<Tag>([("Item", .item), ("Subject", .subject)])
            var items = 0, subjects = 0, other = 0
            func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
                switch table.lookup(name.localName) {
                case .item: items += 1
                case .subject: subjects += 1
                case nil: other += 1
                }
            }
            func endElement(_ name: XMLName) throws {}
            func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {}
        }
        let counter = Counter()
        let doc = "<r>" + String(repeating: "<Item><Subject>s</Subject><Subjects/></Item>", count: 50) + "</r>"
        try XMLStreamParser.parse(Array(doc.utf8), handler: counter)
        #expect(counter.items == 50 && counter.subjects == 50 && counter.other == 51)
    }
}

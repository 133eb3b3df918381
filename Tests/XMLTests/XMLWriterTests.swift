import Testing
import XML

@Suite struct XMLWriterTests {
    @Test func escapingRoundTripsThroughTheParser() throws {
        let tricky = "a < b && c > \"d\" 'e'\r\n\ttab é 😀"
        var writer = XMLWriter()
        writer.element("r", attributes: ["Id": tricky]) { w in
            w.text(tricky)
        }
        #expect(writer.isComplete)
        let handler = RecordingHandler()
        try XMLStreamParser.parse(writer.bytes, handler: handler)
        #expect(handler.text == tricky)
        #expect(handler.events.first == "start - r Id=\(tricky)")
    }

    @Test func charactersNotAllowedInXMLAreStripped() throws {
        var writer = XMLWriter(declaration: false)
        writer.element("r", text: "a\u{0}b\u{1}c\u{1B}d\u{FFFE}e\u{FFFF}f")
        #expect(writer.string == "<r>abcdef</r>")
        let handler = RecordingHandler()
        try XMLStreamParser.parse(writer.bytes, handler: handler)
        #expect(handler.text == "abcdef")
    }

    @Test func emptyElementsAreSelfClosed() {
        var writer = XMLWriter(declaration: false)
        writer.startElement("a", attributes: ["x": "1"])
        writer.startElement("b")
        writer.endElement()
        writer.endElement()
        #expect(writer.string == #"<a x="1"><b/></a>"#)
    }
}

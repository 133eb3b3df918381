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

        // Other characters whose UTF-8 starts like U+FFFE's are kept.
        var kept = XMLWriter(declaration: false)
        kept.element("r", attributes: ["a": "\u{FFFD}\u{F8FF}\u{FFEF}"], text: "x\u{FFFD}\u{EFFF}\u{FFBF}\u{FFFE}")
        #expect(kept.string == "<r a=\"\u{FFFD}\u{F8FF}\u{FFEF}\">x\u{FFFD}\u{EFFF}\u{FFBF}</r>")
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

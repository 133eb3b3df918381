import Testing
@testable import ExchangeSimulator

/// The simulator's response writer: what a client parses back is what was stored, whatever the characters.
struct XMLWriterTests {
    func written(_ build: (inout XMLWriter) -> Void) -> String {
        var writer = XMLWriter()
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func textAndAttributesAreEscapedAndControlCharactersDropped() {
        let value = "a&b<c>d\"e\tf\ng\rh\u{1}i – ü 😀"
        #expect(written { $0.text(value) } == "a&amp;b&lt;c&gt;d\"e\tf\ng\rhi – ü 😀")
        #expect(written { $0.attrValue(value) } == "a&amp;b&lt;c&gt;d&quot;e&#9;f&#10;g&#13;hi – ü 😀")
        #expect(written { $0.leaf("t:Subject", "plain") } == "<t:Subject>plain</t:Subject>")
        #expect(written { $0.empty("t:ItemId", [("Id", "A&B\"")]) } == "<t:ItemId Id=\"A&amp;B&quot;\"/>")
        #expect(written { $0.text("") } == "")
        #expect(written { $0.text("&") } == "&amp;")
    }
}

import Foundation
import Testing
import TestSupport

@testable import Graph

/// Graph's JSON read from its bytes: the same values Foundation's JSONSerialization reads from Microsoft's samples,
/// escapes and numbers as RFC 8259 has them, and a clear refusal of what is not JSON.
@Suite struct GraphJSONParserTests {
    /// JSONSerialization's reading of `bytes` as a GraphJSON: the oracle.
    static func foundation(_ bytes: [UInt8]) throws -> GraphJSON {
        func convert(_ value: Any) -> GraphJSON {
            switch value {
            case let text as String: return .string(text)
            case let members as [String: Any]: return .object(GraphJSON.Members(members.mapValues(convert)))
            case let values as [Any]: return .array(values.map(convert))
            case let number as NSNumber:
                return String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
            default: return .null
            }
        }
        return convert(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    @Test func microsoftsSamplesReadAsJSONSerializationReadsThem() throws {
        let directory = SharedDirectory.fixtures.appendingPathComponent("graph-samples")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 14)
        for name in names {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            #expect(try GraphJSON.parse(bytes) == Self.foundation(bytes), "\(name)")
        }
    }

    @Test func escapesNumbersAndLiteralsAreRFC8259s() throws {
        let text = #"""
            {"a":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","n":[0,-12,3.5,-0.25e2,1E3,123456789012345,12345678901234567],
             "t":true,"f":false,"z":null,"e":{},"l":[],"d":"x","d":"last"}
            """#
        let value = try GraphJSON.parse(Array(text.utf8))
        #expect(value["a"]?.string == "café 😀 \"q\" \\ / \u{8}\u{c}\n\r\t")
        #expect(
            value["n"] == [
                0, -12, .number(3.5), .number(-25), 1000, 123_456_789_012_345, .number(12_345_678_901_234_568),
            ])
        #expect(value["t"] == true && value["f"] == false && value["z"] == .null)
        #expect(value["e"] == .object([:]) && value["l"] == .array([]))
        #expect(value["d"]?.string == "last", "a repeated member: the last one counts")
        #expect(try GraphJSON.parse(Array(" \"ö\" ".utf8)) == "ö")
    }

    @Test func aReadingOfSomeMembersSkipsTheOthersButStillRefusesWhatIsNotJSON() throws {
        let text = #"""
            {"value":[{"id":"a","subject":"x \"y\" \u00e9","attendees":[{"emailAddress":{"address":"b"}}],"n":-1.5e3,
             "@removed":{"reason":"deleted"}},{"id":"b","body":{"content":"<p>\\</p>"},"t":true,"z":null},
             {"\u0069d":"c","i\u0064x":1,"idx":2}],
             "@odata.deltaLink":"https://d"}
            """#
        let value = try GraphJSON.parse(Array(text.utf8), keeping: ["value", "id", "@removed", "@odata.deltaLink"])
        #expect(
            value == [
                "value": [["id": "a", "@removed": [:]], ["id": "b"], ["id": "c"]], "@odata.deltaLink": "https://d",
            ])
        for broken in [#"{"value":[],"x":[1,}"#, #"{"x":{"a" 1}}"#, #"{"x":"open}"#, #"{"x":tru}"#] {
            #expect(throws: GraphError.self, "\(broken)") {
                try GraphJSON.parse(Array(broken.utf8), keeping: ["value"])
            }
        }
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "\"open", "01", "-", "1.", "1e", "tru", "nul", "[1] x",
        "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"a\u{1}b\"", "{'a':1}", "NaN",
    ])
    func whatIsNotJSONIsRefused(_ text: String) {
        #expect(throws: GraphError.self, "\(text.debugDescription)") { try GraphJSON.parse(Array(text.utf8)) }
    }

    /// Strings are scanned eight bytes at a time: an escape, a quote, a non-ASCII character or a refused byte is
    /// found wherever it falls in a word, in a string that is read and in one that is skipped.
    @Test func everyPositionInAStringIsScanned() throws {
        let plain = Array("abcdefghijklmnopqrstuvwxyz0123".utf8)
        // \", \\, \n and é are read; a control character is refused, and so are a byte that is not UTF-8 and a cut
        // sequence in a string that is read (a skipped one is checked as JSON, its text not decoded).
        let accepted: [[UInt8]] = [[0x5C, 0x22], [0x5C, 0x5C], [0x5C, 0x6E], Array("é".utf8)]
        let control: [[UInt8]] = [[0x01], [0x1F]], notUTF8: [[UInt8]] = [[0xFF], [0xC3]]
        for length in 0...plain.count {
            for at in 0...length {
                for special in accepted + control + notUTF8 {
                    let string = Array(plain[..<at]) + special + Array(plain[at..<length])
                    let text = Array(#"{"name":""#.utf8) + string + Array(#"","other":1}"#.utf8)
                    for keeping in [nil, Set(["other"]), Set(["name"])] as [Set<String>?] {
                        let isRead = keeping?.contains("name") ?? true
                        if control.contains(special) || (isRead && notUTF8.contains(special)) {
                            #expect(throws: GraphError.self, "\(length) \(at) \(special)") {
                                try GraphJSON.parse(text, keeping: keeping)
                            }
                            continue
                        }
                        var expected: GraphJSON.Members = ["other": 1]
                        if isRead { expected["name"] = try Self.foundation(text)["name"] }
                        if keeping == ["name"] { expected["other"] = nil }
                        #expect(try GraphJSON.parse(text, keeping: keeping) == .object(expected))
                    }
                }
            }
        }
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() throws {
        #expect(throws: GraphError.self) { try GraphJSON.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: GraphError.self) { try GraphJSON.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
        // A truncated 4-byte sequence is repaired as one U+FFFD of as many bytes: refused all the same.
        #expect(throws: GraphError.self) { try GraphJSON.parse([0x22, 0xF0, 0x90, 0x80, 0x22]) }
        #expect(try GraphJSON.parse(Array("\"Zoë 🍵\"".utf8)) == "Zoë 🍵")
        let deep =
            Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)
        #expect(throws: GraphError.self) { try GraphJSON.parse(deep) }
        let fine = Array(repeating: UInt8(ascii: "["), count: 200) + Array(repeating: UInt8(ascii: "]"), count: 200)
        #expect((try? GraphJSON.parse(fine)) != nil)
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// The simulator's JSON reader: strings with and without escapes, duplicate members in small and large objects, and
/// the errors (with their offsets: invalid UTF-8 is reported after the string) a bad body gets.
@Suite struct JSONParserTests {
    static func parse(_ text: String) throws(JSONParser.Failure) -> JSON { try JSONParser.parse(Data(text.utf8)) }
    static func failure(_ bytes: [UInt8]) -> String? {
        do { _ = try JSONParser.parse(Data(bytes)); return nil } catch { return error.message }
    }

    @Test func stringsReadWithAndWithoutEscapes() throws {
        let v = try Self.parse(#"{"a":"plain","b":"Zoë & Łukasz","c":"tab\there \"q\" \u00e9 \ud83d\ude00","":""}"#)
        #expect(v["a"]?.string == "plain" && v["b"]?.string == "Zoë & Łukasz")
        #expect(v["c"]?.string == "tab\there \"q\" é 😀" && v[""]?.string == "")
    }

    @Test func duplicateMembersAreRefusedInSmallAndLargeObjects() throws {
        for count in [1, 15, 16, 17, 40] {
            let members = (0..<count).map { "\"m\($0)\":\($0)" }
            #expect((try Self.parse("{" + members.joined(separator: ",") + "}").members?.count) == count)
            for dup in Set([0, count - 1]) {
                let text = "{" + (members + ["\"m\(dup)\":true"]).joined(separator: ",") + "}"
                #expect(Self.failure(Array(text.utf8))?.contains("duplicate member 'm\(dup)'") == true, "\(count)")
            }
        }
    }

    @Test func nestedObjectsAndArraysKeepTheirOwnMembersInOrder() throws {
        // A name of an enclosing object is no duplicate inside a nested one, nor the reverse.
        let v = try Self.parse(#"{"a":{"a":1,"b":[]},"b":[{"a":2,"b":[3,{"a":{}}]},[],[[4]]],"c":{}}"#)
        let expected = JSON.object([
            ("a", .object([("a", .int(1)), ("b", .array([]))])),
            (
                "b",
                .array([
                    .object([("a", .int(2)), ("b", .array([.int(3), .object([("a", .object([]))])]))]),
                    .array([]), .array([.array([.int(4)])]),
                ])
            ),
            ("c", .object([])),
        ])
        #expect(v == expected)
        #expect(Self.failure(Array(#"{"a":{"b":1,"b":2}}"#.utf8))?.contains("duplicate member 'b'") == true)
    }

    @Test func badBytesAreRefusedWhereTheyEnd() {
        #expect(
            Self.failure(Array(#"{"a":""#.utf8) + [0xC3] + Array(#""}"#.utf8))
                == "Invalid JSON at offset 8: invalid UTF-8.")
        #expect(
            Self.failure(Array(#"{"a":"x\n"#.utf8) + [0xFF] + Array(#""}"#.utf8))
                == "Invalid JSON at offset 11: invalid UTF-8.")
        #expect(Self.failure(Array(#"{"a":"x"#.utf8)) == "Invalid JSON at offset 7: unterminated string.")
    }

    /// Strings are scanned eight bytes at a time: a byte to escape, a non-ASCII character, an unescaped control
    /// character and invalid UTF-8 are each put at every position of strings of 0 to 30 bytes, so that each falls at
    /// every place of a word and in the bytes after the last whole word.
    @Test func everyPositionOfAStringIsReadAndWritten() throws {
        for length in 1...30 {
            for position in 0..<length {
                for special in ["\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "é", "😀", "/"] {
                    var characters = Array(repeating: "a", count: length)
                    characters[position] = special
                    let text = characters.joined()
                    var w = JSONWriter()
                    w.string(text)
                    let foundation = try JSONSerialization.jsonObject(with: Data(w.bytes), options: .fragmentsAllowed)
                    #expect(foundation as? String == text, "written: \(length) \(position) \(special)")
                    let written = try JSONSerialization.data(withJSONObject: [text])
                    #expect(try JSONParser.parse(written) == .array([.string(text)]), "read: \(length) \(position)")
                }
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                bytes[position] = 0x01
                #expect(
                    Self.failure([0x22] + bytes + [0x22])
                        == "Invalid JSON at offset \(position + 1): control character in string.")
                bytes[position] = 0xFF
                #expect(Self.failure([0x22] + bytes + [0x22]) == "Invalid JSON at offset \(length + 2): invalid UTF-8.")
            }
        }
    }
}

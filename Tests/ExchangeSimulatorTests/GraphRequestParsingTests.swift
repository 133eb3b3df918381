import Foundation
import Testing
@testable import ExchangeSimulator

/// The byte-level parsing of a Graph request's path and query reads what Foundation's percent-decoding reads, and the
/// memoised `Prefer` and `$expand` parses answer as a fresh parse does, every time.
@Suite struct GraphRequestParsingTests {
    static let samples = [
        "", "abc", "a%20b", "%", "%2", "%zz", "%4", "%41%42", "%C3%A9t%C3%A9", "%C3", "%e2%82%ac", "a+b", "%2B",
        "Zo%C3%AB%20%26%20%C5%81ukasz", "id%20eq%20'x'", "%%41", "100%", "AAMkAGI2%2F%3D%3D", "%FF%FE", "%00",
    ]

    @Test func percentDecodingReadsWhatFoundationReads() {
        for s in Self.samples {
            #expect(GraphRequest.percentDecoded(s) == s.removingPercentEncoding, "\(s)")
            #expect(GraphRequest.decoded(s) == (s.removingPercentEncoding ?? s), "\(s)")
            #expect(
                GraphRequest.percentDecoded(s, plusAsSpace: true)
                    == s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding, "\(s)")
        }
    }

    /// The query options as Foundation's string functions split and decode them.
    static func reference(_ uri: String) -> (path: String, query: [(String, String)]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [(String, String)] = []
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let key = (kv[0].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? kv[0])
                let value =
                    kv.count > 1
                    ? (kv[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? kv[1]) : ""
                query.append((key, value))
            }
        }
        return (String(parts[0]), query)
    }

    @Test func splitReadsPathAndQueryAsFoundationDoes() {
        let uris = [
            "/v1.0/users/a%40b.com/contacts", "/v1.0/users/a/events?", "/v1.0/x?$top=5&$skip=10",
            "/v1.0/x?$filter=subject+eq+'a%2Bb'&&$select=id,subject&flag",
            "/v1.0/x?$expand=singleValueExtendedProperties(%24filter%3Did%20eq%20'String%20%7B1%7D%20Name%20X')",
            "/v1.0/x?a=b=c&=v&k=&%zz=+%zz", "/v1.0/x?startDateTime=2026-03-01T00:00:00%2B01:00&q=%C3%A9?x",
            "?only=query", "/v1.0/x?%C3=1&b=%E2%82",
        ]
        for uri in uris {
            let new = GraphRequest.split(uri), old = Self.reference(uri)
            #expect(new.path == old.path, "\(uri)")
            #expect(new.query.map { [$0.0, $0.1] } == old.query.map { [$0.0, $0.1] }, "\(uri)")
        }
    }

    @Test func memoisedPreferencesAnswerAsAFreshParse() throws {
        for header in [
            "odata.maxpagesize=1000", "outlook.timezone=\"W. Europe Standard Time\", IdType=\"ImmutableId\"",
            "outlook.body-content-type=\"text\",odata.maxpagesize=5000", "return=minimal",
        ] {
            for _ in 0..<2 {
                let memo = try GraphPreferences.parsed(header), fresh = try GraphPreferences(header)
                #expect(
                    memo.maxPageSize == fresh.maxPageSize && memo.timeZoneGiven == fresh.timeZoneGiven
                        && memo.bodyContentType == fresh.bodyContentType && memo.immutableIds == fresh.immutableIds
                        && memo.applied == fresh.applied, "\(header)")
            }
        }
        for _ in 0..<2 {
            #expect(throws: GraphError.self) { try GraphPreferences.parsed("outlook.timezone=\"Nowhere/Land\"") }
        }
    }

    @Test func expansionKeepsEachPartsOptions() throws {
        let text =
            " exceptionOccurrences , singleValueExtendedProperties($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name A' or id eq 'x'),extensions($select=id)"
        let e = GraphExpansion.parsed(text)
        #expect(e.parts.map(\.name) == ["exceptionOccurrences", "singleValueExtendedProperties", "extensions"])
        #expect(e.parts[0].text == "exceptionOccurrences")
        #expect(try e.parts[0].filterIds.get() == nil)
        #expect(
            try e.parts[1].filterIds.get() == ["String {00020329-0000-0000-C000-000000000046} Name A", "x"])
        #expect(e.parts[1].extendedKeys?.count == 1)
        #expect(throws: GraphError.self) { try e.parts[2].filterIds.get() }
        #expect(GraphExpansion.parsed(text).parts.map(\.text) == e.parts.map(\.text))
    }
}

extension GraphRequestParsingTests {
    @Test func segmentsAreTheNonEmptyPartsBetweenSlashes() {
        for path in ["", "/", "//a//b/", "/users/a%40b.com/events/AAMk%3D/instances", "users/x/todo/lists/Zo%C3%AB/"] {
            #expect(GraphRequest.segments(path) == path.split(separator: "/"), "\(path)")
        }
    }

    @Test func extendedPropertyIdsParseTheSameEveryTime() {
        let expected: [(String, String?)] = [
            (
                "String {00020329-0000-0000-C000-000000000046} Name CrmId",
                "name:00020329-0000-0000-c000-000000000046:CrmId:String"
            ),
            ("String 0x3001", "tag:12289:String"),
            (
                "Integer {6ED8DA90-450B-101B-98DA-00AA003F1305} Id 0x8213",
                "id:6ed8da90-450b-101b-98da-00aa003f1305:33299:Integer"
            ),
            ("String {not-a-guid} Name X", nil), ("Bogus", nil),
        ]
        for (id, key) in expected {
            for _ in 0..<2 {
                let parsed = GraphExtendedProperty.parse(id)
                #expect(parsed?.key == key, "\(id)")
                if let parsed {
                    let p = ExtendedProperty(key: parsed.key, uri: parsed.uri, values: ["v"], isMulti: false)
                    #expect(GraphExtendedProperty.graphId(p).flatMap(GraphExtendedProperty.parse)?.key == key)
                }
            }
        }
    }
}

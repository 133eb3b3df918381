import Testing

@testable import Graph

/// An object's members keep their order (the order they are written in), hold each name once, and compare and hash
/// as a set of members, whatever their order.
@Suite struct GraphJSONMembersTests {
    @Test func membersKeepTheirOrderAndEachNameOnce() {
        var members: GraphJSON.Members = ["b": 1, "a": "x", "b": 2]
        #expect(members.map(\.key) == ["b", "a"])
        #expect(members["b"] == 2)
        members["c"] = true
        members["a"] = nil
        members["b"] = "y"
        #expect(members.map(\.key) == ["b", "c"])
        #expect(GraphJSON.object(members).bytes == Array(#"{"b":"y","c":true}"#.utf8))
    }

    @Test func objectsAreEqualWithTheSameMembersInAnyOrder() throws {
        let one: GraphJSON = ["a": 1, "b": ["c": "d", "e": [1, 2]]]
        let other: GraphJSON = ["b": ["e": [1, 2], "c": "d"], "a": 1]
        #expect(one == other)
        #expect(one.hashValue == other.hashValue)
        #expect(Set([one, other]).count == 1)
        #expect(one != ["a": 1, "b": ["c": "d", "e": [2, 1]]])
        #expect(one != ["a": 1])
        #expect(one != ["a": 1, "b": ["c": "d", "e": [1, 2]], "f": .null])
        // Read back, a repeated name keeps its last value.
        #expect(try GraphJSON.parse(Array(#"{"a":1,"b":2,"a":3}"#.utf8)) == ["a": 3, "b": 2])
        let many = (0..<40).map { #""k\#($0 % 30)":\#($0)"# }.joined(separator: ",")
        let parsed = try GraphJSON.parse(Array("{\(many)}".utf8))
        #expect(parsed.object?.count == 30)
        #expect(parsed["k5"] == 35)
    }
}

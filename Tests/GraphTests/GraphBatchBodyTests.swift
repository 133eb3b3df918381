import HTTP
import Testing
@testable import Graph

/// The `$batch` body is written straight to bytes: it must be the JSON the same requests make as objects, with each
/// request's index as its id, its own headers kept and Content-Type set for a body.
@Suite struct GraphBatchBodyTests {
    @Test func batchBodyIsTheJSONOfItsRequests() throws {
        var patch = GraphRequest(
            .patch, "/users/a%40example.com/events/AAMk%2F1",
            body: ["subject": "Café \"quoted\"\n\t\\\u{1}", "isAllDay": false],
            headers: ["If-Match": "W/\"ck\"", "Content-Type": "text/plain"], operation: "PATCH events")
        patch.prefer = ["odata.maxpagesize=5"]
        let requests = [
            GraphRequest(.get, "/users/a%40example.com/contacts?$select=id", operation: "GET contacts"), patch,
            GraphRequest(.delete, "/users/a%40example.com/todo/lists/L/tasks/T", operation: "DELETE tasks"),
        ]
        let written = GraphClient.batchBody(requests, [1, 2, 0])
        // Members in name order, as the body is written.
        func entry(_ index: Int, headers: GraphJSON.Members) -> GraphJSON {
            var object: GraphJSON.Members = [:]
            if let body = requests[index].body { object["body"] = body }
            object["headers"] = .object(headers)
            object["id"] = .string(String(index))
            object["method"] = .string(requests[index].method.rawValue)
            object["url"] = .string(requests[index].target)
            return .object(object)
        }
        let preferences = GraphClient.preferences.joined(separator: ", ")
        let expected: GraphJSON = [
            "requests": [
                entry(
                    1,
                    headers: [
                        "Content-Type": "application/json", "If-Match": "W/\"ck\"",
                        "Prefer": .string(preferences + ", odata.maxpagesize=5"),
                    ]),
                entry(2, headers: ["Prefer": .string(preferences)]),
                entry(0, headers: ["Prefer": .string(preferences)]),
            ]
        ]
        #expect(written == expected.bytes)
        #expect(try GraphJSON.parse(written) == expected)
    }
}

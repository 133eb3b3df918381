import Foundation
import Testing
@testable import ExchangeSimulator

/// A To Do task's percentage travels in the open extension `com.snapsync.task`, which is the task's own
/// `PercentComplete`: what EWS writes reads back through Graph, and the reverse; every response is checked against
/// the Graph v1.0 schema.
@Suite struct GraphTaskExtensionTests {
    static let alice = "alice@example.com"
    static let expandOne =
        "$expand=" + seg("extensions($filter=id eq 'microsoft.graph.openTypeExtension.com.snapsync.task')")

    /// An EWS UpdateItem that sets the task's PercentComplete to `value`.
    static func setPercentage(_ value: String, of id: String, changeKey: String, resolution: String) -> String {
        "<m:UpdateItem ConflictResolution=\"\(resolution)\" MessageDisposition=\"SaveOnly\"><m:ItemChanges><t:ItemChange>"
            + "<t:ItemId Id=\"\(id)\" ChangeKey=\"\(changeKey)\"/><t:Updates><t:SetItemField>"
            + "<t:FieldURI FieldURI=\"task:PercentComplete\"/><t:Task><t:PercentComplete>\(value)</t:PercentComplete></t:Task>"
            + "</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    }

    static func percentage(_ task: JSON) -> Int? {
        guard case .int(let p)? = task["extensions"]?.elements?.first?["percentComplete"] else { return nil }
        return p
    }

    /// Exchange keeps a percentage from 0 to 100: EWS is refused anything else (ErrorInvalidPercentCompleteValue),
    /// so Graph never reads a value it cannot carry.
    @Test func ewsIsRefusedAPercentageOutsideZeroToAHundred() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            let folder =
                "<t:DistinguishedFolderId Id=\"tasks\"><t:Mailbox><t:EmailAddress>\(Self.alice)</t:EmailAddress>"
                + "</t:Mailbox></t:DistinguishedFolderId>"
            for bad in ["1e300", "101", "-1", "NaN"] {
                let refused = try await c.ews(
                    Req.createItem(
                        "<t:Task><t:Subject>Quote</t:Subject><t:PercentComplete>\(bad)</t:PercentComplete></t:Task>",
                        folder: folder))
                #expect(
                    Scrape.texts(refused.text, element: "m:ResponseCode") == ["ErrorInvalidPercentCompleteValue"],
                    "\(bad)")
            }
            let created = try await c.ews(
                Req.createItem(
                    "<t:Task><t:Subject>Quote</t:Subject><t:PercentComplete>40</t:PercentComplete></t:Task>",
                    folder: folder)
            )
            let ewsId = try #require(Scrape.all(created.text, attribute: "Id", of: "t:ItemId").first)
            let key = try #require(Scrape.all(created.text, attribute: "ChangeKey", of: "t:ItemId").first)
            let update = Self.setPercentage("1e300", of: ewsId, changeKey: key, resolution: "AlwaysOverwrite")
            #expect(
                Scrape.texts(try await c.ews(update).text, element: "m:ResponseCode") == [
                    "ErrorInvalidPercentCompleteValue"
                ])
            let g = try await GraphClient.signedIn(sim)
            let tasks = try await g.get(try await g.defaultTasks(of: "/users/\(Self.alice)") + "?" + Self.expandOne)
            #expect(tasks.values.compactMap(Self.percentage) == [40])
            try await g.expectSchemaValid()
        }
    }

    @Test func aTasksPercentageIsOneValueThroughGraphsExtensionAndEWS() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            let g = try await GraphClient.signedIn(sim)
            let tasks = try await g.defaultTasks(of: "/users/\(Self.alice)")
            let ext: JSON = .object([
                ("@odata.type", .string("microsoft.graph.openTypeExtension")),
                ("extensionName", .string("com.snapsync.task")), ("percentComplete", .int(40)),
            ])

            // Created inline with the task: the answer is the task expanded with its extension.
            let created = try await g.post(
                tasks,
                json([("title", .string("Quote")), ("status", .string("inProgress")), ("extensions", .array([ext]))]))
            #expect(created.status == 201)
            #expect(Self.percentage(created.json) == 40)
            let id = try #require(created.json["id"]?.string)
            let task = "\(tasks)/\(seg(id))"

            // EWS reads the same value.
            let ewsId = GraphIdentifier.ews(fromREST: id)
            let viaEWS = try await c.ews(
                Req.getItem([ewsId], shape: "IdOnly", additional: "<t:FieldURI FieldURI=\"task:PercentComplete\"/>"))
            #expect(Scrape.texts(viaEWS.text, element: "t:PercentComplete") == ["40"])

            // PATCH of the extension changes the task (a new etag, a delta change) and EWS sees it.
            let before = try await g.get(task)
            let round = try await g.all(tasks + "/delta")
            let deltaLink = try #require(round.last.json["@odata.deltaLink"]?.string)
            let patched = try await g.patch(
                task + "/extensions/com.snapsync.task",
                json([("@odata.type", .string("microsoft.graph.openTypeExtension")), ("percentComplete", .int(75))]))
            #expect(patched.status == 204)
            let after = try await g.get(task + "?" + Self.expandOne)
            #expect(Self.percentage(after.json) == 75)
            #expect(after.json["@odata.etag"] != before.json["@odata.etag"])
            #expect(try await g.get(deltaLink).values.map { $0["id"]?.string } == [id])
            let viaEWS2 = try await c.ews(
                Req.getItem([ewsId], shape: "IdOnly", additional: "<t:FieldURI FieldURI=\"task:PercentComplete\"/>"))
            #expect(Scrape.texts(viaEWS2.text, element: "t:PercentComplete") == ["75"])

            // EWS writes the percentage; Graph reads it in the extension, alone, in the list and in delta.
            let key = try #require(Scrape.all(viaEWS2.text, attribute: "ChangeKey", of: "t:ItemId").first)
            let update = Self.setPercentage("20", of: ewsId, changeKey: key, resolution: "AutoResolve")
            #expect(try await c.ews(update).text.contains("ResponseClass=\"Success\""))
            let single = try await g.get(task + "/extensions/com.snapsync.task")
            #expect(
                single.json["percentComplete"] == .int(20)
                    && single.json["extensionName"]?.string == "com.snapsync.task")
            let byId = try await g.get(task + "/extensions/microsoft.graph.openTypeExtension.com.snapsync.task")
            #expect(byId.json["percentComplete"] == .int(20))
            let both = try await g.get(
                tasks + "?$expand=" + seg("linkedResources,extensions($filter=id eq 'com.snapsync.task')"))
            #expect(both.values.compactMap(Self.percentage) == [20])
            #expect(both.values.first?["linkedResources"]?.elements == [])
            let deltaExpanded = try await g.all(tasks + "/delta?" + Self.expandOne)
            #expect(deltaExpanded.values.compactMap(Self.percentage) == [20])
            // Another extension's filter expands none; a task without the expansion has no `extensions`.
            let other = try await g.get(task + "?$expand=" + seg("extensions($filter=id eq 'com.contoso.other')"))
            #expect(other.json["extensions"]?.elements == [])
            #expect(try await g.get(task).json["extensions"] == nil)

            // A completed status sets 100 unless the same request's extension says otherwise.
            let done = try await g.patch(task, json([("status", .string("completed"))]))
            #expect(done.status == 200)
            #expect(try await g.get(task + "/extensions/com.snapsync.task").json["percentComplete"] == .int(100))

            // What the simulator does not keep is a 400, and nothing is written.
            let version = try await g.get(task).json["@odata.etag"]
            for body in [
                json([("percentComplete", .int(101))]), json([("percentComplete", .string("50"))]),
                json([("percentComplete", .int(10)), ("note", .string("x"))]),
                json([("extensionName", .string("com.contoso.other")), ("percentComplete", .int(10))]),
            ] {
                #expect(try await g.patch(task + "/extensions/com.snapsync.task", body).status == 400, "\(body)")
            }
            #expect(try await g.patch(task + "/extensions/com.contoso.other", json([])).status == 404)
            #expect(
                try await g.post(task + "/extensions", json([("extensionName", .string("com.snapsync.task"))])).status
                    == 409)
            #expect(
                try await g.post(
                    tasks,
                    json([("title", .string("x")), ("extensions", .array([.object([("percentComplete", .int(5))])]))])
                ).status == 400)
            #expect(try await g.get(task).json["@odata.etag"] == version)
            try await g.expectSchemaValid()
        }
    }
}

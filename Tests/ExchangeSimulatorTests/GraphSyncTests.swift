import Foundation
import Testing
@testable import ExchangeSimulator

/// Graph delta queries (contacts, calendarView, To Do), `$batch`, throttling and injected faults; every response
/// checked against the Graph v1.0 schema.
@Suite struct GraphSyncTests {
    static let alice = "alice@example.com"

    @Test func contactsDeltaRoundsSeeChangesAndRemovalsAndRestoredStatesAreGone() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            try sim.control.seed(SeedRequest(mailbox: Self.alice, seed: 5, contacts: 9, appointments: 0, tasks: 0))
            let g = try await GraphClient.signedIn(sim)
            let delta = "/users/\(Self.alice)/contacts/delta"
            let first = try await g.all(delta, headers: ["Prefer": "odata.maxpagesize=4"])
            #expect(first.values.count == 9 && first.pages == 3)
            let link = try #require(first.last.json["@odata.deltaLink"]?.string)
            #expect(link.hasPrefix(g.base + "/v1.0/users/"))
            #expect(try await g.get(link).values.isEmpty)
            try sim.control.backup(name: "before")
            let ids = first.values.compactMap { $0["id"]?.string }
            let created = try await g.post("/users/\(Self.alice)/contacts", json([("givenName", .string("New"))]))
            _ = try await g.patch(
                "/users/\(Self.alice)/contacts/\(seg(ids[0]))", json([("jobTitle", .string("Changed"))]))
            // through EWS: Graph sees it too
            _ = try await c.ews(Req.deleteItem([GraphIdentifier.ews(fromREST: ids[1])]))
            let second = try await g.get(link)
            let removed = second.values.filter { $0["@removed"] != nil }
            #expect(
                Set(second.values.filter { $0["@removed"] == nil }.compactMap { $0["id"]?.string }) == [
                    ids[0], try #require(created.json["id"]?.string),
                ])
            #expect(
                removed.map { $0["id"]?.string } == [ids[1]]
                    && removed.first?["@removed"]?["reason"]?.string == "deleted")
            let next = try #require(second.json["@odata.deltaLink"]?.string)

            try sim.control.restore(name: "before")
            let gone = try await g.get(next)
            #expect(gone.status == 410 && gone.errorCode == "SyncStateNotFound")
            #expect(try await g.get(link).status == 200)  // issued before the backup: still valid
            try sim.control.expireSyncStates(mailbox: Self.alice)
            #expect(try await g.get(link).status == 410)
            #expect(try await g.get(delta + "?$deltatoken=garbage").status == 410)
            try await g.expectSchemaValid()
        }
    }

    @Test func calendarViewDeltaNeedsAWindowAndReportsInstancesChangesAndOutOfWindowRemovals() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let events = "/users/\(Self.alice)/events"
            #expect(try await g.get("/users/\(Self.alice)/calendarView/delta").status == 400)
            let series = try await g.post(events, GraphEventsTests.series)
            let masterId = try #require(series.json["id"]?.string)
            func single(_ subject: String, _ day: String) -> String {
                json([
                    ("subject", .string(subject)),
                    ("start", .object([("dateTime", .string("\(day)T10:00:00")), ("timeZone", .string("UTC"))])),
                    ("end", .object([("dateTime", .string("\(day)T11:00:00")), ("timeZone", .string("UTC"))])),
                ])
            }
            let inside = try #require(try await g.post(events, single("Inside", "2026-03-10")).json["id"]?.string)
            let leaving = try #require(try await g.post(events, single("Leaving", "2026-03-11")).json["id"]?.string)
            _ = try await g.post(events, single("Outside", "2026-07-01"))

            let delta =
                "/users/\(Self.alice)/calendarView/delta?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z"
            let first = try await g.all(delta, headers: ["Prefer": "odata.maxpagesize=3"])
            // The master, its 5 occurrences in March (6 weekly from 2 March: 2, 9, 16, 23, 30 March; 6 April is outside), 2 singles.
            #expect(first.values.count == 8 && first.pages == 3)
            let occurrences = first.values.filter { $0["type"]?.string == "occurrence" }
            #expect(
                occurrences.count == 5
                    && occurrences.allSatisfy { $0["subject"] == nil && $0["seriesMasterId"]?.string == masterId })
            #expect(!first.values.contains { $0["subject"]?.string == "Outside" })
            let link = try #require(first.last.json["@odata.deltaLink"]?.string)

            let occurrenceId = try #require(occurrences[1]["id"]?.string)
            _ = try await g.patch("\(events)/\(seg(inside))", json([("subject", .string("Inside, renamed"))]))
            _ = try await g.patch("\(events)/\(seg(leaving))", single("Leaving", "2026-05-20"))
            _ = try await g.delete("\(events)/\(seg(occurrenceId))")
            let second = try await g.all(link)
            let removed = Set(second.values.filter { $0["@removed"] != nil }.compactMap { $0["id"]?.string })
            #expect(removed == [leaving, occurrenceId])
            #expect(second.values.contains { $0["id"]?.string == inside && $0["subject"]?.string == "Inside, renamed" })
            #expect(second.values.contains { $0["id"]?.string == masterId && $0["type"]?.string == "seriesMaster" })
            #expect(!second.values.contains { $0["id"]?.string == occurrenceId && $0["@removed"] == nil })

            // To Do tasks delta per list.
            let lists = try await g.get("/users/\(Self.alice)/todo/lists")
            let listId = try #require(lists.values.first?["id"]?.string)
            let tasks = "/users/\(Self.alice)/todo/lists/\(seg(listId))/tasks"
            _ = try await g.post(tasks, json([("title", .string("First"))]))
            let t1 = try await g.all(tasks + "/delta")
            #expect(t1.values.count == 1)
            let taskLink = try #require(t1.last.json["@odata.deltaLink"]?.string)
            let added = try await g.post(
                tasks,
                json([
                    ("title", .string("Second")),
                    (
                        "linkedResources",
                        .array([
                            .object([
                                ("applicationName", .string("snapsync")), ("externalId", .string("crm-1")),
                                ("displayName", .string("CRM")),
                            ])
                        ])
                    ),
                ]))
            #expect(added.json["linkedResources"]?.elements?.first?["externalId"]?.string == "crm-1")
            #expect(
                try await g.post(tasks, json([("title", .string("x")), ("singleValueExtendedProperties", .array([]))]))
                    .status == 400)
            #expect(try await g.get(taskLink).values.map { $0["title"]?.string } == ["Second"])
            try await g.expectSchemaValid()
        }
    }

    @Test func batchRunsRequestsWithDependenciesAndLimits() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let contacts = "/users/\(Self.alice)/contacts"
            func request(
                _ id: String, _ method: String, _ url: String, body: JSON? = nil, dependsOn: [String] = []
            ) -> JSON {
                var m: [(String, JSON)] = [("id", .string(id)), ("method", .string(method)), ("url", .string(url))]
                if let body {
                    m += [("body", body), ("headers", .object([("Content-Type", .string("application/json"))]))]
                }
                if !dependsOn.isEmpty { m.append(("dependsOn", .array(dependsOn.map(JSON.string)))) }
                return .object(m)
            }
            let batch = json([
                (
                    "requests",
                    .array([
                        request("1", "POST", contacts, body: .object([("givenName", .string("Batched"))])),
                        request("2", "GET", contacts, dependsOn: ["1"]),
                        request("3", "POST", contacts, body: .object([("givenName", .int(5))])),
                        request("4", "GET", contacts, dependsOn: ["3"]),
                        request("5", "GET", "/users/\(Self.alice)/contacts/not-an-id"),
                    ])
                )
            ])
            let r = try await g.post("/$batch", batch)
            #expect(r.status == 200)
            var status: [String: Int] = [:]
            for response in r.json["responses"]?.elements ?? [] {
                if let id = response["id"]?.string, case .int(let s) = response["status"] { status[id] = s }
            }
            #expect(status == ["1": 201, "2": 200, "3": 400, "4": 424, "5": 400])

            let tooMany = json([("requests", .array((1...21).map { request(String($0), "GET", contacts) }))])
            #expect(try await g.post("/$batch", tooMany).status == 400)
            let duplicate = json([("requests", .array([request("1", "GET", contacts), request("1", "GET", contacts)]))])
            #expect(try await g.post("/$batch", duplicate).status == 400)

            sim.control.setFaults(FaultConfiguration(graphThrottle: .init(count: 1, retryAfterSeconds: 3)))
            let throttled = try await g.post(
                "/$batch", json([("requests", .array([request("a", "GET", contacts), request("b", "GET", contacts)]))]))
            let inner = throttled.json["responses"]?.elements ?? []
            let limited = try #require(inner.first { $0["status"] == .int(429) })
            #expect(
                limited["headers"]?["Retry-After"]?.string == "3"
                    && limited["body"]?["error"]?["code"]?.string == "ApplicationThrottled")
            #expect(inner.contains { $0["status"] == .int(200) })
            try await g.expectSchemaValid()
        }
    }

    @Test func throttlingAndFaultsApplyToGraph() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let contacts = "/users/\(Self.alice)/contacts"
            // Exchange Online's 4 concurrent requests per app and mailbox: 8 at once with latency, some get 429.
            sim.control.setFaults(FaultConfiguration(latencyMilliseconds: 400))
            let statuses = try await withThrowingTaskGroup(of: GraphReply.self) { group in
                for _ in 0..<8 { group.addTask { try await g.get(contacts) } }
                var out: [GraphReply] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(statuses.filter { $0.status == 200 }.count >= 4)
            let limited = statuses.filter { $0.status == 429 }
            #expect(
                !limited.isEmpty
                    && limited.allSatisfy { $0.errorCode == "ApplicationThrottled" && $0.headers["retry-after"] != nil }
            )

            sim.control.setFaults(FaultConfiguration(graphRequestBudget: .init(requests: 3, windowSeconds: 600)))
            for _ in 0..<3 { #expect(try await g.get(contacts).status == 200) }
            let over = try await g.get(contacts)
            #expect(over.status == 429 && Int(over.headers["retry-after"] ?? "") ?? 0 > 500)

            sim.control.setFaults(
                FaultConfiguration(unavailable: .init(count: 1, retryAfterSeconds: 7), gatewayTimeout: .init(count: 1)))
            let unavailable = try await g.get(contacts)
            #expect(unavailable.status == 503 && unavailable.headers["retry-after"] == "7")
            #expect(try await g.get(contacts).status == 504)
            #expect(try await g.get(contacts).status == 200)

            // The change is applied, the response lost.
            sim.control.setFaults(FaultConfiguration(dropAfterCommit: .init(operation: "POST contacts")))
            // a connection of its own: a reused one that breaks is retried by libcurl until it times out
            var fresh = GraphClient(sim)
            fresh.token = g.token
            await #expect(throws: (any Error).self) {
                try await fresh.call("POST", contacts, json: json([("givenName", .string("Committed"))]), record: false)
            }
            sim.control.resetFaults()
            #expect(try await g.get(contacts + "?$filter=" + seg("givenName eq 'Committed'")).values.count == 1)
            #expect(sim.control.counters()["Graph GET contacts"] ?? 0 >= 10)
            try await g.expectSchemaValid()
        }
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// Graph events over the Calendar folder: singles, a weekly series, its instances, an exception and a
/// cancellation, seen the same through EWS; every response checked against the Graph v1.0 schema.
@Suite struct GraphEventsTests {
    static let alice = "alice@example.com"
    static let series = json([
        ("subject", .string("Weekly sync")),
        ("body", .object([("contentType", .string("html")), ("content", .string("<p>Agenda &amp; notes</p>"))])),
        ("start", .object([("dateTime", .string("2026-03-02T09:00:00")), ("timeZone", .string("UTC"))])),
        ("end", .object([("dateTime", .string("2026-03-02T09:30:00")), ("timeZone", .string("UTC"))])),
        ("location", .object([("displayName", .string("Room 4.12"))])),
        (
            "attendees",
            .array([
                .object([
                    ("type", .string("required")),
                    ("emailAddress", .object([("address", .string("bob@example.org")), ("name", .string("Bob"))])),
                ])
            ])
        ),
        (
            "recurrence",
            .object([
                (
                    "pattern",
                    .object([
                        ("type", .string("weekly")), ("interval", .int(1)), ("daysOfWeek", .array([.string("monday")])),
                    ])
                ),
                (
                    "range",
                    .object([
                        ("type", .string("numbered")), ("startDate", .string("2026-03-02")),
                        ("numberOfOccurrences", .int(6)),
                    ])
                ),
            ])
        ),
        ("transactionId", .string("7E163156-7762-4BEB-A1C6-729EA81755A7")),
    ])

    /// Events and To Do tasks listed in pages of 1,000 with snapsync's `$select` and `$expand`: every item once, in
    /// creation order, each as a single GET with the same query returns it.
    @Test func listingsInPagesOfAThousandReadAsSingleGets() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            try sim.control.seed(SeedRequest(mailbox: Self.alice, seed: 5, appointments: 2_300, tasks: 2_100))
            let g = try await GraphClient.signedIn(sim)
            let user = "/users/\(Self.alice)"
            let prefer = ["Prefer": "odata.maxpagesize=1000"]
            let crmId = "String%20%7B5c1b9e4a-3f0d-4c55-9b6e-5d7a2e8c1f30%7D%20Name%20SnapsyncCrmId"
            let eventQuery =
                "$select=subject,start,end,recurrence,changeKey,type,cancelledOccurrences&$expand=exceptionOccurrences,"
                + "singleValueExtendedProperties($filter=id%20eq%20'\(crmId)')"
            let events = try await g.all("\(user)/events?\(eventQuery)", headers: prefer)
            #expect(events.last.status == 200, "\(events.last.text)")
            #expect(events.pages == 3 && events.values.count == 2_300)
            let ids = events.values.compactMap { $0["id"]?.string }
            #expect(Set(ids).count == 2_300)
            #expect(events.values.allSatisfy { $0["changeKey"]?.string != nil })
            let top = try await g.all("\(user)/events?$top=1000&\(eventQuery)")
            #expect(top.pages == 3 && top.values.compactMap { $0["id"]?.string } == ids)
            let master = try #require(events.values.first { $0["type"]?.string == "seriesMaster" })
            #expect((master["exceptionOccurrences"]?.elements ?? []).count == 1)
            for listed in [events.values[0], master, events.values[2_299]] {
                let id = try #require(listed["id"]?.string)
                let single = try await g.get("\(user)/events/\(seg(id))?\(eventQuery)")
                var members = single.json.members ?? []
                members.removeAll { $0.0 == "@odata.context" }
                #expect(JSON.object(members) == listed)
            }
            let taskQuery = "$expand=linkedResources,extensions($filter=id%20eq%20'\(GraphTaskExtension.id)')"
            let taskList = try await g.defaultTasks(of: user)
            let tasks = try await g.all(taskList + "?\(taskQuery)", headers: prefer)
            #expect(tasks.pages == 3 && tasks.values.count == 2_100)
            #expect(Set(tasks.values.compactMap { $0["id"]?.string }).count == 2_100)
            for listed in [tasks.values[0], tasks.values[1_000], tasks.values[2_099]] {
                let id = try #require(listed["id"]?.string)
                let single = try await g.get("\(taskList)/\(seg(id))?\(taskQuery)")
                var members = single.json.members ?? []
                members.removeAll { $0.0 == "@odata.context" }
                #expect(JSON.object(members) == listed)
            }
            try await g.expectSchemaValid()
        }
    }

    /// A POST with a `transactionId` returns the calendar's first event with it: not one deleted since, and after a
    /// restore or a restart with `--data`, the event the restored or reloaded calendar holds.
    @Test func transactionIdFindsTheCalendarsEventThroughDeleteRestoreAndRestart() async throws {
        let dir = try PersistenceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = "/users/\(Self.alice)/events"
        func event(_ subject: String, transaction: String) -> String {
            json([
                ("subject", .string(subject)),
                ("start", .object([("dateTime", .string("2026-03-03T10:00:00")), ("timeZone", .string("UTC"))])),
                ("end", .object([("dateTime", .string("2026-03-03T11:00:00")), ("timeZone", .string("UTC"))])),
                ("transactionId", .string(transaction)),
            ])
        }
        let kept = try await withSimulator({
            $0.mailboxes = [Self.alice]; $0.dataDirectory = dir.path
        }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let first = try #require(try await g.post(events, event("First", transaction: "t-1")).json["id"]?.string)
            #expect(try await g.post(events, event("Again", transaction: "t-1")).json["id"]?.string == first)
            #expect(try await g.delete("\(events)/\(seg(first))").status == 204)
            let second = try #require(try await g.post(events, event("Second", transaction: "t-1")).json["id"]?.string)
            #expect(second != first)
            #expect(try await g.post(events, event("Again", transaction: "t-1")).json["id"]?.string == second)
            try sim.control.backup(name: "b", mailbox: Self.alice)
            // A PATCH moves the id to another event; after the restore the older one carries it again.
            let other = try #require(try await g.post(events, event("Other", transaction: "t-2")).json["id"]?.string)
            #expect(try await g.patch("\(events)/\(seg(second))", json([("transactionId", .null)])).status == 200)
            #expect(
                try await g.patch("\(events)/\(seg(other))", json([("transactionId", .string("t-1"))])).status == 200)
            #expect(try await g.post(events, event("Again", transaction: "t-1")).json["id"]?.string == other)
            try sim.control.restore(name: "b", mailbox: Self.alice)
            #expect(try await g.post(events, event("Again", transaction: "t-1")).json["id"]?.string == second)
            #expect(try await g.get(events).values.count == 1)
            try await g.expectSchemaValid()
            return second
        }
        try await withSimulator({ $0.dataDirectory = dir.path }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            #expect(try await g.post(events, event("Again", transaction: "t-1")).json["id"]?.string == kept)
            #expect(try await g.get(events).values.count == 1)
        }
    }

    @Test func seriesInstancesExceptionAndCancellationAreTheSameThroughGraphAndEWS() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            let g = try await GraphClient.signedIn(sim)
            let events = "/users/\(Self.alice)/events"
            let created = try await g.post(events, Self.series)
            #expect(created.status == 201, "\(created.text)")
            let masterId = try #require(created.json["id"]?.string)
            #expect(created.json["type"]?.string == "seriesMaster")
            #expect(
                created.json["recurrence"]?["pattern"]?["dayOfMonth"] == .int(0)
                    && created.json["recurrence"]?["range"]?["endDate"]?.string == "0001-01-01")
            // The same transactionId: the first event again, nothing new.
            let again = try await g.post(events, Self.series)
            #expect(again.json["id"]?.string == masterId)
            let single = try await g.post(
                events,
                json([
                    ("subject", .string("One-off")),
                    (
                        "start",
                        .object([
                            ("dateTime", .string("2026-03-03T10:00:00")),
                            ("timeZone", .string("W. Europe Standard Time")),
                        ])
                    ),
                    (
                        "end",
                        .object([
                            ("dateTime", .string("2026-03-03T11:00:00")),
                            ("timeZone", .string("W. Europe Standard Time")),
                        ])
                    ),
                ]))
            #expect(
                single.json["start"]?["dateTime"]?.string == "2026-03-03T09:00:00.0000000"
                    && single.json["originalStartTimeZone"]?.string == "W. Europe Standard Time")
            let listed = try await g.get(events)
            #expect(
                listed.values.count == 2
                    && Set(listed.values.compactMap { $0["type"]?.string }) == ["seriesMaster", "singleInstance"])

            let window = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-30T00:00:00Z"
            let instances = try await g.get("\(events)/\(seg(masterId))/instances?\(window)")
            #expect(
                instances.values.count == 6
                    && instances.values.allSatisfy {
                        $0["type"]?.string == "occurrence" && $0["seriesMasterId"]?.string == masterId
                    })
            let uids = Set(instances.values.compactMap { $0["iCalUId"]?.string })
            #expect(uids.count == 6)
            let second = try #require(instances.values[1]["id"]?.string),
                third = try #require(instances.values[2]["id"]?.string)
            let masterKey = try #require(created.json["changeKey"]?.string)

            let moved = try await g.patch(
                "\(events)/\(seg(second))",
                json([
                    ("subject", .string("Moved sync")),
                    ("start", .object([("dateTime", .string("2026-03-09T11:00:00")), ("timeZone", .string("UTC"))])),
                    ("end", .object([("dateTime", .string("2026-03-09T11:30:00")), ("timeZone", .string("UTC"))])),
                ]))
            #expect(
                moved.status == 200 && moved.json["type"]?.string == "exception"
                    && moved.json["subject"]?.string == "Moved sync")
            #expect(try await g.patch("\(events)/\(seg(second))", json([("recurrence", .null)])).status == 400)
            #expect(try await g.delete("\(events)/\(seg(third))").status == 204)
            #expect(try await g.get("\(events)/\(seg(third))").status == 404)

            let master = try await g.get(
                "\(events)/\(seg(masterId))?$select=subject,start,end,cancelledOccurrences,exceptionOccurrences&$expand=exceptionOccurrences"
            )
            #expect(master.json["changeKey"] == nil)
            #expect(master.json["cancelledOccurrences"] == .array([.string("OID.\(masterId).2026-03-16")]))
            let exceptions = master.json["exceptionOccurrences"]?.elements ?? []
            #expect(exceptions.count == 1 && exceptions.first?["subject"]?.string == "Moved sync")
            let full = try await g.get("\(events)/\(seg(masterId))")
            #expect(full.json["cancelledOccurrences"] == nil && full.json["changeKey"]?.string != masterKey)
            let view = try await g.get("/users/\(Self.alice)/calendarView?\(window)&$top=50")
            #expect(view.values.count == 6)  // 5 of the series (one cancelled) and the single
            #expect(view.values.filter { $0["type"]?.string == "exception" }.count == 1)

            // EWS sees the series as Graph left it.
            let ewsId = GraphIdentifier.ews(fromREST: masterId)
            let ews = try await c.ews(Req.getItem([ewsId]))
            #expect(ews.text.contains("<t:ModifiedOccurrences>") && ews.text.contains("<t:DeletedOccurrences>"))
            #expect(
                ews.text.contains("<t:Subject>Weekly sync</t:Subject>")
                    && ews.text.contains("<t:Location>Room 4.12</t:Location>"))
            #expect(ews.text.contains("bob@example.org"))
            let occurrence = try await c.ews(Req.getItem([GraphIdentifier.ews(fromREST: second)]))
            #expect(
                occurrence.text.contains("<t:Subject>Moved sync</t:Subject>")
                    && occurrence.text.contains("<t:CalendarItemType>Exception</t:CalendarItemType>"))

            // An EWS change shows through Graph: text body preferred, time zone applied.
            _ = try await c.ews(
                Req.setSubject(id: ewsId, changeKey: nil, subject: "Weekly sync (EWS)", kind: "CalendarItem"))
            let afterEWS = try await g.get(
                "\(events)/\(seg(masterId))",
                headers: ["Prefer": "outlook.timezone=\"Pacific Standard Time\", outlook.body-content-type=\"text\""])
            #expect(afterEWS.json["subject"]?.string == "Weekly sync (EWS)")
            #expect(
                afterEWS.json["body"]?["contentType"]?.string == "text"
                    && afterEWS.json["body"]?["content"]?.string == "Agenda & notes")
            #expect(
                afterEWS.json["start"]?["timeZone"]?.string == "Pacific Standard Time"
                    && afterEWS.json["start"]?["dateTime"]?.string == "2026-03-02T01:00:00.0000000")
            #expect(afterEWS.headers["preference-applied"]?.contains("outlook.timezone") == true)

            #expect(try await g.get("/users/\(Self.alice)/calendarView").status == 400)
            #expect(
                try await g.post(
                    events,
                    json([
                        ("subject", .string("x")),
                        (
                            "recurrence",
                            .object([
                                ("pattern", .object([("type", .string("weekly"))])),
                                ("range", .object([("type", .string("noEnd")), ("startDate", .string("2026-01-01"))])),
                            ])
                        ),
                    ])
                ).status == 400)
            #expect(try await g.delete("\(events)/\(seg(masterId))").status == 204)
            #expect(try await g.get("\(events)/\(seg(second))").status == 404)
            try await g.expectSchemaValid()
        }
    }

    @Test func seededSeriesReadThroughGraphAsEWSStoresThem() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            try sim.control.seed(SeedRequest(mailbox: Self.alice, seed: 3, contacts: 0, appointments: 12, tasks: 0))
            let g = try await GraphClient.signedIn(sim)
            let all = try await g.all("/users/\(Self.alice)/events?$top=5").values
            let stored = sim.control.store.withState { s in
                Array(s.mailbox(Self.alice)!.folders["calendar"]!.items.values)
            }
            #expect(all.count == stored.count)
            for item in stored {
                let e = try #require(
                    all.first {
                        $0["id"]?.string
                            == GraphIdentifier.id(mailbox: Self.alice, number: item.number, immutable: false)
                    })
                #expect(e["subject"]?.string == item.fields["Subject"]?.text)
                #expect(e["iCalUId"]?.string == item.fields["UID"]?.value)
                #expect(e["isAllDay"] == .bool(item.fields["IsAllDayEvent"]?.value == "true"))
                #expect(e["start"]?["dateTime"]?.string == String(item.fields["Start"]!.value.dropLast()) + ".0000000")
                #expect(e["location"]?["displayName"]?.string == item.fields["Location"]?.text)
                #expect(e["type"]?.string == (item.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster"))
                let attendees = ["RequiredAttendees", "OptionalAttendees", "Resources"].reduce(0) {
                    $0 + (item.fields[$1]?.children.count ?? 0)
                }
                #expect(e["attendees"]?.elements?.count == attendees)
                if let deleted = item.fields["DeletedOccurrences"] {
                    let id = try #require(e["id"]?.string)
                    let m = try await g.get("/users/\(Self.alice)/events/\(seg(id))?$select=cancelledOccurrences")
                    #expect(m.json["cancelledOccurrences"]?.elements?.count == deleted.children.count)
                }
            }
            try await g.expectSchemaValid()
        }
    }
}

import Foundation
import HTTP
import Logging
import SyncCore
import Synchronization
import Testing
import TestSupport
@testable import Graph

/// Microsoft's own example responses (`Tests/Fixtures/graph-samples/`) read by the mapping, the error
/// classification and the batch client: fields in any order, unknown fields ignored, nulls.
@Suite struct GraphSampleTests {
    static func sample(_ name: String) throws -> GraphJSON {
        let url = SharedDirectory.fixtures.appendingPathComponent("graph-samples/\(name)")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingSample(path: url.path)
        }
        return try GraphJSON.parse(Array(data))
    }

    struct MissingSample: Error, CustomStringConvertible {
        var path: String
        var description: String { "the Graph sample is missing at \(path) (set SNAPSYNC_SHARED_DIR)" }
    }

    static let owner = MailboxOwner(smtpAddress: "alex@example.com", userID: UUID())

    @Test func aContactWithNullsAndEmptyObjectsReads() throws {
        let item = try GraphMailboxSource.mailboxItem(
            try Self.sample("01_contact_get.json"), kind: .contacts, owner: Self.owner, requested: "x"
        ).get()
        guard case .contact(let contact) = item.record else { Issue.record("not a contact"); return }
        #expect(contact.displayName == "Alex Wilber" && contact.givenName == "Alex" && contact.surname == "Wilber")
        #expect(contact.email1 == "Alex@FineArtSchool.net" && contact.email2 == nil)
        #expect(contact.birthday == nil && contact.notes == nil && contact.street == nil && contact.categories == [])
        #expect(item.crmID == nil, "no stamp")
        #expect(item.ref.changeKey == "EQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAAYc8Bf")
        #expect(item.lastModified == ISO8601.parseDateTime("2017-09-04T15:54:02Z"))
    }

    @Test func aTaskStampIsItsSnapsyncLinkedResourceOnly() throws {
        let list = try Self.sample("07_todo_tasks_linkedResources.json")
        let body = try #require(list["value"]?.array?.first)
        let item = try GraphMailboxSource.mailboxItem(body, kind: .tasks, owner: Self.owner, requested: "x").get()
        guard case .task(let task) = item.record else { Issue.record("not a task"); return }
        #expect(task.subject == "Linked entity new task 1" && task.status == .notStarted && task.importance == .low)
        #expect(
            Set(task.categories) == ["Important", "Urgent"] && task.body == nil && task.ownerID == Self.owner.userID)
        #expect(item.crmID == nil, "another application's linked resource is no stamp")
        #expect(item.ref.changeKey == "W/\"xzyPKP0BiUGgld+lMKXwbQAAgdhkVw==\"", "a To Do task's version is its etag")

        var stamped = body.object!
        let id = UUID()
        stamped["linkedResources"] = [["applicationName": "snapsync", "externalId": .string(id.uuidString), "id": "1"]]
        #expect(
            try GraphMailboxSource.mailboxItem(.object(stamped), kind: .tasks, owner: Self.owner, requested: "x").get()
                .crmID == id)
    }

    /// A task's percentage is its `com.snapsync.task` extension's; without the extension (a task made in To Do)
    /// it is 100 when completed and 0 otherwise; an unreadable one quarantines the task, naming the field.
    @Test func aTaskPercentageComesFromItsExtensionElseFromItsStatus() throws {
        let list = try Self.sample("07_todo_tasks_linkedResources.json")
        var body = try #require(list["value"]?.array?.first?.object)
        func percentage(_ body: GraphJSON.Members) throws -> Int {
            let item = try GraphMailboxSource.mailboxItem(
                .object(body), kind: .tasks, owner: Self.owner, requested: "x"
            )
            .get()
            guard case .task(let task) = item.record else { throw MissingSample(path: "not a task") }
            return task.percentComplete
        }
        #expect(try percentage(body) == 0)
        body["status"] = "completed"
        #expect(try percentage(body) == 100)
        body["status"] = "inProgress"
        body["extensions"] = [
            [
                "@odata.type": "#microsoft.graph.openTypeExtension",
                "id": "microsoft.graph.openTypeExtension.com.snapsync.task",
                "extensionName": "com.snapsync.task", "percentComplete": 35,
            ]
        ]
        #expect(try percentage(body) == 35)
        body["status"] = "completed"
        #expect(try percentage(body) == 100, "completed in To Do, which leaves the extension as it was")
        body["status"] = "notStarted"
        body["extensions"] = [["extensionName": "com.snapsync.task", "percentComplete": 100]]
        #expect(try percentage(body) == 0, "reopened in To Do after snapsync wrote 100")
        body["extensions"] = [["extensionName": "com.contoso.other", "percentComplete": 35]]
        #expect(try percentage(body) == 0, "another application's extension is not the percentage")
        body["extensions"] = [["extensionName": "com.snapsync.task", "percentComplete": "a lot"]]
        let failure = GraphMailboxSource.mailboxItem(.object(body), kind: .tasks, owner: Self.owner, requested: "x")
        guard case .failure(let error) = failure else { Issue.record("an unreadable percentage was read"); return }
        #expect(error.code == "InvalidItem" && error.message.contains("alex@example.com"), "\(error.message)")
        #expect(error.message.contains("percentComplete") && !error.message.contains("a lot"), "\(error.message)")
    }

    @Test func aSeriesMasterReadsItsExceptionsAndCancellations() throws {
        var body = try Self.sample("12_event_seriesMaster_cancelled_exception_occurrences.json").object!
        // The sample was fetched with a narrow $select: the mapping needs a start and an end, which it has.
        body["recurrence"] = try Self.sample("02_events_list_seriesMaster.json")["value"]?.array?.first?["recurrence"]
        body["type"] = "seriesMaster"
        let item = try GraphMailboxSource.mailboxItem(
            .object(body), kind: .appointments, owner: Self.owner, requested: "x"
        ).get()
        guard case .appointment(let series) = item.record else { Issue.record("not an appointment"); return }
        #expect(series.subject == "Daily stand-up")
        #expect(series.startsAt == ISO8601.parseDateTime("2020-04-23T11:30:00Z"))
        #expect(series.recurrence?.hasPrefix("FREQ=WEEKLY") == true)
        let cancelled = series.exceptions.filter(\.isCancelled).map(\.originalStart)
        #expect(
            cancelled == ["2020-04-30", "2020-05-07", "2020-05-14"].map { ISO8601.parseDateTime("\($0)T11:30:00Z")! })
        let moved = try #require(series.exceptions.first { !$0.isCancelled })
        #expect(moved.originalStart == ISO8601.parseDateTime("2020-05-21T11:30:00Z"))
        #expect(moved.startsAt == ISO8601.parseDateTime("2020-05-21T11:30:00Z"))
    }

    @Test func anOccurrenceIsNoCRMRecord() throws {
        let instances = try #require(try Self.sample("03_event_instances.json")["value"]?.array)
        for instance in instances {
            let result = GraphMailboxSource.mailboxItem(
                instance, kind: .appointments, owner: Self.owner, requested: "x")
            guard case .failure(let error) = result else {
                Issue.record("an occurrence was read as a record"); continue
            }
            #expect(error.kind == .permanent && error.code == "UnexpectedItemType")
        }
    }

    @Test func wrongTypesAndMissingFieldsNameTheItem() throws {
        var contact = try Self.sample("01_contact_get.json").object!
        contact["displayName"] = 42
        let result = GraphMailboxSource.mailboxItem(
            .object(contact), kind: .contacts, owner: Self.owner, requested: "x")
        guard case .failure(let error) = result else { Issue.record("a number as displayName was read"); return }
        #expect(error.kind == .permanent && error.code == "InvalidItem" && error.itemID == contact["id"]?.string)
        #expect(error.message.contains("alex@example.com") && error.message.contains("displayName"))
        #expect(!error.message.contains("Alex Wilber"), "no record data in the message")
        #expect(throws: GraphError.self) { try GraphJSON.parse(Array("{\"id\": ".utf8)) }
    }

    @Test func graphErrorsTakeThePipelinesPaths() throws {
        let request = GraphRequest(.get, "/users/x/contacts/delta", operation: "GET contacts delta")
        let gone = GraphClient.error(
            status: 410, body: try Self.sample("11_error_410_SyncStateNotFound.json"), headers: [:],
            request: request, mailbox: "alex@example.com")
        #expect(GraphMailboxSource.neutral(gone).kind == .invalidSyncState)
        #expect(gone.serviceCode == "SyncStateNotFound")
        let throttled = GraphClient.error(
            status: 429, body: try Self.sample("10_error_429_ApplicationThrottled.json"),
            headers: ["retry-after": "7"], request: request, mailbox: "alex@example.com")
        #expect(GraphMailboxSource.neutral(throttled).kind == .transient && throttled.retryAfter == .seconds(7))
        let odata = GraphClient.error(
            status: 403, body: ["error": ["code": "ErrorAccessDenied", "message": "Access to OData is disabled."]],
            headers: [:], request: request, mailbox: "alex@example.com")
        let neutral = GraphMailboxSource.neutral(odata)
        #expect(neutral.kind == .mailboxRefused && neutral.message.contains("alex@example.com"))
        #expect(
            GraphMailboxSource.neutral(
                GraphClient.error(status: 412, body: nil, headers: [:], request: request, mailbox: "a")
            ).kind == .conflict)
        #expect(
            GraphMailboxSource.neutral(
                GraphClient.error(status: 404, body: nil, headers: [:], request: request, mailbox: "a")
            ).kind == .notFound)
    }

    @Test func theRetryPolicyHonoursRetryAfterAndNeverResendsAnAmbiguousCreate() {
        let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        let throttled = GraphError(
            .service(status: 429, code: "ApplicationThrottled"), operation: "GET", retryAfter: .seconds(3))
        #expect(
            policy.decide(throttled, attempt: 1, isIdempotent: true, random: 0.5)
                == .retry(after: .seconds(3), reason: "ApplicationThrottled Retry-After"))
        let gateway = GraphError(.service(status: 504, code: "GatewayTimeout"), operation: "GET")
        #expect(
            policy.decide(gateway, attempt: 2, isIdempotent: true, random: 0)
                == .retry(after: .milliseconds(100), reason: "HTTP 504"))
        #expect(policy.decide(gateway, attempt: 4, isIdempotent: true, random: 0) == .fail)
        let lost = GraphError(.transport("connectionLost", ambiguous: true), operation: "POST contacts")
        #expect(policy.decide(lost, attempt: 1, isIdempotent: false, random: 0) == .fail)
        #expect(
            policy.decide(
                GraphError(.service(status: 400, code: "BadRequest"), operation: "GET"), attempt: 1, isIdempotent: true,
                random: 0) == .fail)
    }

    @Test func recurrenceRulesRoundTripThroughPatternedRecurrence() throws {
        let start = LocalDate(year: 2024, month: 3, day: 4)!
        for text in [
            "FREQ=DAILY;INTERVAL=2;COUNT=5", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240630", "FREQ=MONTHLY;BYMONTHDAY=4",
            "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=4",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2",
        ] {
            let rule = try RecurrenceRule(rrule: text)
            let json = try GraphRecurrence.json(rule, start: start, zone: "W. Europe Standard Time")
            let back = try #require(try GraphRecurrence.rule(json))
            #expect(back.normalized(seriesStart: start) == rule.normalized(seriesStart: start), "\(text)")
        }
    }
}

/// The batch client against a scripted Graph: only the failed requests of a batch are sent again.
@Suite struct GraphBatchTests {
    final class ScriptedGraph: GraphTransport, @unchecked Sendable {
        let lock = Mutex(())
        var batches: [[String]] = []
        var tokenRequests = 0
        var inner429Left = 1

        func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
            lock.withLock { _ in answer(request) }
        }

        func answer(_ request: HTTPRequest) -> HTTPResponse {
            if request.url.hasSuffix("/oauth2/v2.0/token") {
                tokenRequests += 1
                return HTTPResponse(
                    status: 200,
                    body: Array(#"{"token_type":"Bearer","expires_in":3599,"access_token":"t\#(tokenRequests)"}"#.utf8))
            }
            guard request.headers["Authorization"]?.hasPrefix("Bearer t") == true,
                let body = try? GraphJSON.parse(request.body), let requests = body["requests"]?.array
            else {
                return HTTPResponse(status: 400)
            }
            let ids = requests.compactMap { $0["id"]?.string }
            batches.append(ids)
            var responses: [GraphJSON] = []
            for id in ids.reversed() {
                if id == "1" && inner429Left > 0 {
                    inner429Left -= 1
                    responses.append([
                        "id": .string(id), "status": 429, "headers": ["Retry-After": "0"],
                        "body": ["error": ["code": "TooManyRequests", "message": "Please retry again later."]],
                    ])
                } else if id == "2" {
                    responses.append([
                        "id": .string(id), "status": 404,
                        "body": ["error": ["code": "ErrorItemNotFound", "message": "not found"]],
                    ])
                } else {
                    responses.append(["id": .string(id), "status": 200, "body": ["id": .string("item-\(id)")]])
                }
            }
            return HTTPResponse(status: 200, body: GraphJSON.object(["responses": .array(responses)]).bytes)
        }
    }

    @Test func onlyTheThrottledRequestsAreSentAgain() async throws {
        let graph = ScriptedGraph()
        var configuration = GraphClient.Configuration(
            baseURL: "https://graph.example/v1.0",
            credentials: GraphCredentials(
                tenant: "t", clientID: "c", clientSecret: "s",
                authority: "https://login.example"))
        configuration.retry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        let client = GraphClient(
            configuration: configuration, transport: graph, logger: Logger(label: "graph-test"), sleep: { _ in })
        let requests = (0..<25).map { GraphRequest(.get, "/users/a/contacts/\($0)", operation: "GET contacts") }
        let results = try await client.batch(requests, mailbox: "a@example.com")
        #expect(results.count == 25)
        #expect(graph.batches.map(\.count) == [20, 1, 5], "20, then the throttled one alone, then the rest")
        #expect(graph.batches[1] == ["1"])
        #expect(try results[1].get().body?["id"]?.string == "item-1")
        guard case .failure(let missing) = results[2] else { Issue.record("a 404 succeeded"); return }
        #expect(GraphMailboxSource.neutral(missing).kind == .notFound)
        #expect(try results[24].get().body?["id"]?.string == "item-24")
        #expect(graph.tokenRequests == 1, "the token is cached")
    }
}

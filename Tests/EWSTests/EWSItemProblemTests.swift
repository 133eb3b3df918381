import Foundation
import HTTP
import Logging
import Synchronization
import SyncCore
import Testing
@testable import EWS

/// Answers each GetItem with a task per requested id; an answer that holds the id `bad` is cut off mid-element.
final class ItemEchoTransport: EWSTransport {
    private let sent = Mutex<[[String]]>([])
    /// The ids of each request, in order.
    var requests: [[String]] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = String(decoding: request.body, as: UTF8.self)
        let ids = body.components(separatedBy: #"<t:ItemId Id=""#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
        sent.withLock { $0.append(ids) }
        let messages = ids.map { id in
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="\#(id)" ChangeKey="ck"/>"#
                + #"<t:Subject>\#(id == "bad" ? "<t:Broken>" : "task")</t:Subject><t:Status>NotStarted</t:Status></t:Task></m:Items>"#
        }
        return HTTPResponse(
            status: 200, headers: ["Content-Type": "text/xml; charset=utf-8"],
            body: Responses.envelope("GetItem", messages))
    }
}

@Suite struct EWSItemProblemTests {
    func client(_ transport: ItemEchoTransport) -> EWSClient {
        EWSClient(
            configuration: EWSClient.Configuration(endpoint: "http://127.0.0.1:1/EWS/Exchange.asmx"),
            transport: transport,
            logger: Logger(label: "test"), sleeper: RecordingSleeper(), random: { 0.5 })
    }

    @Test func aBatchWithAnUnreadableItemIsHalvedDownToThatItem() async throws {
        let transport = ItemEchoTransport()
        var ids = (0..<100).map { ItemId("item\($0)") }
        ids[37] = ItemId("bad")
        let results = try await client(transport).getItems(ids, mapping: EWSMappings.task, mailbox: "kim@example.com")
        #expect(results.count == 100)
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let item): #expect(index != 37 && item.itemId?.id == ids[index].id)
            case .failure(let error):
                #expect(index == 37 && error.itemID == "bad" && error.mailbox == "kim@example.com")
                if case .decoding = error.code {} else { Issue.record("unexpected \(error.code)") }
            }
        }
        // The batch, then both halves of each failing part down to the single item: 13 requests for 100 items.
        #expect(transport.requests.filter { $0.contains("bad") }.map(\.count) == [100, 50, 25, 13, 6, 3, 1])
        #expect(transport.requests.count == 1 + 2 * 6)
    }

    @Test func aBatchWithoutBadItemsIsOneRequest() async throws {
        let transport = ItemEchoTransport()
        let results = try await client(transport).getItems(
            (0..<100).map { ItemId("item\($0)") }, mapping: EWSMappings.task, mailbox: "kim@example.com")
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        #expect(transport.requests.count == 1)
    }

    @Test func anUnreadableValueMakesOnlyItsItemUnmappable() throws {
        let messages = [
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="a"/><t:DueDate>soon</t:DueDate><t:Status>NotStarted</t:Status></t:Task></m:Items>"#,
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="b"/><t:Subject>fine</t:Subject></t:Task></m:Items>"#,
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="c"/><t:Status>Postponed</t:Status></t:Task></m:Items>"#,
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="d"/><t:End>2026-01-05T10:00:00Z</t:End></t:CalendarItem></m:Items>"#,
        ]
        let response = try EWSResponseDecoder.decode(Responses.envelope("GetItem", messages))
        let items = response.messages.compactMap(\.items.first)
        guard items.count == 4, case .task(let a) = items[0], case .task(let b) = items[1],
            case .task(let c) = items[2],
            case .calendarItem(let d) = items[3]
        else {
            Issue.record("decoded \(items)")
            return
        }
        #expect(a.unreadableFields == ["DueDate"])
        #expect(EWSMappings.task.problem(in: a) == "field DueDate cannot be read")
        #expect(EWSMappings.task.problem(in: b) == "required field Status (task:Status) is missing")
        #expect(EWSMappings.task.problem(in: c) == "field Status (task:Status) has a value Exchange does not define")
        #expect(EWSMappings.appointment.problem(in: d) == "required field Start (calendar:Start) is missing")
    }

    @Test func anOccurrenceKeepsOnlyTheSubjectAndLocationOfItsOwn() {
        var series = EWSCalendarItem()
        series.subject = "Weekly"
        series.location = "Room 1"
        series.start = Date(timeIntervalSince1970: 1_767_600_000)
        series.end = series.start?.addingTimeInterval(1800)
        let moved = Date(timeIntervalSince1970: 1_767_600_000 + 7 * 86_400),
            renamed = Date(timeIntervalSince1970: 1_767_600_000 + 14 * 86_400)
        series.modifiedOccurrences = [
            EWSOccurrence(
                start: moved.addingTimeInterval(3600), end: moved.addingTimeInterval(5400), originalStart: moved,
                subject: "Weekly (moved)", location: "Room 1"),
            EWSOccurrence(
                start: renamed, end: renamed.addingTimeInterval(1800), originalStart: renamed, subject: "Weekly",
                location: "Room 2"),
        ]
        let exceptions = EWSMappings.appointment.record(of: series).exceptions.sorted {
            $0.originalStart < $1.originalStart
        }
        #expect(exceptions.map(\.subject) == ["Weekly (moved)", nil])
        #expect(exceptions.map(\.location) == [nil, "Room 2"])
    }
}

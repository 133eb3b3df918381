import EWS
import Foundation
import HTTP
import SyncCore
import Testing
import TestSupport

/// What the pipeline gets from ``EWSMailboxSource/items(_:in:kind:)`` for items Exchange returns incompletely.
@Suite struct EWSMailboxSourceItemTests {
    static let owner = MailboxOwner(smtpAddress: "anna@example.com", userID: UUID())

    /// An item Exchange returns without its ItemId cannot be linked or written back: it fails with a reason saying
    /// so (the extract quarantines it with that reason), and the items around it are still read.
    @Test func anItemWithoutItemIdFailsWithThatReason() async throws {
        let complete =
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="T2" ChangeKey="c2"/><t:Subject>Call back</t:Subject><t:Status>NotStarted</t:Status></t:Task></m:Items>"#
        let missing =
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:Subject>Lost</t:Subject></t:Task></m:Items>"#
        let transport = ScriptedTransport([ScriptedTransport.xml(Responses.envelope("GetItem", [missing, complete]))])
        let client = EWSClient(
            configuration: EWSClient.Configuration(endpoint: "http://127.0.0.1:1/EWS/Exchange.asmx"),
            transport: transport, logger: CapturedLogs().logger(), sleeper: RecordingSleeper(), random: { 0.5 })
        let results = try await EWSMailboxSource(client: client).items(
            [MailboxItemRef(id: "T1"), MailboxItemRef(id: "T2")],
            in: Self.owner, kind: .tasks)
        #expect(results.count == 2)
        guard case .failure(let error) = results[0] else {
            Issue.record("the item without ItemId was accepted: \(results[0])"); return
        }
        #expect(error.code == "MissingItemId")
        #expect(error.kind == .permanent)
        #expect(error.itemID == "T1")
        #expect(error.message.contains("without an ItemId"))
        #expect((try? results[1].get())?.ref.id == "T2")
    }
}

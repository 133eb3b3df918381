import Foundation
import Testing
import SyncCore
@testable import EWS

/// Real Exchange responses from ../shared/ews-samples decode into the values they hold.
@Suite struct EWSSampleDecodingTests {
    func decode(_ name: String) throws -> EWSResponse { try EWSResponseDecoder.decode(try Fixtures.sample(name)) }

    @Test func findItemIndexedPaging() throws {
        let response = try decode("01_FindItem_IndexedPaging_page1_response.xml")
        #expect(
            response.serverVersion
                == ServerVersionInfo(
                    majorVersion: 15, minorVersion: 0, majorBuildNumber: 775, minorBuildNumber: 35, version: "V2_4"))
        #expect(response.messages.count == 1)
        let message = response.messages[0]
        #expect(message.isSuccess && message.responseCode == "NoError")
        #expect(
            message.paging == EWSPaging(indexedPagingOffset: 6, totalItemsInView: 8, includesLastItemInRange: false))
        #expect(
            message.items.map(\.subject) == [
                "Query", "Update", "Planning resources", "Timeline", "For your perusal", "meeting notes",
            ])
        #expect(message.items.allSatisfy { $0.itemId == ItemId("AAMkAGM2...", changeKey: "CQAAABYA...") })
        if case .other(let item) = message.items[0] {
            #expect(item.elementName == "Message")
        } else {
            Issue.record("expected a message")
        }
    }

    @Test func getItemCalendarBatch() throws {
        let response = try decode("02_GetItem_CalendarItem_batch_response.xml")
        #expect(response.serverVersion?.majorBuildNumber == 847 && response.serverVersion?.version == "V2_8")
        let items = response.messages.flatMap(\.items).compactMap { item -> EWSCalendarItem? in
            if case .calendarItem(let c) = item { return c } else { return nil }
        }
        #expect(response.messages.count == 3 && items.count == 3)
        #expect(items.map(\.subject) == ["Review current quarterly deliverables", "Food bank delivery", "Code Blast"])
        #expect(
            items.map(\.start) == [
                Fixtures.date("2014-01-19T18:59:07Z"), Fixtures.date("2014-01-18T18:59:07Z"),
                Fixtures.date("2014-01-20T18:59:08Z"),
            ])
        #expect(
            items.map(\.end) == [
                Fixtures.date("2014-01-19T21:59:07Z"), Fixtures.date("2014-01-18T19:59:07Z"),
                Fixtures.date("2014-01-21T00:59:08Z"),
            ])
        #expect(items.map(\.location) == ["Local food bank", nil, "The lounge"])
        #expect(items.map(\.calendarItemType) == ["Single", "RecurringMaster", "Single"])
        #expect(items.map(\.reminderMinutesBeforeStart) == [30, 15, 30])
        // the sample escapes twice: &amp;lt; is the text "&lt;"
        #expect(items[0].body?.contains("&lt;html&gt;") == true)
        #expect(items[0].body?.contains("Wrap up all outstanding deliverables") == true)
        #expect(
            items[2].requiredAttendees.map(\.emailAddress) == [
                "Mack@contoso.com", "Sadie@contoso.com", "Magdalena@contoso.com",
            ])
        #expect(items[2].requiredAttendees.allSatisfy { $0.responseType == "Unknown" && $0.name == $0.emailAddress })
        #expect(items[0].itemId == ItemId("AAMkA", changeKey: "DwAAA"))

        let record = EWSMappings.appointment.record(of: items[2])
        #expect(record.subject == "Code Blast" && record.location == "The lounge")
        #expect(record.attendees.map(\.email) == ["Mack@contoso.com", "Sadie@contoso.com", "Magdalena@contoso.com"])
        #expect(record.attendees.allSatisfy { $0.kind == .required })
    }

    @Test func createItemBatch() throws {
        let response = try decode("03_CreateItem_CalendarItem_batch_response.xml")
        #expect(response.serverVersion?.minorBuildNumber == 12)
        #expect(response.messages.count == 3)
        #expect(
            response.messages.allSatisfy {
                $0.isSuccess && $0.items.map(\.itemId) == [ItemId("AAMkA", changeKey: "DwAAA")]
            })
    }

    @Test func updateItemConflictResults() throws {
        let response = try decode("04_UpdateItem_batch_ConflictResults_response.xml")
        #expect(response.messages.count == 3)
        #expect(response.messages.allSatisfy { $0.isSuccess && $0.conflictCount == 1 && $0.items.count == 1 })
    }

    @Test func deleteItemNotFoundPerItem() throws {
        let response = try decode("05_DeleteItem_batch_ErrorItemNotFound_response.xml")
        #expect(response.messages.count == 3)
        for message in response.messages {
            #expect(!message.isSuccess)
            #expect(message.responseCode == "ErrorItemNotFound")
            #expect(message.messageText == "The specified object was not found in the store.")
            let error = try #require(
                message.error(operation: "DeleteItem", mailbox: "anna@example.com", itemID: "AAMk1"))
            #expect(error.code == .responseCode("ErrorItemNotFound"))
            #expect(
                error.description
                    == "EWS DeleteItem for anna@example.com item AAMk1 failed: ErrorItemNotFound: The specified object was not found in the store."
            )
        }
    }

    @Test func syncFolderItemsChanges() throws {
        let response = try decode("06_SyncFolderItems_changes_response.xml")
        #expect(response.serverVersion?.version == "V2_3")
        let message = try #require(response.messages.first)
        #expect(message.syncState == "H4sIAAAAAAAEAO29B2AcSZY==")
        #expect(message.includesLastItemInRange == true)
        #expect(message.changes.count == 5)
        guard message.changes.count == 5 else { return }
        guard case .update(let updated) = message.changes[0], case .create(let created) = message.changes[1],
            case .create(let created2) = message.changes[2]
        else { Issue.record("unexpected change kinds"); return }
        #expect(updated.itemId == ItemId("q04QAAAA==", changeKey: "CQAAABYAAADZGACZQpSgSpyNkexYe2b7AAAAird/"))
        #expect(updated.subject == "RE: Company Soccer Team")
        #expect(created.itemId == ItemId("AQMkAD+"))
        #expect(created.subject == "RE: Review Proposal for Contoso")
        #expect(created2.itemId == ItemId("Q04AAAAA==", changeKey: "AAAirbnd"))
        #expect(message.changes[3] == .readFlagChange(ItemId(" q07AAAAA==", changeKey: "CQAAAA=="), isRead: true))
        #expect(message.changes[4] == .delete(ItemId(" q1AwAAAA==", changeKey: "CQAAAA==")))
    }

    @Test func syncFolderItemsInvalidSyncState() throws {
        let response = try decode("07_SyncFolderItems_ErrorInvalidSyncStateData_response.xml")
        #expect(
            response.serverVersion
                == ServerVersionInfo(
                    majorVersion: 8, minorVersion: 0, majorBuildNumber: 628, minorBuildNumber: 0, version: nil))
        let message = try #require(response.messages.first)
        #expect(message.responseCode == "ErrorInvalidSyncStateData")
        #expect(message.messageText == "Synchronization state data is corrupt or otherwise invalid.")
        #expect(message.syncState == "")
        let error = try #require(message.error(operation: "SyncFolderItems", mailbox: "anna@example.com"))
        #expect(error.code == .invalidSyncState)
    }

    @Test func serverBusyAsMessage() throws {
        let response = try decode("08_SyncFolderItems_ErrorServerBusy_BackOff_response.xml")
        #expect(
            response.serverVersion
                == ServerVersionInfo(
                    majorVersion: 15, minorVersion: 20, majorBuildNumber: 8769, minorBuildNumber: 35,
                    version: "V2018_01_08"))
        let message = try #require(response.messages.first)
        #expect(message.backOffMilliseconds == 5000)
        #expect(message.messageText?.hasSuffix("Suggested backoff time 5000 ms.") == true)
        let error = try #require(message.error(operation: "SyncFolderItems", mailbox: "anna@example.com"))
        #expect(error.code == .serverBusy(backOff: .milliseconds(5000)))
    }

    @Test func serverBusyAsFault() throws {
        let response = try decode("09_Fault_ErrorServerBusy_BackOffMilliseconds.xml")
        #expect(response.serverVersion == nil && response.messages.isEmpty)
        let fault = try #require(response.fault)
        #expect(fault.faultCode == "ErrorServerBusy")
        #expect(fault.faultString == "The server cannot service this request right now. Try again later.")
        #expect(fault.responseCode == "ErrorServerBusy")
        #expect(fault.message == "The server cannot service this request right now. Try again later.")
        #expect(fault.backOffMilliseconds == 297_749)
        let error = try #require(response.faultError(operation: "GetItem", mailbox: "anna@example.com"))
        #expect(error.code == .serverBusy(backOff: .milliseconds(297_749)))
    }

    @Test func convertIdErrorWithServerVersion() throws {
        let response = try decode("10_ConvertId_error_with_ServerVersionInfo_response.xml")
        #expect(
            response.serverVersion
                == ServerVersionInfo(
                    majorVersion: 15, minorVersion: 1, majorBuildNumber: 2345, minorBuildNumber: 6789,
                    version: "V2017_07_11"))
        let message = try #require(response.messages.first)
        #expect(message.responseClass == "Error" && message.responseCode == "ErrorInvalidSmtpAddress")
        #expect(message.messageText == "The SMTP address format is invalid.")
    }

    @Test func everySampleDecodes() throws {
        let directory = try Fixtures.sharedDirectory.appendingPathComponent("ews-samples")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".xml") }
        #expect(names.count >= 10)
        for name in names {
            let response = try decode(name)
            #expect(!response.messages.isEmpty || response.fault != nil, "\(name)")
        }
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// What independent EWS clients rely on beyond snapsync's own requests: MAPI property tags that name first-class
/// properties, the store's computed properties, calendar views that expand series, and access rights; every
/// response valid against the EWS schema.
@Suite struct EWSFidelityTests {
    static let alice = "alice@example.com"

    static func tag(_ tag: String, _ type: String) -> String {
        "<t:ExtendedFieldURI PropertyTag=\"\(tag)\" PropertyType=\"\(type)\"/>"
    }
    static let recurring =
        "<t:ExtendedFieldURI DistinguishedPropertySetId=\"Appointment\" PropertyId=\"33315\" PropertyType=\"Boolean\"/>"

    static func isEqual(_ path: String, _ value: String) -> String {
        "<t:IsEqualTo>\(path)<t:FieldURIOrConstant><t:Constant Value=\"\(value)\"/></t:FieldURIOrConstant></t:IsEqualTo>"
    }

    @Test func propertyTagsAliasFirstClassPropertiesAndComputedOnesAreServed() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            try sim.control.seed(SeedRequest(mailbox: Self.alice, seed: 5, contacts: 6, appointments: 8, tasks: 0))
            var docs: [(String, Data)] = []
            let contacts = Req.folder("contacts", mailbox: Self.alice),
                calendar = Req.folder("calendar", mailbox: Self.alice)
            let shape =
                Self.tag("0x001A", "String") + Self.tag("0x0E23", "Integer") + Self.tag("0x0036", "Integer")
                + Self.tag("0x3008", "SystemTime") + Self.tag("0x10F3", "String")
            // PR_MESSAGE_CLASS matches ItemClass; paging by PR_INTERNET_ARTICLE_NUMBER keeps every item, in order.
            let byClass = try await c.ews(
                Req.findItem(
                    contacts, restriction: Self.isEqual(Self.tag("0x001A", "String"), "IPM.Contact"),
                    sort: "<t:FieldOrder Order=\"Ascending\">\(Self.tag("0x0E23", "Integer"))</t:FieldOrder>",
                    additional: shape))
            docs.append(("FindItem-message-class", byClass.body))
            #expect(Scrape.count(byClass.text, "<t:Contact>") == 6)
            #expect(Scrape.count(byClass.text, "<t:ExtendedProperty>") == 6 * 5)
            let numbers = sim.control.store.withState { s in
                s.mailbox(Self.alice)!.folders["contacts"]!.items.keys.sorted().map(String.init)
            }
            let articles = Scrape.texts(byClass.text, element: "t:Value").enumerated().filter { $0.offset % 5 == 1 }
                .map(\.element)
            #expect(articles == numbers)
            #expect(
                Scrape.count(
                    try await c.ews(
                        Req.findItem(contacts, restriction: Self.isEqual(Self.tag("0x001A", "String"), "IPM.Task"))
                    ).text,
                    "<t:Contact>") == 0)
            // PR_SENSITIVITY in MAPI's numbers; PidLidRecurring is IsRecurring.
            let items = sim.control.store.withState { s in
                Array(s.mailbox(Self.alice)!.folders["calendar"]!.items.values)
            }
            let privateCount = items.filter { $0.fields["Sensitivity"]?.value == "Private" }.count
            let recurringCount = items.filter { $0.fields["Recurrence"] != nil }.count
            let sensitive = try await c.ews(
                Req.findItem(
                    calendar, max: 1000, restriction: Self.isEqual(Self.tag("0x0036", "Integer"), "2"),
                    sort: "<t:FieldOrder Order=\"Ascending\"><t:FieldURI FieldURI=\"item:Subject\"/></t:FieldOrder>"))
            #expect(Scrape.count(sensitive.text, "<t:CalendarItem>") == privateCount)
            let series = try await c.ews(
                Req.findItem(calendar, restriction: Self.isEqual(Self.recurring, "true"), additional: Self.recurring))
            docs.append(("FindItem-recurring", series.body))
            #expect(Scrape.count(series.text, "<t:CalendarItem>") == recurringCount)
            // Folder properties: PR_CONTAINER_CLASS and the counts.
            let folder = try await c.ews(
                "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                    + Self.tag("0x3613", "String") + Self.tag("0x3602", "Integer") + Self.tag("0x3603", "Integer")
                    + "</t:AdditionalProperties></m:FolderShape><m:FolderIds>\(contacts)</m:FolderIds></m:GetFolder>")
            docs.append(("GetFolder-extended", folder.body))
            #expect(Scrape.texts(folder.text, element: "t:Value") == ["IPF.Contact", "6", "0"])

            // MimeContent asked by name, for each kind.
            let anyIds = sim.control.store.withState { s in
                ["contacts", "calendar"].compactMap {
                    s.mailbox(Self.alice)!.folders[$0]!.items.keys.min().map {
                        Identifier.itemId(mailbox: Self.alice, number: $0)
                    }
                }
            }
            let mime = try await c.ews(
                Req.getItem(anyIds, shape: "IdOnly", additional: "<t:FieldURI FieldURI=\"item:MimeContent\"/>"))
            docs.append(("GetItem-MimeContent", mime.body))
            #expect(Scrape.count(mime.text, "<t:MimeContent CharacterSet=\"UTF-8\">") == 2)

            let (ok, output) = try await SchemaValidator.validate(docs)
            #expect(ok, "schema validation failed:\n\(output)")
        }
    }

    @Test func calendarViewExpandsSeriesAndAccessRightsRefuseAsExchangeDoes() async throws {
        try await withSimulator({
            $0.mailboxes = [Self.alice]
            $0.accounts["bob@example.com"] = "bob-pw"
            $0.access = ["bob@example.com": AccountAccess()]
        }) { sim, c in
            var docs: [(String, Data)] = []
            let calendar = Req.folder("calendar", mailbox: Self.alice)
            let created = try await c.ews(
                Req.createItem(
                    "<t:CalendarItem><t:Subject>Weekly</t:Subject><t:Start>2026-03-02T09:00:00Z</t:Start><t:End>2026-03-02T10:00:00Z</t:End><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>8</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence></t:CalendarItem><t:CalendarItem><t:Subject>Single</t:Subject><t:Start>2026-03-17T12:00:00Z</t:Start><t:End>2026-03-17T13:00:00Z</t:End></t:CalendarItem>",
                    folder: calendar))
            // Ids look like Exchange's: base64 of a binary id, `AAMkA…`, about 150 characters.
            let createdIds = Scrape.all(created.text, attribute: "Id", of: "t:ItemId")
            #expect(
                createdIds.count == 2
                    && createdIds.allSatisfy { $0.hasPrefix("AAMkA") && (140...170).contains($0.count) },
                "\(createdIds)")
            let view = try await c.ews(
                "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>"
                    + "<m:CalendarView MaxEntriesReturned=\"10\" StartDate=\"2026-03-10T00:00:00Z\" EndDate=\"2026-04-01T00:00:00Z\"/>"
                    + "<m:ParentFolderIds>\(calendar)</m:ParentFolderIds></m:FindItem>")
            docs.append(("FindItem-CalendarView", view.body))
            // Mondays 16, 23, 30 March and the single on the 17th, by start; no master.
            #expect(
                Scrape.texts(view.text, element: "t:Start") == [
                    "2026-03-16T09:00:00Z", "2026-03-17T12:00:00Z", "2026-03-23T09:00:00Z", "2026-03-30T09:00:00Z",
                ])
            #expect(
                Scrape.texts(view.text, element: "t:CalendarItemType") == [
                    "Occurrence", "Single", "Occurrence", "Occurrence",
                ])
            let limited = try await c.ews(
                "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
                    + "<m:CalendarView MaxEntriesReturned=\"2\" StartDate=\"2026-03-10T00:00:00Z\" EndDate=\"2026-04-01T00:00:00Z\"/>"
                    + "<m:ParentFolderIds>\(calendar)</m:ParentFolderIds></m:FindItem>")
            #expect(limited.text.contains("TotalItemsInView=\"4\" IncludesLastItemInRange=\"false\""))
            #expect(Scrape.all(limited.text, attribute: "Id", of: "t:ItemId").count == 2)

            // bob has no rights on alice's mailbox: every message is ErrorAccessDenied; impersonating is a fault.
            var bob = c
            bob.user = "bob@example.com"
            bob.password = "bob-pw"
            let denied = try await bob.ews(Req.findItem(calendar))
            docs.append(("FindItem-access-denied", denied.body))
            #expect(denied.text.contains("<m:ResponseCode>ErrorAccessDenied</m:ResponseCode>"))
            let impersonating = try await bob.ews(
                Req.findItem(Req.folder("calendar")),
                header:
                    "<t:RequestServerVersion Version=\"Exchange2016\"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>\(Self.alice)</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
            )
            #expect(impersonating.status == 500 && impersonating.text.contains("ErrorImpersonateUserDenied"))
            #expect(try await bob.ews(Req.findItem(Req.folder("calendar"))).text.contains("NoError"))

            let (ok, output) = try await SchemaValidator.validate(docs)
            #expect(ok, "schema validation failed:\n\(output)")
        }
    }
}

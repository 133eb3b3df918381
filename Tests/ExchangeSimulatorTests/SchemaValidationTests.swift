import Foundation
import Testing
@testable import ExchangeSimulator

/// Every operation's responses, successes and errors, validate against the official EWS schema.
@Suite struct SchemaValidationTests {
    @Test func everyOperationAndKindValidates() async throws {
        try await withSimulator { sim, c in
            sim.control.createMailbox("alice@example.com")
            try sim.control.seed(
                SeedRequest(mailbox: "alice@example.com", seed: 42, contacts: 5, appointments: 10, tasks: 6))
            var docs: [(String, Data)] = []
            func keep(_ name: String, _ r: SimResponse, status: Int = 200) {
                #expect(r.status == status, "\(name): HTTP \(r.status)")
                #expect(r.headers["content-type"] == "text/xml; charset=utf-8", "\(name)")
                #expect(r.text.contains("ServerVersionInfo"), "\(name) lacks ServerVersionInfo")
                docs.append((name, r.body))
            }
            let alice = "alice@example.com"
            keep(
                "GetFolder",
                try await c.ews(
                    "<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>"
                        + ["root", "msgfolderroot", "contacts", "calendar", "tasks", "inbox"].map {
                            Req.folder($0, mailbox: alice)
                        }.joined()
                        + Req.folder("nosuchfolder", mailbox: alice)
                        + Req.folder("inbox", mailbox: "nobody@example.com") + "</m:FolderIds></m:GetFolder>"))
            keep(
                "FindFolder",
                try await c.ews(
                    "<m:FindFolder Traversal=\"Deep\"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                        + "<m:ParentFolderIds>\(Req.folder("root", mailbox: alice))</m:ParentFolderIds></m:FindFolder>")
            )
            for folder in ["contacts", "calendar", "tasks"] {
                let r = try await c.ews(Req.findItem(Req.folder(folder, mailbox: alice), shape: "AllProperties"))
                keep("FindItem-\(folder)", r)
                let ids = Scrape.all(r.text, attribute: "Id", of: "t:ItemId")
                #expect(!ids.isEmpty)
                keep(
                    "GetItem-\(folder)",
                    try await c.ews(Req.getItem(ids + ["QUFNawEAAAAAAAAA/2FsaWNlQGV4YW1wbGUuY29t", "bm90LWFuLWlk"])))
                keep(
                    "SyncFolderItems-\(folder)",
                    try await c.ews(Req.sync(Req.folder(folder, mailbox: alice), shape: "AllProperties")))
            }
            let restricted = try await c.ews(
                Req.findItem(
                    Req.folder("tasks", mailbox: alice), shape: "Default",
                    restriction:
                        "<t:And><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI=\"task:PercentComplete\"/><t:FieldURIOrConstant><t:Constant Value=\"50\"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo><t:Not><t:Exists><t:FieldURI FieldURI=\"task:CompleteDate\"/></t:Exists></t:Not></t:And>",
                    sort: "<t:FieldOrder Order=\"Descending\"><t:FieldURI FieldURI=\"item:Subject\"/></t:FieldOrder>"))
            keep("FindItem-restricted", restricted)

            let created = try await c.ews(
                Req.createItem(
                    Req.contact(1, crmId: "crm-1")
                        + "<t:CalendarItem><t:Subject>Series</t:Subject><t:Start>2026-03-02T09:00:00Z</t:Start><t:End>2026-03-02T10:00:00Z</t:End><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence></t:CalendarItem><t:Task><t:Subject>Call back</t:Subject><t:DueDate>2026-03-05T00:00:00Z</t:DueDate><t:Status>InProgress</t:Status></t:Task><t:Message><t:Subject>not stored</t:Subject></t:Message>",
                    folder: nil))
            keep("CreateItem", created)
            let ids = Scrape.all(created.text, attribute: "Id", of: "t:ItemId")
            let keys = Scrape.all(created.text, attribute: "ChangeKey", of: "t:ItemId")
            #expect(ids.count == 3)
            keep(
                "GetItem-extended",
                try await c.ews(
                    Req.getItem(
                        [ids[0]], shape: "IdOnly",
                        additional: Req.crmIdURI
                            + "<t:FieldURI FieldURI=\"item:Subject\"/><t:IndexedFieldURI FieldURI=\"contacts:EmailAddress\" FieldIndex=\"EmailAddress1\"/>"
                    )))
            keep("UpdateItem", try await c.ews(Req.setSubject(id: ids[0], changeKey: keys[0], subject: "Renamed")))
            keep(
                "UpdateItem-conflict",
                try await c.ews(
                    Req.setSubject(id: ids[0], changeKey: keys[0], subject: "Again", resolution: "NeverOverwrite")))
            keep(
                "UpdateItem-changekey-required",
                try await c.ews(
                    Req.setSubject(id: ids[0], changeKey: nil, subject: "Again", resolution: "NeverOverwrite")))
            let sync0 = try await c.ews(Req.sync(Req.folder("contacts")))
            let state = try #require(Scrape.first(sync0.text, element: "m:SyncState"))
            _ = try await c.ews(Req.setSubject(id: ids[0], changeKey: nil, subject: "Third"))
            _ = try await c.ews(Req.createItem(Req.contact(2)))
            keep("DeleteItem", try await c.ews(Req.deleteItem([ids[0], ids[0], "garbage"])))
            keep("SyncFolderItems-delete", try await c.ews(Req.sync(Req.folder("contacts"), state: state)))
            keep("SyncFolderItems-invalid-state", try await c.ews(Req.sync(Req.folder("contacts"), state: "AAAA")))
            keep(
                "ConvertId",
                try await c.ews(
                    "<m:ConvertId DestinationFormat=\"HexEntryId\"><m:SourceIds><t:AlternateId Format=\"EwsId\" Id=\"\(ids[1])\" Mailbox=\"snapsync@example.com\"/><t:AlternateId Format=\"EwsId\" Id=\"\(ids[1])\" Mailbox=\"not-an-address\"/></m:SourceIds></m:ConvertId>"
                ))
            keep("Fault-unknown-operation", try await c.ews("<m:FrobnicateItem/>"), status: 500)
            keep(
                "Fault-schema",
                try await c.post(
                    body: Data(
                        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><m:GetItem".utf8)),
                status: 500)
            sim.control.setFaults(FaultConfiguration(serverBusy: .init(everyNth: 1, backOffMilliseconds: 200)))
            keep("ServerBusy-message", try await c.ews(Req.getItem([ids[1], ids[2]])))
            keep("ServerBusy-sync", try await c.ews(Req.sync(Req.folder("contacts"))))
            sim.control.setFaults(
                FaultConfiguration(serverBusy: .init(everyNth: 1, backOffMilliseconds: 200, asFault: true)))
            keep("ServerBusy-fault", try await c.ews(Req.getItem([ids[1]])), status: 500)
            sim.control.resetFaults()

            let (ok, output) = try await SchemaValidator.validate(docs)
            #expect(ok, "schema validation failed:\n\(output)")
        }
    }
}

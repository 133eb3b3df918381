import Foundation
import Testing
@testable import ExchangeSimulator

/// Occurrences of a recurring series through `OccurrenceItemId` (GetItem, UpdateItem, DeleteItem): they
/// show on the master as ModifiedOccurrences/DeletedOccurrences, and every response validates.
@Suite struct OccurrenceTests {
    static let series =
        "<t:CalendarItem><t:Subject>Series</t:Subject><t:Start>2026-03-02T09:00:00Z</t:Start><t:End>2026-03-02T10:00:00Z</t:End>"
        + "<t:Location>Room 1</t:Location><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek>"
        + "</t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences>"
        + "</t:NumberedRecurrence></t:Recurrence></t:CalendarItem>"

    static func occurrence(_ master: String, _ index: Int, changeKey: String? = nil) -> String {
        "<t:OccurrenceItemId RecurringMasterId=\"\(master)\"" + (changeKey.map { " ChangeKey=\"\($0)\"" } ?? "")
            + " InstanceIndex=\"\(index)\"/>"
    }

    static func get(_ ids: String) -> String {
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>\(ids)</m:ItemIds></m:GetItem>"
    }

    static func update(_ id: String, _ sets: [(uri: String, element: String)]) -> String {
        "<m:UpdateItem ConflictResolution=\"AutoResolve\" SendMeetingInvitationsOrCancellations=\"SendToNone\"><m:ItemChanges><t:ItemChange>\(id)<t:Updates>"
            + sets.map {
                "<t:SetItemField><t:FieldURI FieldURI=\"\($0.uri)\"/><t:CalendarItem>\($0.element)</t:CalendarItem></t:SetItemField>"
            }.joined()
            + "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    }

    static func delete(_ ids: String) -> String {
        "<m:DeleteItem DeleteType=\"HardDelete\" SendMeetingCancellations=\"SendToNone\"><m:ItemIds>\(ids)</m:ItemIds></m:DeleteItem>"
    }

    @Test func occurrencesAreModifiedAndDeletedThroughTheirMaster() async throws {
        try await withSimulator { _, c in
            var docs: [(String, Data)] = []
            func keep(_ name: String, _ r: SimResponse) -> String {
                #expect(r.status == 200, "\(name): HTTP \(r.status)")
                docs.append((name, r.body))
                return r.text
            }
            let created = keep("CreateItem-series", try await c.ews(Req.createItem(Self.series)))
            let master = try #require(Scrape.all(created, attribute: "Id", of: "t:ItemId").first)
            let key = try #require(Scrape.all(created, attribute: "ChangeKey", of: "t:ItemId").first)

            let second = keep("GetItem-occurrence", try await c.ews(Self.get(Self.occurrence(master, 2))))
            #expect(Scrape.first(second, element: "t:CalendarItemType") == "Occurrence")
            #expect(Scrape.first(second, element: "t:Start") == "2026-03-09T09:00:00Z")
            #expect(Scrape.first(second, element: "t:OriginalStart") == "2026-03-09T09:00:00Z")
            #expect(!second.contains("<t:Recurrence>"))

            let moved = keep(
                "UpdateItem-occurrence",
                try await c.ews(
                    Self.update(
                        Self.occurrence(master, 2, changeKey: key),
                        [
                            ("calendar:Start", "<t:Start>2026-03-10T14:00:00Z</t:Start>"),
                            ("calendar:End", "<t:End>2026-03-10T15:30:00Z</t:End>"),
                            ("item:Subject", "<t:Subject>Moved</t:Subject>"),
                            ("calendar:Location", "<t:Location>Room 7</t:Location>"),
                        ])))
            let occurrenceID = try #require(Scrape.all(moved, attribute: "Id", of: "t:ItemId").first)
            #expect(occurrenceID != master)
            _ = keep("DeleteItem-occurrence", try await c.ews(Self.delete(Self.occurrence(master, 3, changeKey: key))))

            let series = keep("GetItem-master", try await c.ews(Req.getItem([master])))
            #expect(
                Scrape.all(series, attribute: "ChangeKey", of: "t:ItemId").first != key,
                "occurrence changes give the master a new ChangeKey")
            #expect(Scrape.first(series, element: "t:Subject") == "Series")
            #expect(
                Scrape.first(series, element: "t:ModifiedOccurrences")
                    == "<t:Occurrence><t:ItemId Id=\"\(occurrenceID)\"/><t:Start>2026-03-10T14:00:00Z</t:Start><t:End>2026-03-10T15:30:00Z</t:End>"
                    + "<t:OriginalStart>2026-03-09T09:00:00Z</t:OriginalStart></t:Occurrence>")
            #expect(
                Scrape.first(series, element: "t:DeletedOccurrences")
                    == "<t:DeletedOccurrence><t:Start>2026-03-16T09:00:00Z</t:Start></t:DeletedOccurrence>")
            #expect(!series.contains("sim.occurrence"))

            // The exception by its own id and by index: its own subject and location, the master's other properties.
            for id in ["<t:ItemId Id=\"\(occurrenceID)\"/>", Self.occurrence(master, 2)] {
                let exception = keep("GetItem-exception", try await c.ews(Self.get(id)))
                #expect(Scrape.first(exception, element: "t:CalendarItemType") == "Exception")
                #expect(Scrape.first(exception, element: "t:Subject") == "Moved")
                #expect(Scrape.first(exception, element: "t:Location") == "Room 7")
                #expect(Scrape.first(exception, element: "t:Start") == "2026-03-10T14:00:00Z")
            }

            // Errors as Exchange reports them.
            let errors = keep(
                "GetItem-occurrence-errors",
                try await c.ews(
                    Self.get(
                        Self.occurrence(master, 3) + Self.occurrence(master, 6)
                            + Self.occurrence(master, 0))))
            #expect(Scrape.count(errors, "<m:ResponseCode>ErrorCalendarOccurrenceIsDeletedFromRecurrence") == 1)
            #expect(Scrape.count(errors, "<m:ResponseCode>ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange") == 2)
            let refused = keep(
                "UpdateItem-occurrence-recurrence",
                try await c.ews(
                    Self.update(
                        Self.occurrence(master, 4),
                        [
                            (
                                "calendar:Recurrence",
                                "<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>"
                                    + "<t:NoEndRecurrence><t:StartDate>2026-03-02</t:StartDate></t:NoEndRecurrence></t:Recurrence>"
                            )
                        ])))
            #expect(refused.contains("<m:ResponseCode>ErrorInvalidPropertyForOperation</m:ResponseCode>"))
            let backwards = keep(
                "UpdateItem-occurrence-backwards",
                try await c.ews(
                    Self.update(
                        Self.occurrence(master, 4),
                        [
                            ("calendar:End", "<t:End>2026-03-23T08:00:00Z</t:End>")
                        ])))
            #expect(backwards.contains("<m:ResponseCode>ErrorCalendarEndDateIsEarlierThanStartDate</m:ResponseCode>"))

            // Setting the Recurrence again resets the occurrences.
            _ = keep(
                "UpdateItem-recurrence",
                try await c.ews(
                    Self.update(
                        "<t:ItemId Id=\"\(master)\"/>",
                        [
                            (
                                "calendar:Recurrence",
                                "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek>"
                                    + "</t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>5"
                                    + "</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
                            )
                        ])))
            let reset = keep("GetItem-master-reset", try await c.ews(Req.getItem([master])))
            #expect(!reset.contains("ModifiedOccurrences") && !reset.contains("DeletedOccurrences"))
            let restored = keep("GetItem-occurrence-restored", try await c.ews(Self.get(Self.occurrence(master, 3))))
            #expect(Scrape.first(restored, element: "t:CalendarItemType") == "Occurrence")

            let (ok, output) = try await SchemaValidator.validate(docs)
            #expect(ok, "schema validation failed:\n\(output)")
        }
    }

    @Test func occurrenceChangesSurviveARestart() async throws {
        let dir = try PersistenceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let master = try await withSimulator({ $0.dataDirectory = dir.path }) { _, c in
            let created = try await c.ews(Req.createItem(Self.series))
            let master = try #require(Scrape.all(created.text, attribute: "Id", of: "t:ItemId").first)
            _ = try await c.ews(
                Self.update(
                    Self.occurrence(master, 2),
                    [
                        ("item:Subject", "<t:Subject>Moved</t:Subject>"),
                        ("calendar:Start", "<t:Start>2026-03-10T14:00:00Z</t:Start>"),
                        ("calendar:End", "<t:End>2026-03-10T15:00:00Z</t:End>"),
                    ]))
            _ = try await c.ews(Self.delete(Self.occurrence(master, 3)))
            return master
        }
        try await withSimulator({ $0.dataDirectory = dir.path }) { _, c in
            let exception = try await c.ews(Self.get(Self.occurrence(master, 2))).text
            #expect(Scrape.first(exception, element: "t:Subject") == "Moved")
            #expect(Scrape.first(exception, element: "t:Start") == "2026-03-10T14:00:00Z")
            #expect(Scrape.first(exception, element: "t:End") == "2026-03-10T15:00:00Z")
            #expect(
                try await c.ews(Self.get(Self.occurrence(master, 3))).text.contains(
                    "ErrorCalendarOccurrenceIsDeletedFromRecurrence"))
        }
    }

    @Test func patternsExpandAsExchangeExpandsThem() throws {
        func days(_ pattern: String, _ range: String, _ count: Int = 4) throws -> [String] {
            let recurrence = try XMLTreeParser.parse(Data("<Recurrence>\(pattern)\(range)</Recurrence>".utf8))
            let expanded = try RecurrencePattern(recurrence)
            return (1...count).compactMap { expanded.day(at: $0) }.map {
                String(FieldValue.formatDate(Double($0) * 86_400).prefix(10))
            }
        }
        let from = { (start: String) in "<NoEndRecurrence><StartDate>\(start)</StartDate></NoEndRecurrence>" }
        #expect(
            try days(
                "<AbsoluteMonthlyRecurrence><Interval>1</Interval><DayOfMonth>31</DayOfMonth></AbsoluteMonthlyRecurrence>",
                from("2024-01-31"))
                == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"])
        #expect(
            try days(
                "<RelativeMonthlyRecurrence><Interval>1</Interval><DaysOfWeek>Weekday</DaysOfWeek><DayOfWeekIndex>Second</DayOfWeekIndex></RelativeMonthlyRecurrence>",
                from("2024-01-01"), 3) == ["2024-01-02", "2024-02-02", "2024-03-04"])
        #expect(
            try days(
                "<WeeklyRecurrence><Interval>2</Interval><DaysOfWeek>Monday Sunday</DaysOfWeek><FirstDayOfWeek>Sunday</FirstDayOfWeek></WeeklyRecurrence>",
                from("2024-03-04")) == ["2024-03-04", "2024-03-17", "2024-03-18", "2024-03-31"])
        #expect(
            try days(
                "<RelativeYearlyRecurrence><DaysOfWeek>Thursday</DaysOfWeek><DayOfWeekIndex>Fourth</DayOfWeekIndex><Month>November</Month></RelativeYearlyRecurrence>",
                "<EndDateRecurrence><StartDate>2024-01-01</StartDate><EndDate>2025-12-31</EndDate></EndDateRecurrence>")
                == ["2024-11-28", "2025-11-27"])
        #expect(
            try days(
                "<DailyRecurrence><Interval>3</Interval></DailyRecurrence>",
                "<NumberedRecurrence><StartDate>2024-02-27</StartDate><NumberOfOccurrences>2</NumberOfOccurrences></NumberedRecurrence>"
            )
                == ["2024-02-27", "2024-03-01"])
    }
}

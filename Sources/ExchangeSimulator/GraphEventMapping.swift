import Foundation

/// Graph `event` ⇄ the store's CalendarItem fields: times, body, location, attendees, organizer, enums, and
/// `patternedRecurrence` ⇄ EWS `Recurrence` (the pattern's non-nullable integers written as 0, as the service does).
enum GraphEventMapping {
    static let showAs: [(graph: String, ews: String)] = [
        ("free", "Free"), ("tentative", "Tentative"), ("busy", "Busy"), ("oof", "OOF"),
        ("workingElsewhere", "WorkingElsewhere"), ("unknown", "NoData"),
    ]
    static let sensitivity: [(graph: String, ews: String)] = [
        ("normal", "Normal"), ("personal", "Personal"), ("private", "Private"), ("confidential", "Confidential"),
    ]
    static let importance: [(graph: String, ews: String)] = [("low", "Low"), ("normal", "Normal"), ("high", "High")]
    static let responses: [(graph: String, ews: String)] = [
        ("none", "Unknown"), ("organizer", "Organizer"), ("tentativelyAccepted", "Tentative"), ("accepted", "Accept"),
        ("declined", "Decline"), ("notResponded", "NoResponseReceived"),
    ]
    static let attendeeLists: [(graph: String, ews: String)] = [
        ("required", "RequiredAttendees"), ("optional", "OptionalAttendees"), ("resource", "Resources"),
    ]
    static let patternTypes: [(graph: String, ews: String)] = [
        ("daily", "DailyRecurrence"), ("weekly", "WeeklyRecurrence"), ("absoluteMonthly", "AbsoluteMonthlyRecurrence"),
        ("relativeMonthly", "RelativeMonthlyRecurrence"), ("absoluteYearly", "AbsoluteYearlyRecurrence"),
        ("relativeYearly", "RelativeYearlyRecurrence"),
    ]
    static let rangeTypes: [(graph: String, ews: String)] = [
        ("endDate", "EndDateRecurrence"), ("noEnd", "NoEndRecurrence"), ("numbered", "NumberedRecurrence"),
    ]
    static let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let indexes: [(graph: String, ews: String)] = [
        ("first", "First"), ("second", "Second"), ("third", "Third"), ("fourth", "Fourth"), ("last", "Last"),
    ]

    /// Properties an occurrence may have of its own (Graph names), as EWS allows on an occurrence.
    static let occurrenceWritable: Set<String> = [
        "subject", "start", "end", "location", "isAllDay", "showAs", "sensitivity", "importance", "isReminderOn",
        "reminderMinutesBeforeStart",
    ]

    static func graph(_ table: [(graph: String, ews: String)], _ ews: String?, default d: String) -> String {
        guard let ews else { return d }
        if let exact = table.first(where: { $0.ews == ews }) { return exact.graph }
        let lowered = ews.lowercased()
        return table.first { $0.ews.lowercased() == lowered }?.graph ?? d
    }

    static func dateTimeTimeZone(_ t: Double, _ zone: GraphTimeZone) -> JSON {
        .object([("dateTime", .string(GraphDates.local(t, in: zone))), ("timeZone", .string(zone.name))])
    }

    /// `dateTimeTimeZone(_:_:)`'s text, written to `w`.
    static func write(dateTimeTimeZone t: Double, _ zone: GraphTimeZone, to w: inout JSONWriter) {
        w.raw("{\"dateTime\":")
        w.string(GraphDates.local(t, in: zone))
        w.raw(",\"timeZone\":")
        w.string(zone.name)
        w.raw("}")
    }

    static func emailAddress(_ mailbox: XElement?) -> JSON {
        .object([
            ("name", .string(mailbox?.child("Name")?.text ?? mailbox?.child("EmailAddress")?.text ?? "")),
            ("address", .string(mailbox?.child("EmailAddress")?.text ?? "")),
        ])
    }

    /// Text of an HTML body (`Prefer: outlook.body-content-type="text"`): tags dropped, entities of markup decoded.
    static func htmlToText(_ html: String) -> String {
        var out = "", inTag = false
        for c in html {
            if c == "<" { inTag = true; continue }
            if c == ">" { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&amp;", with: "&")
            .trimmedOfWhitespace
    }

    static func textToHTML(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        return "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>"
            + escaped.replacingOccurrences(of: "\n", with: "<br>") + "</body></html>"
    }

    /// `body` in the type the client prefers (or as stored).
    static func body(_ e: XElement?, prefer: String?) -> JSON {
        let isHTML = (e?.attr("BodyType") ?? "Text").lowercased() == "html"
        let text = e?.text ?? ""
        switch (prefer, isHTML) {
        case ("text", true): return .object([("contentType", .string("text")), ("content", .string(htmlToText(text)))])
        case ("html", false):
            return .object([("contentType", .string("html")), ("content", .string(textToHTML(text)))])
        default: return .object([("contentType", .string(isHTML ? "html" : "text")), ("content", .string(text))])
        }
    }

    static func bodyPreview(_ e: XElement?) -> String {
        let isHTML = (e?.attr("BodyType") ?? "Text").lowercased() == "html"
        let text = isHTML ? htmlToText(e?.text ?? "") : (e?.text ?? "")
        return String(text.prefix(255))
    }

    // MARK: recurrence

    /// A stored `Recurrence` as a `patternedRecurrence`.
    static func recurrence(_ r: XElement, zone: String) -> JSON {
        let p = r.children.first { e in patternTypes.contains { $0.ews == e.name } }
        let range = r.children.first { e in rangeTypes.contains { $0.ews == e.name } }
        let daysOfWeek: [JSON] = (p?.child("DaysOfWeek")?.value.split(separator: " ") ?? []).flatMap { word -> [JSON] in
            if let g = RecurrencePattern.dayGroups[String(word)] { return g.map { .string(days[$0 - 1]) } }
            return [.string(String(word).lowercased())]
        }
        let month =
            p?.child("Month").flatMap { RecurrencePattern.monthNames.firstIndex(of: $0.value) }.map { $0 + 1 } ?? 0
        let pattern: JSON = .object([
            ("type", .string(graph(patternTypes, p?.name, default: "daily"))),
            (
                "interval",
                .int(p?.child("Interval").flatMap { Int($0.value) } ?? ((p?.name.contains("Yearly") ?? false) ? 1 : 1))
            ),
            ("month", .int(month)),
            ("dayOfMonth", .int(p?.child("DayOfMonth").flatMap { Int($0.value) } ?? 0)),
            ("daysOfWeek", .array(daysOfWeek)),
            ("firstDayOfWeek", .string(p?.child("FirstDayOfWeek")?.value.lowercased() ?? "sunday")),
            ("index", .string(graph(indexes, p?.child("DayOfWeekIndex")?.value, default: "first"))),
        ])
        let rangeJSON: JSON = .object([
            ("type", .string(graph(rangeTypes, range?.name, default: "noEnd"))),
            ("startDate", .string(String(range?.child("StartDate")?.value.prefix(10) ?? "0001-01-01"))),
            ("endDate", .string(String(range?.child("EndDate")?.value.prefix(10) ?? "0001-01-01"))),
            ("recurrenceTimeZone", .string(zone)),
            ("numberOfOccurrences", .int(range?.child("NumberOfOccurrences").flatMap { Int($0.value) } ?? 0)),
        ])
        return .object([("pattern", pattern), ("range", rangeJSON)])
    }

    /// A `patternedRecurrence` as a stored `Recurrence` (elements in the schema's order); 400 when it is not a valid one.
    static func recurrence(_ v: JSON) throws(GraphError) -> XElement {
        try GraphInput.closed(v, "patternedRecurrence", ["pattern", "range"])
        guard let p = v["pattern"], let r = v["range"] else {
            throw invalidRecurrence("pattern and range are required")
        }
        try GraphInput.closed(
            p, "recurrencePattern",
            ["type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index"])
        try GraphInput.closed(
            r, "recurrenceRange", ["type", "startDate", "endDate", "recurrenceTimeZone", "numberOfOccurrences"])
        guard let type = try GraphInput.enumMember(p["type"] ?? .null, "type", patternTypes.map(\.graph)) else {
            throw invalidRecurrence("pattern.type")
        }
        let interval = try GraphInput.int(p["interval"] ?? .null, "interval") ?? 1
        let month = try GraphInput.int(p["month"] ?? .null, "month") ?? 0
        let dayOfMonth = try GraphInput.int(p["dayOfMonth"] ?? .null, "dayOfMonth") ?? 0
        var weekdays: [String] = []
        for d in try GraphInput.strings(p["daysOfWeek"] ?? .null, "daysOfWeek") ?? [] {
            guard let i = days.firstIndex(of: d.lowercased()) else {
                throw GraphError.wrongType("daysOfWeek", expected: "microsoft.graph.dayOfWeek")
            }
            weekdays.append(RecurrencePattern.dayNames[i])
        }
        let first = try GraphInput.enumMember(p["firstDayOfWeek"] ?? .null, "firstDayOfWeek", days)
        let index = try GraphInput.enumMember(p["index"] ?? .null, "index", indexes.map(\.graph)) ?? "first"
        func t(_ n: String, _ s: String) -> XElement { XElement(n, text: s) }
        var children: [XElement] = []
        let indexName = indexes.first { $0.graph == index }!.ews
        let monthName = (1...12).contains(month) ? RecurrencePattern.monthNames[month - 1] : ""
        switch type {
        case "daily": children = [t("Interval", String(interval))]
        case "weekly":
            guard !weekdays.isEmpty else { throw invalidRecurrence("a weekly pattern needs daysOfWeek") }
            children = [
                t("Interval", String(interval)), t("DaysOfWeek", weekdays.joined(separator: " ")),
                t("FirstDayOfWeek", RecurrencePattern.dayNames[days.firstIndex(of: first ?? "sunday")!]),
            ]
        case "absoluteMonthly":
            guard (1...31).contains(dayOfMonth) else {
                throw invalidRecurrence("an absoluteMonthly pattern needs dayOfMonth")
            }
            children = [t("Interval", String(interval)), t("DayOfMonth", String(dayOfMonth))]
        case "relativeMonthly":
            guard !weekdays.isEmpty else { throw invalidRecurrence("a relativeMonthly pattern needs daysOfWeek") }
            children = [
                t("Interval", String(interval)), t("DaysOfWeek", weekdays.joined(separator: " ")),
                t("DayOfWeekIndex", indexName),
            ]
        case "absoluteYearly":
            guard (1...31).contains(dayOfMonth), !monthName.isEmpty else {
                throw invalidRecurrence("an absoluteYearly pattern needs dayOfMonth and month")
            }
            children = [t("DayOfMonth", String(dayOfMonth)), t("Month", monthName)]
        default:
            guard !weekdays.isEmpty, !monthName.isEmpty else {
                throw invalidRecurrence("a relativeYearly pattern needs daysOfWeek and month")
            }
            children = [
                t("DaysOfWeek", weekdays.joined(separator: " ")), t("DayOfWeekIndex", indexName), t("Month", monthName),
            ]
        }
        guard interval >= 1 else { throw invalidRecurrence("interval must be at least 1") }
        let patternName = patternTypes.first { $0.graph == type }!.ews
        guard let rangeType = try GraphInput.enumMember(r["type"] ?? .null, "type", rangeTypes.map(\.graph)) else {
            throw invalidRecurrence("range.type")
        }
        guard let startDate = try GraphInput.string(r["startDate"] ?? .null, "startDate"),
            RecurrencePattern.day(startDate) != nil, startDate.count == 10, GraphDates.validDate(startDate)
        else {
            throw GraphError.wrongType("startDate", expected: "Edm.Date")
        }
        var range = [t("StartDate", startDate)]
        switch rangeType {
        case "endDate":
            guard let end = try GraphInput.string(r["endDate"] ?? .null, "endDate"), end.count == 10,
                GraphDates.validDate(end), let e = RecurrencePattern.day(end), e >= RecurrencePattern.day(startDate)!
            else {
                throw invalidRecurrence("an endDate range needs an endDate on or after its startDate")
            }
            range.append(t("EndDate", end))
        case "numbered":
            guard let n = try GraphInput.int(r["numberOfOccurrences"] ?? .null, "numberOfOccurrences"), n >= 1 else {
                throw invalidRecurrence("a numbered range needs numberOfOccurrences")
            }
            range.append(t("NumberOfOccurrences", String(n)))
        default: break
        }
        let rangeName = rangeTypes.first { $0.graph == rangeType }!.ews
        let element = XElement(
            "Recurrence", children: [XElement(patternName, children: children), XElement(rangeName, children: range)])
        do { _ = try RecurrencePattern(element) } catch { throw invalidRecurrence("the pattern matches no day") }
        return element
    }

    static func invalidRecurrence(_ detail: String) -> GraphError {
        GraphError(400, "ErrorPropertyValidationFailure", "The recurrence is invalid: \(detail).")
    }
}

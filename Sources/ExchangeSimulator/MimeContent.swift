import Foundation

/// `MimeContent` as Exchange produces it on request: a contact as a vCard 3.0, a calendar item as an iCalendar
/// VEVENT (a series with its RRULE, cancelled occurrences as EXDATE, exceptions as VEVENTs with RECURRENCE-ID),
/// a task as a VTODO. Written from the stored item, so it always matches its properties.
enum MimeContent {
    /// The MIME text of `item` (an occurrence is written as the item it is), UTF-8.
    static func text(_ item: StoredItem) -> String {
        switch item.kind {
        case .contact: vCard(item)
        case .calendarItem: iCalendar([vEvent(item)] + exceptions(item))
        case .task: iCalendar([vTodo(item)])
        }
    }

    /// `<t:MimeContent CharacterSet="UTF-8">` with the base64 of `text(item)`.
    static func write(_ w: inout XMLWriter, _ item: StoredItem) {
        w.open("t:MimeContent", [("CharacterSet", "UTF-8")])
        w.text(Data(text(item).utf8).base64EncodedString())
        w.close("t:MimeContent")
    }

    // MARK: vCard

    static func vCard(_ item: StoredItem) -> String {
        func v(_ name: String) -> String { item.fields[name]?.value ?? "" }
        var lines = ["BEGIN:VCARD", "VERSION:3.0"]
        let display =
            v("DisplayName").isEmpty
            ? [v("GivenName"), v("Surname")].filter { !$0.isEmpty }.joined(separator: " ") : v("DisplayName")
        lines.append("FN:" + escape(display))
        lines.append("N:" + [v("Surname"), v("GivenName"), v("MiddleName"), "", ""].map(escape).joined(separator: ";"))
        if !v("Nickname").isEmpty { lines.append("NICKNAME:" + escape(v("Nickname"))) }
        if !v("CompanyName").isEmpty || !v("Department").isEmpty {
            lines.append(
                "ORG:" + escape(v("CompanyName")) + (v("Department").isEmpty ? "" : ";" + escape(v("Department"))))
        }
        if !v("JobTitle").isEmpty { lines.append("TITLE:" + escape(v("JobTitle"))) }
        for e in item.fields["EmailAddresses"]?.children ?? [] where !e.value.isEmpty {
            lines.append(
                "EMAIL;TYPE=INTERNET" + (e.attr("Key") == "EmailAddress1" ? ",PREF" : "") + ":" + escape(e.value))
        }
        let phoneTypes = [
            "BusinessPhone": "WORK,VOICE", "BusinessPhone2": "WORK,VOICE", "HomePhone": "HOME,VOICE",
            "HomePhone2": "HOME,VOICE",
            "MobilePhone": "CELL,VOICE", "BusinessFax": "WORK,FAX", "HomeFax": "HOME,FAX", "Pager": "PAGER",
        ]
        for e in item.fields["PhoneNumbers"]?.children ?? [] where !e.value.isEmpty {
            lines.append("TEL;TYPE=" + (phoneTypes[e.attr("Key") ?? ""] ?? "VOICE") + ":" + escape(e.value))
        }
        let addressTypes = ["Business": "WORK", "Home": "HOME", "Other": "OTHER"]
        for e in item.fields["PhysicalAddresses"]?.children ?? [] {
            let parts = [
                "", "", e.child("Street")?.value ?? "", e.child("City")?.value ?? "", e.child("State")?.value ?? "",
                e.child("PostalCode")?.value ?? "", e.child("CountryOrRegion")?.value ?? "",
            ]
            lines.append(
                "ADR;TYPE=" + (addressTypes[e.attr("Key") ?? ""] ?? "OTHER") + ":"
                    + parts.map(escape).joined(separator: ";"))
        }
        if let birthday = item.fields["Birthday"]?.value, birthday.count >= 10 {
            lines.append("BDAY:" + birthday.prefix(10))
        }
        if let categories = item.fields["Categories"]?.children, !categories.isEmpty {
            lines.append("CATEGORIES:" + categories.map { escape($0.value) }.joined(separator: ","))
        }
        if let body = item.fields["Body"]?.text, !body.isEmpty { lines.append("NOTE:" + escape(body)) }
        lines.append("UID:" + String(item.number))
        lines.append("END:VCARD")
        return fold(lines)
    }

    // MARK: iCalendar

    static func iCalendar(_ components: [[String]]) -> String {
        fold(
            ["BEGIN:VCALENDAR", "METHOD:PUBLISH", "PRODID:Microsoft Exchange Server 2016", "VERSION:2.0"]
                + components.flatMap { $0 } + ["END:VCALENDAR"])
    }

    static func vEvent(_ item: StoredItem, recurrenceId: String? = nil) -> [String] {
        func v(_ name: String) -> String? { item.fields[name]?.value }
        var lines = ["BEGIN:VEVENT"]
        lines.append("UID:" + escape(v("UID") ?? String(item.number)))
        if let recurrenceId { lines.append("RECURRENCE-ID:" + recurrenceId) }
        lines.append("SUMMARY:" + escape(v("Subject") ?? ""))
        let allDay = v("IsAllDayEvent") == "true"
        if let start = v("Start").flatMap(FieldValue.parseDate) {
            lines.append(allDay ? "DTSTART;VALUE=DATE:" + date(start) : "DTSTART:" + stamp(start))
        }
        if let end = v("End").flatMap(FieldValue.parseDate) {
            lines.append(allDay ? "DTEND;VALUE=DATE:" + date(end) : "DTEND:" + stamp(end))
        }
        if recurrenceId == nil, let recurrence = item.fields["Recurrence"],
            let rule = rrule(recurrence, start: v("Start").flatMap(FieldValue.parseDate))
        {
            lines.append("RRULE:" + rule)
            for deleted in EWSService.deletedStartsList(item) { lines.append("EXDATE:" + stamp(Double(deleted))) }
        }
        if let location = v("Location"), !location.isEmpty { lines.append("LOCATION:" + escape(location)) }
        if let body = item.fields["Body"]?.text, !body.isEmpty { lines.append("DESCRIPTION:" + escape(body)) }
        lines.append("CLASS:" + classification(v("Sensitivity")))
        lines.append("TRANSP:" + (v("LegacyFreeBusyStatus") == "Free" ? "TRANSPARENT" : "OPAQUE"))
        if let categories = item.fields["Categories"]?.children, !categories.isEmpty {
            lines.append("CATEGORIES:" + categories.map { escape($0.value) }.joined(separator: ","))
        }
        if let modified = v("LastModifiedTime").flatMap(FieldValue.parseDate) {
            lines.append("LAST-MODIFIED:" + stamp(modified))
        }
        if let created = v("DateTimeCreated").flatMap(FieldValue.parseDate) {
            lines.append("DTSTAMP:" + stamp(created))
        }
        lines.append("END:VEVENT")
        return lines
    }

    /// The exceptions of a series, each as a VEVENT with its RECURRENCE-ID.
    static func exceptions(_ master: StoredItem) -> [[String]] {
        guard master.fields["Recurrence"] != nil, let modified = master.fields["ModifiedOccurrences"]?.children else {
            return []
        }
        let start = master.fields["Start"].flatMap { FieldValue.parseDate($0.value) } ?? 0
        let end = master.fields["End"].flatMap { FieldValue.parseDate($0.value) } ?? start
        return modified.compactMap { entry -> [String]? in
            guard let original = EWSService.originalStart(of: entry) else { return nil }
            let occurrence = OccurrenceRef(
                mailbox: "", master: master, index: 0, originalStart: Double(original), duration: end - start)
            return vEvent(EWSService.occurrenceItem(occurrence), recurrenceId: stamp(Double(original)))
        }
    }

    static func vTodo(_ item: StoredItem) -> [String] {
        func v(_ name: String) -> String? { item.fields[name]?.value }
        var lines = ["BEGIN:VTODO", "UID:" + String(item.number), "SUMMARY:" + escape(v("Subject") ?? "")]
        if let start = v("StartDate").flatMap(FieldValue.parseDate) { lines.append("DTSTART:" + stamp(start)) }
        if let due = v("DueDate").flatMap(FieldValue.parseDate) { lines.append("DUE:" + stamp(due)) }
        if let done = v("CompleteDate").flatMap(FieldValue.parseDate) { lines.append("COMPLETED:" + stamp(done)) }
        let status = [
            "NotStarted": "NEEDS-ACTION", "InProgress": "IN-PROCESS", "Completed": "COMPLETED",
            "WaitingOnOthers": "NEEDS-ACTION",
            "Deferred": "CANCELLED",
        ]
        lines.append("STATUS:" + (status[v("Status") ?? ""] ?? "NEEDS-ACTION"))
        if let percent = v("PercentComplete") {
            lines.append("PERCENT-COMPLETE:" + String(FieldValue.percent(percent)))
        }
        lines.append("PRIORITY:" + (["High": "1", "Low": "9"][v("Importance") ?? ""] ?? "5"))
        if let body = item.fields["Body"]?.text, !body.isEmpty { lines.append("DESCRIPTION:" + escape(body)) }
        lines.append("CLASS:" + classification(v("Sensitivity")))
        lines.append("END:VTODO")
        return lines
    }

    /// A stored Recurrence as an RRULE (RFC 5545), nil when it is not a valid one.
    static func rrule(_ recurrence: XElement, start: Double?) -> String? {
        guard let pattern = try? RecurrencePattern(recurrence) else { return nil }
        let days = ["", "MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        func byDay(_ list: [Int]) -> String { list.map { days[$0] }.joined(separator: ",") }
        var parts: [String]
        switch pattern.rule {
        case .daily: parts = ["FREQ=DAILY"]
        case .weekly(let list): parts = ["FREQ=WEEKLY", "BYDAY=" + byDay(list), "WKST=" + days[pattern.firstDayOfWeek]]
        case .absoluteMonthly(let day): parts = ["FREQ=MONTHLY", "BYMONTHDAY=\(day)"]
        case .relativeMonthly(let list, let index):
            parts = ["FREQ=MONTHLY", "BYDAY=" + byDay(list), "BYSETPOS=\(index)"]
        case .absoluteYearly(let day, let month): parts = ["FREQ=YEARLY", "BYMONTH=\(month)", "BYMONTHDAY=\(day)"]
        case .relativeYearly(let list, let index, let month):
            parts = ["FREQ=YEARLY", "BYMONTH=\(month)", "BYDAY=" + byDay(list), "BYSETPOS=\(index)"]
        }
        parts.insert("INTERVAL=\(pattern.interval)", at: 1)
        if let count = pattern.count { parts.append("COUNT=\(count)") }
        if let endDay = pattern.endDay {
            let timeOfDay = start.map { $0 - ($0 / 86_400).rounded(.down) * 86_400 } ?? 0
            parts.append("UNTIL=" + stamp(Double(endDay) * 86_400 + timeOfDay))
        }
        return parts.joined(separator: ";")
    }

    static func classification(_ sensitivity: String?) -> String {
        switch sensitivity {
        case "Private", "Personal": "PRIVATE";
        case "Confidential": "CONFIDENTIAL";
        default: "PUBLIC"
        }
    }

    /// `20260302T090000Z`.
    static func stamp(_ seconds: Double) -> String {
        FieldValue.formatDate(seconds).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
    }

    /// `20260302`.
    static func date(_ seconds: Double) -> String { String(stamp(seconds).prefix(8)) }

    /// A property value with `\`, `;`, `,` and line breaks escaped (RFC 6350, RFC 5545).
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\r\n", "\n": out += "\\n"
            case "\r": continue
            default: out.append(c)
            }
        }
        return out
    }

    /// Content lines joined with CRLF, each folded at 75 octets (a fold never splits a UTF-8 character).
    static func fold(_ lines: [String]) -> String {
        var out = ""
        for line in lines {
            var width = 0
            for c in line {
                let n = String(c).utf8.count
                if width + n > 75 { out += "\r\n "; width = 1 }
                out.append(c)
                width += n
            }
            out += "\r\n"
        }
        return out
    }
}

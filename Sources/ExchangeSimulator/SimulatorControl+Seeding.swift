import Foundation

/// `POST /sim/seed` body and `SimulatorControl.seed(_:)` argument.
public struct SeedRequest: Codable, Sendable {
    public var mailbox: String
    public var seed: UInt64
    public var contacts: Int?
    public var appointments: Int?
    public var tasks: Int?
    public init(mailbox: String, seed: UInt64, contacts: Int = 0, appointments: Int = 0, tasks: Int = 0) {
        self.mailbox = mailbox; self.seed = seed; self.contacts = contacts; self.appointments = appointments;
        self.tasks = tasks
    }
}

/// What a seed call created.
public struct SeedResult: Codable, Sendable, Equatable {
    public var mailbox: String
    public var contacts: Int
    public var appointments: Int
    public var tasks: Int
}

extension SimulatorControl {
    /// Adds deterministic contacts, appointments (every fifth a recurring series with a modified and a
    /// deleted occurrence; many with attendees) and tasks (all statuses) to a mailbox, created if missing.
    /// The same seed, mailbox and counts always give the same items.
    @discardableResult
    public func seed(_ r: SeedRequest) throws -> SeedResult {
        let now = Date().timeIntervalSince1970
        return store.withState { s in
            s.createMailbox(r.mailbox)
            let mb = StoreState.key(r.mailbox)
            var gen = SeedGenerator(seed: r.seed, mailbox: mb)
            for i in 0..<(r.contacts ?? 0) {
                let f = gen.contact(i)
                _ = s.insertItem(mailbox: mb, folder: "contacts", kind: .contact, fields: f, extended: [], now: now)
            }
            for i in 0..<(r.appointments ?? 0) {
                var f = gen.appointment(i)
                let recurring = i % 5 == 4
                if recurring { f.merge(gen.recurrence(i, start: f["Start"]!.text, end: f["End"]!.text)) { $1 } }
                var item = s.insertItem(
                    mailbox: mb, folder: "calendar", kind: .calendarItem, fields: f, extended: [], now: now)
                if recurring {
                    item.fields.merge(
                        gen.occurrences(
                            i, master: item.number, mailbox: mb, start: f["Start"]!.text, end: f["End"]!.text)
                    ) { $1 }
                    s.mailboxes[mb]!.folders["calendar"]!.items[item.number] = item
                    s.pending.item(mb, item.number)
                }
            }
            for i in 0..<(r.tasks ?? 0) {
                _ = s.insertItem(mailbox: mb, folder: "tasks", kind: .task, fields: gen.task(i), extended: [], now: now)
            }
            return SeedResult(
                mailbox: mb, contacts: r.contacts ?? 0, appointments: r.appointments ?? 0, tasks: r.tasks ?? 0)
        }
    }
}

/// Deterministic, realistic, Unicode-bearing item content (SplitMix64 per item).
struct SeedGenerator {
    let base: UInt64
    private var state: UInt64 = 0

    init(seed: UInt64, mailbox: String) {
        var h: UInt64 = 0xcbf29ce484222325
        for b in mailbox.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        base = seed ^ h
    }

    private mutating func reset(_ kind: UInt64, _ i: Int) {
        state = base &+ kind &* 0x9E3779B97F4A7C15 &+ UInt64(i) &* 0xBF58476D1CE4E5B9
    }
    private mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    private mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }
    private mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }

    static let given = [
        "Anna", "Zoë", "José", "Łukasz", "Søren", "Mei", "Chloé", "Björn", "Σοφία", "Olivier", "Ayşe", "Jürgen",
        "Priya", "Nguyễn", "Ana María", "François", "Ingrid", "Mateo", "Hana", "Dmitri",
    ]
    static let surnames = [
        "Müller", "García", "Nowak", "Ørsted", "Dubois", "O'Brien", "Yılmaz", "Rossi", "Smith", "Kowalczyk",
        "van der Berg", "Đặng", "Nakamura", "Schröder", "Fernández", "Lindqvist", "Παπαδόπουλος", "Brown", "Kim",
        "Novák",
    ]
    static let companies = [
        "Contoso Ltd.", "Fabrikam & Söhne", "Northwind Traders", "Tailspin Toys", "Adventure Works",
        "Café Lumière SARL", "Wide World Importers", "Proseware, Inc.", "Litware <Labs>", "Żabka Logistics",
    ]
    static let titles = [
        "Account Manager", "CFO", "Sales Engineer", "Head of Procurement", "Développeuse", "Office Manager",
        "Project Lead", "Einkaufsleiter",
    ]
    static let cities = [
        ("Berlin", "BE", "Germany", "10115"), ("Paris", "", "France", "75002"), ("Kraków", "", "Poland", "31-001"),
        ("Seattle", "WA", "United States", "98101"), ("Zürich", "ZH", "Switzerland", "8001"),
        ("København", "", "Denmark", "1050"), ("São Paulo", "SP", "Brazil", "01000-000"),
    ]
    static let streets = [
        "Hauptstraße", "Rue de Rivoli", "Main Street", "ul. Floriańska", "Bahnhofstrasse", "Strøget",
        "Avenida Paulista",
    ]
    static let categories = ["Customer", "VIP", "Partner", "Supplier", "Follow-up", "Q3 ☀️"]
    static let subjects = [
        "Quarterly review", "Kick-off: Projekt Übersee", "Lunch with 田中さん", "Budget & forecast", "Site visit",
        "Réunion d'équipe", "Contract renewal <draft>", "Demo for Fabrikam", "1:1", "Training — new CRM",
    ]
    static let locations = [
        "Room 4.12", "Café Zentral", "Teams", "HQ, Building B", "Client site – Kraków", "Sala Ñandú",
    ]
    static let taskSubjects = [
        "Send offer", "Call back re: invoice #", "Prepare slides für Montag", "Update CRM record",
        "Review contract § 4", "Book travel ✈", "Collect signatures", "Renew certificate",
    ]
    static let statuses = ["NotStarted", "InProgress", "Completed", "WaitingOnOthers", "Deferred"]

    private func t(_ name: String, _ text: String) -> XElement { XElement(name, text: text) }

    private mutating func categoriesElement() -> XElement? {
        let n = int(0...2)
        if n == 0 { return nil }
        var seen: [String] = []
        for _ in 0..<n { let c = pick(Self.categories); if !seen.contains(c) { seen.append(c) } }
        return XElement("Categories", children: seen.map { t("String", $0) })
    }

    mutating func contact(_ i: Int) -> [String: XElement] {
        reset(1, i)
        let g = pick(Self.given), sn = pick(Self.surnames), company = pick(Self.companies)
        let local = "\(g).\(sn)".folding(options: [.diacriticInsensitive], locale: nil).lowercased()
            .filter { $0.isASCII && ($0.isLetter || $0 == ".") }
        var f: [String: XElement] = [:]
        f["Subject"] = t("Subject", "\(g) \(sn)")
        f["Body"] = XElement(
            "Body", attributes: [("BodyType", "Text")],
            text: "Met at the \(pick(Self.cities).0) fair. Notes #\(i): prefers e-mail; \"no calls\" before 9.")
        f["GivenName"] = t("GivenName", g)
        f["Surname"] = t("Surname", sn)
        f["DisplayName"] = t("DisplayName", "\(g) \(sn)")
        f["FileAs"] = t("FileAs", "\(sn), \(g)")
        f["CompanyName"] = t("CompanyName", company)
        f["JobTitle"] = t("JobTitle", pick(Self.titles))
        var emails = [XElement("Entry", attributes: [("Key", "EmailAddress1")], text: "\(local)\(i)@example.org")]
        if i % 3 == 0 {
            emails.append(XElement("Entry", attributes: [("Key", "EmailAddress2")], text: "\(local)@private.example"))
        }
        f["EmailAddresses"] = XElement("EmailAddresses", children: emails)
        let (city, state, country, zip) = pick(Self.cities)
        var addr = [t("Street", "\(pick(Self.streets)) \(int(1...200))"), t("City", city)]
        if !state.isEmpty { addr.append(t("State", state)) }
        addr += [t("CountryOrRegion", country), t("PostalCode", zip)]
        var addresses = [XElement("Entry", attributes: [("Key", "Business")], children: addr)]
        if i % 4 == 1 {
            addresses.append(
                XElement(
                    "Entry", attributes: [("Key", "Home")],
                    children: [t("Street", "\(pick(Self.streets)) \(int(1...99))"), t("City", city)]))
        }
        f["PhysicalAddresses"] = XElement("PhysicalAddresses", children: addresses)
        var phones = [
            XElement("Entry", attributes: [("Key", "BusinessPhone")], text: "+49 30 \(int(1_000_000...9_999_999))")
        ]
        if i % 2 == 0 {
            phones.append(
                XElement("Entry", attributes: [("Key", "MobilePhone")], text: "+1 206 555 \(int(1000...9999))"))
        }
        if i % 5 == 0 {
            phones.append(
                XElement(
                    "Entry", attributes: [("Key", "HomePhone")],
                    text: "+33 1 \(int(10...99)) \(int(10...99)) \(int(10...99)) \(int(10...99))"))
        }
        f["PhoneNumbers"] = XElement("PhoneNumbers", children: phones)
        if i % 3 != 2 {
            f["Birthday"] = t(
                "Birthday", String(format: "%04d-%02d-%02dT00:00:00Z", int(1950...2000), int(1...12), int(1...28)))
        }
        if let c = categoriesElement() { f["Categories"] = c }
        return f
    }

    /// The zone seeded appointments are in (W. Europe Standard Time).
    static let zone = TimeZone(identifier: "Europe/Berlin")!

    mutating func appointment(_ i: Int) -> [String: XElement] {
        reset(2, i)
        var f: [String: XElement] = [:]
        let day = 1_767_225_600.0 + Double(int(0...364)) * 86_400  // 2026-01-01 + n days
        let allDay = i % 7 == 3
        // An all-day event spans whole days of its zone, from midnight there (Exchange stores them so).
        func midnight(_ utcMidnight: Double) -> Double {
            utcMidnight - Double(Self.zone.secondsFromGMT(for: Date(timeIntervalSince1970: utcMidnight)))
        }
        let start = allDay ? midnight(day) : day + Double(int(7...17)) * 3600 + Double(int(0...3)) * 900
        let end = allDay ? midnight(day + 86_400) : start + Double(int(1...4)) * 1800
        f["Subject"] = t("Subject", pick(Self.subjects))
        f["Body"] = XElement(
            "Body", attributes: [("BodyType", "Text")], text: "Agenda:\n1. Status\n2. Next steps & owners\nRef #\(i)")
        f["Start"] = t("Start", FieldValue.formatDate(start))
        f["End"] = t("End", FieldValue.formatDate(end))
        f["IsAllDayEvent"] = t("IsAllDayEvent", allDay ? "true" : "false")
        f["Location"] = t("Location", pick(Self.locations))
        f["Sensitivity"] = t("Sensitivity", i % 9 == 0 ? "Private" : "Normal")
        f["UID"] = t("UID", String(format: "040000008200E00074C5B7101A82E008%016llX%08X", base, UInt32(i)))
        if let c = categoriesElement() { f["Categories"] = c }
        if i % 2 == 0 {
            func attendee(_ k: Int) -> XElement {
                let g = pick(Self.given), sn = pick(Self.surnames)
                return XElement(
                    "Attendee",
                    children: [
                        XElement(
                            "Mailbox",
                            children: [
                                t("Name", "\(g) \(sn)"), t("EmailAddress", "attendee\(k)@example.org"),
                                t("RoutingType", "SMTP"),
                            ]),
                        t("ResponseType", pick(["Unknown", "Accept", "Tentative", "Decline", "NoResponseReceived"])),
                    ])
            }
            f["RequiredAttendees"] = XElement(
                "RequiredAttendees", children: (0..<int(1...3)).map { attendee(i * 10 + $0) })
            if i % 4 == 0 { f["OptionalAttendees"] = XElement("OptionalAttendees", children: [attendee(i * 10 + 7)]) }
            if i % 8 == 0 {
                f["Resources"] = XElement(
                    "Resources",
                    children: [
                        XElement(
                            "Attendee",
                            children: [
                                XElement(
                                    "Mailbox",
                                    children: [
                                        t("Name", "Room 4.12"), t("EmailAddress", "room412@example.org"),
                                        t("RoutingType", "SMTP"),
                                    ])
                            ])
                    ])
            }
        }
        f["StartTimeZone"] = XElement(
            "StartTimeZone",
            attributes: [
                ("Id", "W. Europe Standard Time"),
                ("Name", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
            ])
        f["EndTimeZone"] = XElement(
            "EndTimeZone",
            attributes: [
                ("Id", "W. Europe Standard Time"),
                ("Name", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
            ])
        return f
    }

    /// A weekly (or daily / monthly) pattern with an end date or a count.
    mutating func recurrence(_ i: Int, start: String, end: String) -> [String: XElement] {
        reset(3, i)
        let startDate = String(start.prefix(10))
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
        let pattern: XElement
        switch i % 3 {
        case 0: pattern = XElement("DailyRecurrence", children: [t("Interval", "1")])
        case 1:
            pattern = XElement(
                "WeeklyRecurrence",
                children: [t("Interval", "1"), t("DaysOfWeek", weekday(start)), t("FirstDayOfWeek", "Monday")])
        default:
            pattern = XElement(
                "AbsoluteMonthlyRecurrence",
                children: [t("Interval", "1"), t("DayOfMonth", String(Int(start.dropFirst(8).prefix(2)) ?? 1))])
        }
        _ = days
        let range =
            i % 2 == 0
            ? XElement("NumberedRecurrence", children: [t("StartDate", startDate), t("NumberOfOccurrences", "10")])
            : XElement(
                "EndDateRecurrence",
                children: [
                    t("StartDate", startDate),
                    t(
                        "EndDate",
                        String(FieldValue.formatDate((FieldValue.parseDate(start) ?? 0) + 120 * 86_400).prefix(10))),
                ])
        return ["Recurrence": XElement("Recurrence", children: [pattern, range])]
    }

    private func weekday(_ iso: String) -> String {
        let d = Int((FieldValue.parseDate(iso) ?? 0) / 86_400)
        return ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"][((d % 7) + 7) % 7]
    }

    /// One modified and one deleted occurrence of a series (occurrences 2 and 3 of the pattern).
    mutating func occurrences(
        _ i: Int, master: UInt64, mailbox: String, start: String, end: String
    ) -> [String: XElement] {
        let s = FieldValue.parseDate(start) ?? 0, e = FieldValue.parseDate(end) ?? 0
        let step: Double = i % 3 == 0 ? 86_400 : (i % 3 == 1 ? 7 * 86_400 : 0)
        guard step > 0 else { return [:] }  // monthly series: no exceptions
        let occId = Identifier.occurrenceId(mailbox: mailbox, master: master, originalStart: Int64(s + 2 * step))
        let modified = XElement(
            "ModifiedOccurrences",
            children: [
                XElement(
                    "Occurrence",
                    children: [
                        XElement("ItemId", attributes: [("Id", occId)]),
                        t("Start", FieldValue.formatDate(s + 2 * step + 3600)),
                        t("End", FieldValue.formatDate(e + 2 * step + 3600)),
                        t("OriginalStart", FieldValue.formatDate(s + 2 * step)),
                    ])
            ])
        let deleted = XElement(
            "DeletedOccurrences",
            children: [XElement("DeletedOccurrence", children: [t("Start", FieldValue.formatDate(s + 3 * step))])])
        return ["ModifiedOccurrences": modified, "DeletedOccurrences": deleted]
    }

    mutating func task(_ i: Int) -> [String: XElement] {
        reset(4, i)
        var f: [String: XElement] = [:]
        let status = Self.statuses[i % Self.statuses.count]
        let start = 1_767_225_600.0 + Double(int(0...300)) * 86_400
        f["Subject"] = t("Subject", "\(pick(Self.taskSubjects)) \(i)")
        f["Body"] = XElement(
            "Body", attributes: [("BodyType", "Text")], text: "Owner notes: check with \(pick(Self.given)) — due soon.")
        f["Importance"] = t("Importance", pick(["Low", "Normal", "High"]))
        f["StartDate"] = t("StartDate", FieldValue.formatDate(start))
        f["DueDate"] = t("DueDate", FieldValue.formatDate(start + Double(int(1...30)) * 86_400))
        f["Status"] = t("Status", status)
        let pct = status == "Completed" ? 100 : status == "NotStarted" ? 0 : [25, 50, 75][i % 3]
        f["PercentComplete"] = t("PercentComplete", String(pct))
        if status == "Completed" { f["CompleteDate"] = t("CompleteDate", FieldValue.formatDate(start + 86_400 * 2)) }
        if let c = categoriesElement() { f["Categories"] = c }
        return f
    }
}

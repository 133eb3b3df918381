import Foundation
import Testing
import TestSupport
@testable import ExchangeSimulator

/// The interpreter with exchangelib 5.6.0 (TestPython).
enum ExchangelibPython {
    static let path: String? = TestPython.interpreter(importing: "exchangelib")
    static var enabled: Bool { TestPython.enabled(path) }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Python/exchangelib_checks.py").path

    /// Runs one scenario of exchangelib_checks.py against `sim` acting on `mailbox` as a delegate; returns its JSON.
    static func scenario(
        _ name: String, sim: Simulator, mailbox: String, environment: [String: String] = [:]
    ) async throws -> [String: Any] {
        guard let python = path else {
            Issue.record(
                "SNAPSYNC_TEST_PYTHON is not set and CI=true: run jobs/dev/test.sh (it installs exchangelib 5.6.0).")
            throw CancellationError()
        }
        let account = SimulatorConfiguration.defaultAccount
        let r = try await TestPython.run(
            python, script: script, [name],
            environment: [
                "SIM_ENDPOINT": sim.endpoint, "SIM_USER": account.user, "SIM_PASSWORD": account.password,
                "SIM_MAILBOX": mailbox,
            ].merging(environment) { $1 })
        guard r.status == 0 else {
            Issue.record("exchangelib scenario \(name) failed (exit \(r.status)):\n\(r.stderr.suffix(6000))")
            throw CancellationError()
        }
        return try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }
}

/// Python's exchangelib 5.6.0, an EWS client written independently of snapsync, accepts the simulator:
/// delegate access to another mailbox, Basic auth, no autodiscover, Exchange 2016.
@Suite(.enabled(if: ExchangelibPython.enabled), .serialized)
struct ExchangelibTests {
    static let mailbox = "alice@example.com"

    /// A simulator with alice's mailbox seeded (the service account acts on it as a delegate).
    func withSeeded<T>(
        contacts: Int = 12, appointments: Int = 15, tasks: Int = 10,
        _ body: (Simulator) async throws -> T
    ) async throws -> T {
        try await withSimulator { sim, _ in
            try sim.control.seed(
                SeedRequest(
                    mailbox: Self.mailbox, seed: 7, contacts: contacts, appointments: appointments, tasks: tasks))
            return try await body(sim)
        }
    }

    /// Stored items of one folder of alice's mailbox.
    static func stored(_ sim: Simulator, _ folder: String) -> [StoredItem] {
        sim.control.store.withState { s in Array(s.mailbox(mailbox)!.folders[folder]!.items.values) }
    }

    static func epoch(_ item: StoredItem, _ field: String) -> Double? {
        item.fields[field].flatMap { FieldValue.parseDate($0.value) }
    }

    @Test func allReturnsSeededContactsAppointmentsAndTasksWithTheirFields() async throws {
        try await withSeeded { sim in
            let out = try await ExchangelibPython.scenario("read", sim: sim, mailbox: Self.mailbox)
            let contacts = try #require(out["contacts"] as? [[String: Any]])
            let calendar = try #require(out["calendar"] as? [[String: Any]])
            let tasks = try #require(out["tasks"] as? [[String: Any]])
            #expect(contacts.count == 12 && calendar.count == 15 && tasks.count == 10)

            for item in Self.stored(sim, "contacts") {
                let given = item.fields["GivenName"]?.value, surname = item.fields["Surname"]?.value
                let c = try #require(
                    contacts.first {
                        $0["given_name"] as? String == given && $0["surname"] as? String == surname
                            && ($0["emails"] as? [String])?.contains(item.fields["EmailAddresses"]!.children[0].value)
                                == true
                    })
                #expect(c["company_name"] as? String == item.fields["CompanyName"]?.value)
                #expect(c["job_title"] as? String == item.fields["JobTitle"]?.value)
                #expect(c["display_name"] as? String == item.fields["DisplayName"]?.value)
                #expect((c["emails"] as? [String])?.count == item.fields["EmailAddresses"]?.children.count)
                #expect((c["phones"] as? [String])?.count == item.fields["PhoneNumbers"]?.children.count)
                #expect((c["addresses"] as? [String])?.count == item.fields["PhysicalAddresses"]?.children.count)
                #expect((c["body"] as? String) == item.fields["Body"]?.text)
                #expect((c["categories"] as? [String]) == (item.fields["Categories"]?.children.map(\.value) ?? []))
                if let b = item.fields["Birthday"]?.value { #expect(c["birthday"] as? String == String(b.prefix(10))) }
            }
            for item in Self.stored(sim, "calendar") {
                let e = try #require(calendar.first { $0["uid"] as? String == item.fields["UID"]?.value })
                #expect(e["subject"] as? String == item.fields["Subject"]?.value)
                #expect(e["location"] as? String == item.fields["Location"]?.value)
                if item.fields["IsAllDayEvent"]?.value == "true" {
                    // exchangelib turns all-day start/end into dates of the event's zone, where they are midnights
                    // (the end date inclusive, one day before End).
                    var calendar = Calendar(identifier: .gregorian)
                    calendar.timeZone = SeedGenerator.zone
                    func day(_ t: Double) -> String {
                        let d = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: t))
                        return String(format: "%04d-%02d-%02d", d.year!, d.month!, d.day!)
                    }
                    let (start, end) = (Self.epoch(item, "Start")!, Self.epoch(item, "End")!)
                    #expect(calendar.startOfDay(for: Date(timeIntervalSince1970: start)).timeIntervalSince1970 == start)
                    #expect(e["start"] as? String == day(start))
                    #expect(e["end"] as? String == day(end - 86_400))
                } else {
                    #expect(e["start"] as? Double == Self.epoch(item, "Start"))
                    #expect(e["end"] as? Double == Self.epoch(item, "End"))
                }
                #expect(e["is_all_day"] as? Bool == (item.fields["IsAllDayEvent"]?.value == "true"))
                #expect(e["sensitivity"] as? String == item.fields["Sensitivity"]?.value)
                #expect(e["recurring"] as? Bool == (item.fields["Recurrence"] != nil))
                #expect(e["modified_occurrences"] as? Int == item.fields["ModifiedOccurrences"]?.children.count ?? 0)
                #expect(e["deleted_occurrences"] as? Int == item.fields["DeletedOccurrences"]?.children.count ?? 0)
                #expect(
                    (e["required_attendees"] as? [String])?.count == item.fields["RequiredAttendees"]?.children.count
                        ?? 0)
            }
            #expect(
                calendar.contains { $0["recurring"] as? Bool == true && ($0["modified_occurrences"] as? Int ?? 0) > 0 })
            for item in Self.stored(sim, "tasks") {
                let t = try #require(tasks.first { $0["subject"] as? String == item.fields["Subject"]?.value })
                #expect(t["status"] as? String == item.fields["Status"]?.value)
                #expect(t["percent_complete"] as? Double == item.fields["PercentComplete"].flatMap { Double($0.value) })
                #expect(t["importance"] as? String == item.fields["Importance"]?.value)
                #expect(t["due_date"] as? String == item.fields["DueDate"].map { String($0.value.prefix(10)) })
                #expect(t["complete_date"] as? Double == Self.epoch(item, "CompleteDate"))
            }
        }
    }

    @Test func bulkCreateUpdateDeleteRoundTrip() async throws {
        try await withSeeded(contacts: 2, appointments: 2, tasks: 2) { sim in
            let out = try await ExchangelibPython.scenario("bulk", sim: sim, mailbox: Self.mailbox)
            #expect(out["deleted"] as? Int == 7)
            // Back to the seeded state: the round trip left nothing behind.
            #expect(
                Self.stored(sim, "contacts").count == 2 && Self.stored(sim, "calendar").count == 2
                    && Self.stored(sim, "tasks").count == 2)
            let counters = sim.control.counters()
            #expect(counters["CreateItem"] == 3 && counters["DeleteItem"] == 1 && counters["UpdateItem"] == 1)
        }
    }

    @Test func syncItemsYieldsExactlyTheChangeMadeSinceTheLastSync() async throws {
        try await withSeeded(contacts: 5, appointments: 5, tasks: 5) { sim in
            let out = try await ExchangelibPython.scenario("sync", sim: sim, mailbox: Self.mailbox)
            for folder in ["contacts", "calendar", "tasks"] {
                let f = try #require(out[folder] as? [String: Int])
                #expect(f == ["initial": 5, "create": 1, "update": 1, "delete": 1], "\(folder)")
            }
        }
    }

    @Test func filterBySubjectAndOrderBy() async throws {
        try await withSeeded { sim in
            let out = try await ExchangelibPython.scenario("query", sim: sim, mailbox: Self.mailbox)
            let tasks = Self.stored(sim, "tasks")
            let subjects = tasks.compactMap { $0.fields["Subject"]?.value }
            #expect(out["ordered_tasks"] as? [String] == subjects.sorted { FieldValue.compare($0, $1) < 0 })
            #expect(
                out["high_importance"] as? [String]
                    == tasks.filter { $0.fields["Importance"]?.value == "High" }
                    .compactMap { $0.fields["Subject"]?.value }.sorted())
            let june = FieldValue.parseDate("2026-06-01T00:00:00Z")!
            #expect(
                out["calendar_from_june"] as? Int
                    == Self.stored(sim, "calendar").filter { Self.epoch($0, "Start")! >= june }.count)
            #expect(out["counts"] as? [String: Int] == ["tasks": 10, "contacts": 12])
        }
    }

    @Test func convertIdAnswersTheOwnerOfEachId() async throws {
        try await withSeeded(contacts: 3, appointments: 1, tasks: 1) { sim in
            let out = try await ExchangelibPython.scenario("convert_id", sim: sim, mailbox: Self.mailbox)
            #expect(out["owners"] as? [String] == Array(repeating: Self.mailbox, count: 4))
            #expect(out["formats"] as? [String] == ["HexEntryId"] && out["hex"] as? Bool == true)
        }
    }

    @Test func calendarViewExpandsASeriesWithItsExceptionAndWithoutItsCancelledOccurrence() async throws {
        try await withSimulator({ $0.mailboxes = [Self.mailbox] }) { sim, _ in
            let out = try await ExchangelibPython.scenario("recurrence", sim: sim, mailbox: Self.mailbox)
            let view = try #require(out["view"] as? [[String: Any]])
            let day = 86_400.0, first = try #require(FieldValue.parseDate("2026-03-02T09:00:00Z"))
            #expect(view.map { $0["type"] as? String } == ["Occurrence", "Occurrence", "Exception", "Occurrence"])
            #expect(
                view.map { $0["start"] as? Double } == [
                    first + 2 * day, first + 3 * day, first + 4 * day + 3600, first + 6 * day,
                ])
            #expect(view.allSatisfy { $0["subject"] as? String == "Daily standup" })
            let master = try #require(out["master"] as? [String: Any])
            #expect(master["id_matches"] as? Bool == true && master["type"] as? String == "RecurringMaster")
            #expect(out["single_as_occurrence"] as? String == "ErrorCalendarCannotUseIdForRecurringMasterId")
            // The store holds the move and the cancellation on the master.
            let stored = try #require(Self.stored(sim, "calendar").first { $0.fields["Recurrence"] != nil })
            #expect(
                stored.fields["ModifiedOccurrences"]?.children.count == 1
                    && stored.fields["DeletedOccurrences"]?.children.count == 1)
        }
    }

    @Test func accountsWithoutRightsAreRefusedAndGrantedOnesAreServed() async throws {
        try await withSimulator({
            $0.mailboxes = [Self.mailbox]
            $0.accounts["bob@example.com"] = "bob-pw"
            $0.accounts["carol@example.com"] = "carol-pw"
            $0.accounts["dave@example.com"] = "dave-pw"
            $0.access = [
                "bob@example.com": AccountAccess(), "carol@example.com": AccountAccess(impersonation: true),
                "dave@example.com": AccountAccess(fullAccess: [Self.mailbox]),
            ]
        }) { sim, _ in
            try sim.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 3, contacts: 4, appointments: 0, tasks: 0))
            let cases: [[String]] = [
                ["bob@example.com", "bob-pw", "delegate", Self.mailbox],
                ["bob@example.com", "bob-pw", "impersonation", Self.mailbox],
                ["bob@example.com", "bob-pw", "delegate", "bob@example.com"],
                ["carol@example.com", "carol-pw", "impersonation", Self.mailbox],
                ["carol@example.com", "carol-pw", "delegate", Self.mailbox],
                ["dave@example.com", "dave-pw", "delegate", Self.mailbox],
                ["dave@example.com", "dave-pw", "impersonation", Self.mailbox],
                [
                    SimulatorConfiguration.defaultAccount.user, SimulatorConfiguration.defaultAccount.password,
                    "impersonation", Self.mailbox,
                ],
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self)
            let out = try await ExchangelibPython.scenario(
                "access", sim: sim, mailbox: Self.mailbox, environment: ["SIM_ACCESS": json])
            let results = try #require(out["results"] as? [Any])
            #expect(
                results.map { "\($0)" } == [
                    "ErrorAccessDenied", "ErrorImpersonateUserDenied", "0", "4", "ErrorAccessDenied", "4",
                    "ErrorImpersonateUserDenied", "4",
                ])
        }
    }

    @Test func mimeContentIsAVCardOrAnICalendarMatchingTheItem() async throws {
        try await withSeeded(contacts: 4, appointments: 6, tasks: 3) { sim in
            let out = try await ExchangelibPython.scenario("mime", sim: sim, mailbox: Self.mailbox)
            let cards = try #require(out["contacts"] as? [String: String])
            for item in Self.stored(sim, "contacts") {
                let card = try #require(cards[Identifier.itemId(mailbox: Self.mailbox, number: item.number)])
                let lines = card.replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n")
                #expect(lines.first == "BEGIN:VCARD" && lines.contains("VERSION:3.0"))
                #expect(lines.contains("FN:" + MimeContent.escape(item.fields["DisplayName"]!.value)))
                for email in item.fields["EmailAddresses"]?.children ?? [] {
                    #expect(
                        lines.contains { $0.hasPrefix("EMAIL;") && $0.hasSuffix(":" + email.value) }, "\(email.value)")
                }
                #expect(lines.filter { $0.hasPrefix("TEL;") }.count == item.fields["PhoneNumbers"]?.children.count ?? 0)
            }
            let events = try #require(out["calendar"] as? [String: String])
            for item in Self.stored(sim, "calendar") {
                let ics = try #require(events[item.fields["UID"]?.value ?? ""])
                let lines = ics.replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n")
                #expect(lines.first == "BEGIN:VCALENDAR" && lines.contains("BEGIN:VEVENT"))
                #expect(lines.contains("UID:" + MimeContent.escape(item.fields["UID"]!.value)))
                #expect(
                    lines.contains("DTSTART:" + MimeContent.stamp(Self.epoch(item, "Start")!))
                        || item.fields["IsAllDayEvent"]?.value == "true")
                #expect(lines.contains { $0.hasPrefix("RRULE:") } == (item.fields["Recurrence"] != nil))
            }
            let tasks = try #require(out["tasks"] as? [String: String])
            #expect(tasks.count == 3 && tasks.values.allSatisfy { $0.contains("BEGIN:VTODO") })
        }
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// A series' occurrences in a window (calendarView, instances, calendarView delta) are the ones every occurrence
/// built and checked against the window gives, in the same order, whether the window cuts through the series, holds
/// it whole, or misses it, and with moved exceptions and cancellations.
@Suite struct GraphInstancesTests {
    /// Every occurrence built, checked and sorted (what `instances` must answer).
    static func reference(of master: StoredItem, mailbox: String, from: Double, to: Double) -> [String] {
        guard let r = master.fields["Recurrence"], let pattern = try? RecurrencePattern(r) else { return [] }
        let start = GraphService.startOf(master), end = GraphService.endOf(master)
        let timeOfDay = start - (start / 86_400).rounded(.down) * 86_400
        let deleted = EWSService.deletedStarts(master)
        let margin = 31.0 * 86_400
        var out: [GraphService.EventView] = []
        pattern.walk { index, day in
            let original = Double(day) * 86_400 + timeOfDay
            if original > to + margin { return false }
            if original + (end - start) < from - margin || deleted.contains(Int64(original)) { return true }
            let v = GraphService.view(
                OccurrenceRef(
                    mailbox: mailbox, master: master, index: index, originalStart: original, duration: end - start))
            if GraphService.overlaps(v.item, from, to) { out.append(v) }
            return true
        }
        return out.sorted { GraphService.startOf($0.item) < GraphService.startOf($1.item) }.map {
            "\($0.id) \($0.type) \(GraphService.startOf($0.item))"
        }
    }

    @Test func occurrencesInAWindowAreEveryOccurrenceCheckedAgainstIt() async throws {
        try await withSimulator { sim, _ in
            let mailbox = "series@example.com"
            try sim.control.seed(SeedRequest(mailbox: mailbox, seed: 3, appointments: 60))
            let masters = sim.control.store.withState { s in
                s.mailbox(mailbox)!.folders["calendar"]!.items.values.filter { $0.fields["Recurrence"] != nil }
            }
            #expect(masters.count == 12)
            var compared = 0
            for master in masters {
                let s = GraphService.startOf(master)
                for (from, to) in [
                    (s - 400 * 86_400, s + 800 * 86_400), (s - 86_400, s + 20 * 86_400), (s + 3_600, s + 60 * 86_400),
                    (s + 40 * 86_400, s + 41 * 86_400), (s - 90 * 86_400, s - 30 * 86_400), (s, s + 1),
                ] {
                    let new = GraphService.instances(of: master, mailbox: mailbox, from: from, to: to).map {
                        "\($0.id) \($0.type) \(GraphService.startOf($0.item))"
                    }
                    #expect(new == Self.reference(of: master, mailbox: mailbox, from: from, to: to))
                    compared += new.count
                }
            }
            #expect(compared > 100)
        }
    }

    /// An occurrence's `iCalUId` is its series' with the occurrence's date in it, as Exchange writes a GlobalObjectId
    /// (year, month, day in upper-case hex after the 16-byte class id); a UID of another form gets the date appended.
    @Test func anOccurrenceCarriesItsDateInItsICalUId() {
        let classId = "040000008200E00074C5B7101A82E008"
        let uid = classId + "00000000" + "7A2B3C4D5E6F70810000000000000000100000001C2D3E4F"
        let march4 = 20_516.0 * 86_400 + 9 * 3_600  // 2026-03-04T09:00:00Z
        #expect(GraphService.iCalUId(uid, originalStart: march4) == classId + "07EA0304" + uid.dropFirst(40))
        #expect(GraphService.iCalUId(uid.lowercased(), originalStart: march4).hasSuffix(uid.lowercased().dropFirst(40)))
        #expect(GraphService.iCalUId("uid-7", originalStart: 0) == "uid-7-07B20101")
        #expect(GraphService.iCalUId("uid-7", originalStart: nil) == "uid-7")
        let december31 = 2_932_896.0 * 86_400  // 9999-12-31
        #expect(GraphService.iCalUId("u", originalStart: december31) == "u-270F0C1F")
    }
}

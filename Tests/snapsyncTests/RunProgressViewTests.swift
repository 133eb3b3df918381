import Foundation
import SyncCore
@testable import SyncStore
@testable import snapsync
import Testing

/// The live status of a run: a few lines within the terminal's width, expected items extrapolated from the folders
/// that announced theirs, rates since the display started, and the mailboxes in flight packed with a count of the rest.
@Suite struct RunProgressViewTests {
    func progress(
        done: Int, running: Int, read: Int64, announced: Int64, withTotal: Int, folders: Int = 50,
        inFlight: Int = 4
    ) -> RunStore.Progress {
        RunStore.Progress(
            mailboxes: 50, done: done, failed: 0, running: running,
            kinds: [
                .init(
                    kind: .appointments, read: read, announced: announced, foldersWithTotal: withTotal,
                    folders: folders, quarantined: 2),
                .init(kind: .tasks, read: read, announced: 0, foldersWithTotal: 0, folders: folders, quarantined: 0),
            ],
            stages: (0..<inFlight).map {
                .init(mailbox: String(format: "user%02d@demo.example", $0), kind: .tasks, stage: .extract)
            })
    }

    @Test func expectedItemsAreExtrapolatedFromTheFoldersThatAnnouncedTheirs() {
        let kind = RunStore.Progress.KindProgress(
            kind: .tasks, read: 0, announced: 4000, foldersWithTotal: 2, folders: 10, quarantined: 0)
        #expect(RunProgressView.expected(kind)! == (20000, true))
        #expect(
            RunProgressView.expected(
                .init(kind: .tasks, read: 0, announced: 4000, foldersWithTotal: 10, folders: 10, quarantined: 0))! == (
                    4000, false
                ))
        #expect(
            RunProgressView.expected(
                .init(kind: .tasks, read: 10, announced: 0, foldersWithTotal: 0, folders: 10, quarantined: 0)) == nil)
        #expect(RunProgressView.eta(remaining: 1000, rate: 100) == 10)
        #expect(RunProgressView.eta(remaining: 1000, rate: 0) == nil)
    }

    @Test func theStatusShowsMailboxesItemsRatesAndETAs() {
        let view = RunProgressView(
            runID: 3, direction: .inbound,
            now: progress(done: 20, running: 4, read: 30000, announced: 50000, withTotal: 25),
            first: progress(done: 10, running: 4, read: 10000, announced: 20000, withTotal: 10), elapsed: 20)
        let lines = view.lines(width: 120)
        #expect(lines[0] == "inbound run 3: mailboxes 20/50 done, 4 in flight · 2 quarantined · 20 s · ETA 1:00")
        // 50000 announced by 25 of 50 folders: ~100000 expected; 20000 items in 20 s: 1000/s, 70 s left.
        #expect(lines[1] == "  appointments: 30000/~100000 items · 1000 items/s · ETA 1:10 · 2 quarantined")
        #expect(lines[2] == "  tasks: 30000 items · 1000 items/s")
        #expect(
            lines[3]
                == "  in flight: user00@demo.example extract tasks · user01@demo.example extract tasks · user02@demo.example extract tasks"
        )
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.count < 120 })
    }

    @Test func manyMailboxesInFlightTakeTwoLinesAndACount() {
        let entries = (0..<40).map { String(format: "user%02d@demo.example extract tasks", $0) }
        let lines = RunProgressView.packed(entries, width: 100, lines: 2)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.count <= 99 }, "\(lines)")
        let shown = lines.joined().components(separatedBy: "@demo.example").count - 1
        #expect(lines[1].hasSuffix(" · +\(40 - shown) more"), "\(lines)")
    }
}

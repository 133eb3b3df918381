import Foundation
import SyncCore
import SyncStore

/// What the live status area of a run shows, from its progress now and when the display started (a resumed run's
/// earlier work does not count towards the rates): the direction, mailboxes done / in flight / total with an ETA,
/// the items quarantined so far, per kind the items read / expected with items/s and an ETA, and the stage of each
/// mailbox in flight. At most ``maxLines`` lines, each within the terminal's width. Pure.
struct RunProgressView {
    static let maxLines = 6
    /// Lines given to the mailboxes in flight.
    static let inFlightLines = 2

    var runID: Int64
    var direction: SnapshotDirection?
    var now: RunStore.Progress
    var first: RunStore.Progress
    var elapsed: TimeInterval

    /// The items a kind's folders will read: the totals they announced, and for the folders that have not announced
    /// theirs yet the average of those that did (then `estimated`). Nil when none announced one (a push).
    static func expected(_ kind: RunStore.Progress.KindProgress) -> (count: Int64, estimated: Bool)? {
        guard kind.foldersWithTotal > 0 else { return nil }
        let missing = kind.folders - kind.foldersWithTotal
        guard missing > 0 else { return (kind.announced, false) }
        return (kind.announced + kind.announced * Int64(missing) / Int64(kind.foldersWithTotal), true)
    }

    /// Seconds until `remaining` units are done at `rate` units a second; nil without a rate.
    static func eta(remaining: Double, rate: Double) -> TimeInterval? {
        guard rate > 0, remaining >= 0 else { return nil }
        return remaining / rate
    }

    /// Items a second of a kind since the display started.
    func rate(_ kind: RunStore.Progress.KindProgress) -> Double {
        let before = first.kinds.first { $0.kind == kind.kind }?.read ?? 0
        return elapsed > 0 ? Double(max(kind.read - before, 0)) / elapsed : 0
    }

    /// The run's ETA by mailboxes: the mailboxes left at the pace mailboxes finished since the display started.
    var mailboxETA: TimeInterval? {
        let finished = now.done + now.failed, before = first.done + first.failed
        guard finished > before, elapsed > 0 else { return nil }
        return Self.eta(remaining: Double(now.mailboxes - finished), rate: Double(finished - before) / elapsed)
    }

    func lines(width: Int) -> [String] {
        var head =
            "\(direction.map { "\($0.rawValue) " } ?? "")run \(runID): mailboxes \(now.done)/\(now.mailboxes) done, "
            + "\(now.running) in flight"
        if now.failed > 0 { head += ", \(now.failed) failed" }
        let quarantined = now.kinds.reduce(0) { $0 + $1.quarantined }
        head += " · \(quarantined) quarantined · \(RunReport.clock(elapsed))"
        if let eta = mailboxETA { head += " · ETA \(RunReport.clock(eta))" }
        var lines = [head]
        for kind in now.kinds {
            var line = "  \(kind.kind.rawValue): \(kind.read)"
            let rate = rate(kind)
            if let expected = Self.expected(kind) {
                line += "/\(expected.estimated ? "~" : "")\(expected.count) items"
                if let eta = Self.eta(remaining: Double(max(expected.count - kind.read, 0)), rate: rate) {
                    line += String(format: " · %.0f items/s · ETA ", rate) + RunReport.clock(eta)
                } else {
                    line += String(format: " · %.0f items/s", rate)
                }
            } else {
                line += String(format: " items · %.0f items/s", rate)
            }
            if kind.quarantined > 0 { line += " · \(kind.quarantined) quarantined" }
            lines.append(line)
        }
        lines += Self.packed(
            now.stages.map { "\($0.mailbox) \($0.stage.rawValue) \($0.kind.rawValue)" }, width: width,
            lines: min(Self.inFlightLines, Self.maxLines - lines.count))
        return Array(lines.prefix(Self.maxLines))
    }

    /// `entries` packed into at most `lines` lines of `width` columns after an "in flight:" label, separated by " · ";
    /// what does not fit is counted at the end ("+12 more").
    static func packed(_ entries: [String], width: Int, lines limit: Int) -> [String] {
        guard !entries.isEmpty, limit > 0 else { return [] }
        var lines: [String] = []
        var current = "  in flight:"
        var onLine = 0, placed = 0
        for entry in entries {
            // The last line keeps room for the count of what did not fit.
            let room = width - 1 - (lines.count == limit - 1 ? " · +999 more".count : 0)
            if onLine > 0 && current.count + 3 + entry.count > room {
                if lines.count == limit - 1 { break }
                lines.append(current)
                current = "   "
                onLine = 0
            }
            current += (onLine == 0 ? " " : " · ") + entry
            onLine += 1
            placed += 1
        }
        if placed < entries.count { current += " · +\(entries.count - placed) more" }
        lines.append(current)
        return lines
    }
}

extension RunReport {
    /// "42 s", "3:05", "1:02:03": a compact clock for the live status.
    static func clock(_ seconds: TimeInterval) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return String(format: "%d:%02d", whole / 60, whole % 60) }
        return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}

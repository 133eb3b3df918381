import Foundation
import Observability
import SyncCore
import SyncStore

/// `snapsync runs show RUN --html PATH`: one self-contained page (inline CSS and SVG, no script, no external
/// asset) that a browser opens from disk.
extension RunReport {
    /// The page of a run: its header, a stage timeline with one row per mailbox and one bar per started stage
    /// (placed by its start and finish, coloured by status, a tooltip each), items/s per mailbox and per stage,
    /// the stages' table and the run log. Stages still running are drawn up to `now`. Every value that comes
    /// from the database is escaped. Pure.
    static func html(run: RunRecord, stages: [StageRecord], events: [RunStore.Event] = [], now: Date) -> String {
        let request = run.request
        var header: [(String, String)] = [
            ("Direction", request.direction.rawValue),
            ("Kinds", request.kinds.map(\.rawValue).joined(separator: ", ")),
            ("Scope", request.mailboxes?.joined(separator: ", ") ?? "all mailboxes"),
        ]
        if let protocols = protocols(events) { header.append(("Protocols", protocols)) }
        if let range = request.dateRange {
            header.append(
                (
                    "Date range",
                    "\(range.field.rawValue) from \(range.from.map(ISO8601.format) ?? "any") "
                        + "to \(range.to.map(ISO8601.format) ?? "any")"
                ))
        }
        header += [
            ("Requested by", request.requestedBy.isEmpty ? "unknown" : request.requestedBy),
            ("Started", ISO8601.format(run.createdAt)),
            ("Finished", run.finishedAt.map(ISO8601.format) ?? "not finished"),
        ]
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>snapsync run \(run.id)</title>
            <style>\(HTMLPage.style)</style></head><body>
            <h1>snapsync run \(run.id)</h1>
            <dl>
            """
        for (name, value) in header { page += "<dt>\(name)</dt><dd>\(escape(value))</dd>\n" }
        page +=
            "<dt>Outcome</dt><dd><span class=\"badge \(outcomeClass(run.status.rawValue))\">\(escape(run.status.rawValue))</span></dd>\n"
        page += "<dt>Stages</dt><dd>\(escape(summary(stages)))</dd>\n</dl>\n"
        if !stages.isEmpty { page += itemTable(stages) }
        let mailboxes = orderedMailboxes(stages)
        if stages.isEmpty {
            page += "<p class=\"empty\">No stages: the run has no mailbox.</p>\n"
        } else if mailboxes.count <= HTMLPage.mailboxesInFull {
            page += "<h2>Stage timeline</h2>\n" + timeline(stages, now: now)
            page += "<h2>Throughput</h2>\n" + throughput(stages, now: now)
            page += "<h2>Stages</h2>\n" + stageTable(stages, now: now)
        } else {
            // Many mailboxes: every stage over all of them, and the slowest and failed mailboxes in full.
            let featured = featuredMailboxes(stages, now: now)
            let shown = stages.filter { featured.contains($0.mailbox) }
            let axis = timeAxis(stages, now: now)
            page +=
                "<h2>Stage timeline</h2>\n<p class=\"legend\">\(mailboxes.count) mailboxes: each stage over all of them (from "
                + "its first start to its last finish), then the \(featured.count) slowest and failed mailboxes in full.</p>\n"
            page += stageSpans(stages, now: now, axis: axis)
            page += timeline(shown, now: now, axis: axis)
            page += "<h2>Throughput</h2>\n" + throughput(shown, stageTotals: stages, now: now)
            page += "<h2>Stages</h2>\n" + stageTotals(stages, now: now)
            page +=
                "<p class=\"legend\">The stages of the slowest and failed mailboxes; those of the other \(mailboxes.count - featured.count): "
                + "<code>snapsync runs show \(run.id) --mailbox ADDRESS</code>.</p>\n" + stageTable(shown, now: now)
        }
        if !events.isEmpty { page += "<h2>Run log</h2>\n" + eventTable(events) }
        return page
            + "<footer>Written by snapsync runs show \(run.id) --html at \(ISO8601.format(now)).</footer>\n</body></html>\n"
    }

    // MARK: Sections

    /// One row per mailbox, one bar per started stage, on a time axis from the first start.
    static func timeline(
        _ stages: [StageRecord], now: Date, axis: (origin: Date, length: TimeInterval)? = nil
    ) -> String {
        guard let axis = axis ?? timeAxis(stages, now: now) else {
            return "<p class=\"empty\">No stage has started yet.</p>\n"
        }
        let (origin, length) = axis
        let mailboxes = orderedMailboxes(stages)
        let seconds = max(length, 1)
        let scale = HTMLPage.plotWidth / seconds
        let top = 8.0, row = 26.0
        let height = top + Double(mailboxes.count) * row + 26
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(HTMLPage.width) \(number(height))\" role=\"img\" "
            + "aria-label=\"stage timeline\">\n"
        let step = tickStep(seconds)
        var tick = 0.0
        while tick <= seconds {
            let x = HTMLPage.labelWidth + tick * scale
            svg +=
                "<line class=\"grid\" x1=\"\(number(x))\" y1=\"\(number(top))\" x2=\"\(number(x))\" y2=\"\(number(height - 20))\"/>"
                + "<text class=\"tick\" x=\"\(number(x))\" y=\"\(number(height - 6))\">\(escape(duration(tick)))</text>\n"
            tick += step
        }
        let byMailbox = Dictionary(grouping: stages, by: \.mailbox)
        for (index, mailbox) in mailboxes.enumerated() {
            let y = top + Double(index) * row
            svg +=
                "<text class=\"label\" x=\"\(number(HTMLPage.labelWidth - 8))\" y=\"\(number(y + 17))\">"
                + "\(escape(shortened(mailbox)))<title>\(escape(mailbox))</title></text>\n"
            for stage in byMailbox[mailbox] ?? [] {
                guard let start = stage.startedAt, let elapsed = elapsed(stage, now: now) else { continue }
                let x = HTMLPage.labelWidth + max(start.timeIntervalSince(origin), 0) * scale
                svg +=
                    "<rect class=\"bar \(statusClass(stage.status.rawValue))\" x=\"\(number(x))\" y=\"\(number(y + 4))\" "
                    + "width=\"\(number(max(elapsed * scale, 2)))\" height=\"18\" rx=\"2\"><title>\(escape(tooltip(stage, now: now)))</title></rect>\n"
            }
        }
        svg += "</svg>\n<p class=\"legend\">"
        for status in ["done", "running", "failed", "skipped", "pending"] {
            svg += "<span class=\"key \(status)\"></span>\(status) "
        }
        return svg + "&middot; time since the first stage started (\(ISO8601.format(origin)))</p>\n"
    }

    /// The time axis of stages: from the first start, as long as their span (stages running until `now`).
    static func timeAxis(_ stages: [StageRecord], now: Date) -> (origin: Date, length: TimeInterval)? {
        guard let origin = stages.compactMap(\.startedAt).min(), let length = span(stages, runningUntil: now) else {
            return nil
        }
        return (origin, length)
    }

    /// The mailboxes a report of many shows in full: every one with a failed stage (the first ``HTMLPage/failedInFull``)
    /// and the ``HTMLPage/slowestInFull`` slowest (from their first start to their last finish).
    static func featuredMailboxes(_ stages: [StageRecord], now: Date) -> Set<String> {
        let byMailbox = Dictionary(grouping: stages, by: \.mailbox)
        let failed = byMailbox.filter { $0.value.contains { $0.status == .failed } }.keys.sorted().prefix(
            HTMLPage.failedInFull)
        let slowest = byMailbox.compactMap { mailbox, records in span(records, runningUntil: now).map { (mailbox, $0) }
        }
        .sorted { ($0.1, $1.0) > ($1.1, $0.0) }.prefix(HTMLPage.slowestInFull).map(\.0)
        return Set(failed).union(slowest)
    }

    /// One row per stage over every mailbox: a light bar from the stage's first start to its last finish, titled with
    /// its folders by status, items, the time the workers spent in it and its items per second; over it, cells of
    /// equal time shaded by how many mailbox folders were in the stage then on average (each titled with that figure).
    static func stageSpans(_ stages: [StageRecord], now: Date, axis: (origin: Date, length: TimeInterval)?) -> String {
        guard let axis else { return "<p class=\"empty\">No stage has started yet.</p>\n" }
        let (origin, length) = axis
        let rows = SnapshotStage.allCases.compactMap { stage -> (SnapshotStage, [StageRecord])? in
            let records = stages.filter { $0.stage == stage }
            return records.isEmpty ? nil : (stage, records)
        }
        let seconds = max(length, 1)
        let scale = HTMLPage.plotWidth / seconds
        let cell = seconds / Double(HTMLPage.heatCells)
        let load = rows.map { concurrency($0.1, origin: origin, cell: cell, now: now) }
        let peak = max(load.flatMap { $0 }.max() ?? 0, 0.001)
        let top = 8.0, row = 26.0
        let height = top + Double(rows.count) * row + 8
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(HTMLPage.width) \(number(height))\" role=\"img\" aria-label=\"stages over all mailboxes\">\n"
        for (index, (stage, records)) in rows.enumerated() {
            let y = top + Double(index) * row
            svg +=
                "<text class=\"label\" x=\"\(number(HTMLPage.labelWidth - 8))\" y=\"\(number(y + 17))\">stage \(escape(stage.rawValue))</text>\n"
            guard let start = records.compactMap(\.startedAt).min(), let spanned = span(records, runningUntil: now)
            else { continue }
            var statuses: [String: Int] = [:]
            for record in records { statuses[record.status.rawValue, default: 0] += 1 }
            let status =
                statuses["failed"] != nil
                ? "failed"
                : statuses["running"] != nil
                    ? "running"
                    : statuses.keys.allSatisfy { $0 == "done" || $0 == "skipped" } ? "done" : "pending"
            let items = records.reduce(Int64(0)) { $0 + $1.items }
            let busy = records.reduce(0.0) { $0 + (elapsed($1, now: now) ?? 0) }
            let title =
                "\(stage.rawValue): \(records.count) mailbox folders ("
                + statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                + "), \(items) items, "
                + "\(duration(spanned)) from first start to last finish, \(duration(busy)) of worker time"
                + (busy > 0 ? String(format: ", %.1f items/s per worker", Double(items) / busy) : "")
            let x = HTMLPage.labelWidth + max(start.timeIntervalSince(origin), 0) * scale
            svg +=
                "<rect class=\"bar \(status) span\" x=\"\(number(x))\" y=\"\(number(y + 4))\" width=\"\(number(max(spanned * scale, 2)))\" "
                + "height=\"18\" rx=\"2\"><title>\(escape(title))</title></rect>\n"
            for (position, average) in load[index].enumerated() where average > 0 {
                let from = Double(position) * cell
                let opacity = String(format: "%.2f", 0.15 + 0.85 * average / peak)
                let title =
                    "\(stage.rawValue), \(duration(from)) to \(duration(from + cell)): "
                    + String(format: "%.1f", average) + " mailbox folders in the stage on average"
                svg +=
                    "<rect class=\"bar \(status) heat\" x=\"\(number(HTMLPage.labelWidth + from * scale))\" y=\"\(number(y + 4))\" "
                    + "width=\"\(number(cell * scale))\" height=\"18\" fill-opacity=\"\(opacity)\"><title>\(escape(title))</title></rect>\n"
            }
        }
        return svg
            + "</svg>\n<p class=\"legend\">Darker: more mailbox folders in the stage at that time (a cell's title says how many).</p>\n"
    }

    /// How many of `records` were running on average in each cell of `cell` seconds from `origin` (stages still
    /// running count until `now`).
    static func concurrency(_ records: [StageRecord], origin: Date, cell: TimeInterval, now: Date) -> [Double] {
        var busy = [Double](repeating: 0, count: HTMLPage.heatCells)
        for record in records {
            guard let start = record.startedAt, let elapsed = elapsed(record, now: now) else { continue }
            let from = max(start.timeIntervalSince(origin), 0), to = from + elapsed
            var index = min(Int(from / cell), HTMLPage.heatCells - 1)
            while index < HTMLPage.heatCells {
                let low = Double(index) * cell, high = low + cell
                busy[index] += max(min(to, high) - max(from, low), 0)
                if to <= high { break }
                index += 1
            }
        }
        return busy.map { $0 / cell }
    }

    /// One row per stage over every mailbox: folders by status, the items by what happened to them, worker time and rate.
    static func stageTotals(_ stages: [StageRecord], now: Date) -> String {
        var table =
            "<div class=\"wide\"><table class=\"totals\"><thead><tr><th>Stage</th><th>Folders</th><th>Done</th><th>Failed</th><th>Other</th>"
            + "<th>Items</th>" + ItemTally().named.map { "<th>\(escape($0.name))</th>" }.joined()
            + "<th>Worker time</th><th>Items/s</th></tr></thead><tbody>\n"
        for stage in SnapshotStage.allCases {
            let records = stages.filter { $0.stage == stage }
            guard !records.isEmpty else { continue }
            let done = records.filter { $0.status.isSettled }.count
            let failed = records.filter { $0.status == .failed }.count
            let items = records.reduce(Int64(0)) { $0 + $1.items }
            let busy = records.reduce(0.0) { $0 + (elapsed($1, now: now) ?? 0) }
            let cells =
                [
                    stage.rawValue, "\(records.count)", "\(done)", "\(failed)", "\(records.count - done - failed)",
                    "\(items)",
                ]
                + records.reduce(ItemTally()) { $0 + $1.tally }.named.map { "\($0.count)" }
                + [duration(busy), busy > 0 ? String(format: "%.1f", Double(items) / busy) : ""]
            table += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return table + "</tbody></table></div>\n"
    }

    /// Items per second of each mailbox, and of each stage over every mailbox: items over the wall-clock span
    /// from the first start to the last finish.
    static func throughput(_ stages: [StageRecord], stageTotals: [StageRecord]? = nil, now: Date) -> String {
        let byMailbox = Dictionary(grouping: stages, by: \.mailbox)
        var groups = orderedMailboxes(stages).map { mailbox in (mailbox, byMailbox[mailbox] ?? []) }
        let mailboxCount = groups.count
        for stage in SnapshotStage.allCases {
            let records = (stageTotals ?? stages).filter { $0.stage == stage }
            if !records.isEmpty { groups.append(("stage " + stage.rawValue, records)) }
        }
        let rates = groups.enumerated().map { index, group in
            let (name, records) = group
            // A mailbox's items are those it read; a stage's, those it handled.
            let items =
                index < mailboxCount
                ? records.reduce(ItemTally()) { $0 + $1.tally }.read : records.reduce(Int64(0)) { $0 + $1.items }
            let seconds = span(records, runningUntil: now)
            return (
                name: name, items: items, seconds: seconds, rate: seconds.flatMap { $0 > 0 ? Double(items) / $0 : nil }
            )
        }
        let fastest = max(rates.compactMap(\.rate).max() ?? 0, 1)
        let row = 22.0
        let height = Double(groups.count) * row + 18
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(HTMLPage.width) \(number(height))\" role=\"img\" aria-label=\"items per second\">\n"
        for (index, entry) in rates.enumerated() {
            // A gap between the mailboxes and the stages.
            let y = 4 + Double(index) * row + (index >= mailboxCount ? 14 : 0)
            let width = (entry.rate ?? 0) / fastest * (HTMLPage.plotWidth - 220)
            let detail = "\(entry.items) items in " + (entry.seconds.map(duration) ?? "no time")
            let text =
                entry.items == 0
                ? detail : entry.rate.map { String(format: "%.1f items/s (", $0) + detail + ")" } ?? detail
            svg +=
                "<text class=\"label\" x=\"\(number(HTMLPage.labelWidth - 8))\" y=\"\(number(y + 14))\">"
                + "\(escape(shortened(entry.name)))<title>\(escape(entry.name))</title></text>"
                + "<rect class=\"rate\" x=\"\(number(HTMLPage.labelWidth))\" y=\"\(number(y + 2))\" width=\"\(number(max(width, 1)))\" "
                + "height=\"16\"><title>\(escape("\(entry.name): \(text)"))</title></rect>"
                + "<text class=\"value\" x=\"\(number(HTMLPage.labelWidth + max(width, 1) + 6))\" y=\"\(number(y + 14))\">"
                + "\(escape(text))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func stageTable(_ stages: [StageRecord], now: Date) -> String {
        var table =
            "<div class=\"wide\"><table class=\"stages\"><thead><tr><th>Mailbox</th><th>Kind</th><th>Stage</th><th>Status</th><th>Items</th><th>Created</th>"
            + "<th>Updated</th><th>Deleted</th><th>Quarantined</th><th>Total</th><th>Attempts</th><th>Started</th>"
            + "<th>Finished</th><th>Duration</th><th>Items/s</th><th>Error</th></tr></thead><tbody>\n"
        for stage in stages {
            let elapsed = elapsed(stage, now: now)
            let rate = elapsed.flatMap { $0 > 0 ? String(format: "%.1f", Double(stage.items) / $0) : nil }
            let cells: [String] = [
                stage.mailbox, stage.kind.rawValue, stage.stage.rawValue, stage.status.rawValue, "\(stage.items)",
                "\(stage.created)",
                "\(stage.updated)", "\(stage.deleted)", "\(stage.failed)", stage.total.map { "\($0)" } ?? "",
                "\(stage.attempts)", stage.startedAt.map(ISO8601.format) ?? "",
                stage.finishedAt.map(ISO8601.format) ?? "",
                elapsed.map { duration($0) + (stage.finishedAt == nil ? " so far" : "") } ?? "", rate ?? "",
                stage.error ?? "",
            ]
            table +=
                "<tr class=\"\(statusClass(stage.status.rawValue))\">" + cells.map { "<td>\(escape($0))</td>" }.joined()
                + "</tr>\n"
        }
        return table + "</tbody></table></div>\n"
    }

    /// The run's items by what happened to them, per kind and in total, each item counted once (``ItemTally``): the
    /// figures of the end-of-run summary, `runs show` and the metrics.
    static func itemTable(_ stages: [StageRecord]) -> String {
        var table =
            "<div class=\"wide\"><table class=\"items\"><thead><tr><th>Items</th>"
            + ItemTally().named.map { "<th>\(escape($0.name))</th>" }.joined() + "</tr></thead><tbody>\n"
        var rows: [(String, ItemTally)] = ItemKind.allCases.compactMap { kind in
            let records = stages.filter { $0.kind == kind }
            return records.isEmpty ? nil : (kind.rawValue, records.reduce(ItemTally()) { $0 + $1.tally })
        }
        if rows.count != 1 { rows.append(("total", stages.reduce(ItemTally()) { $0 + $1.tally })) }
        for (name, tally) in rows {
            table += "<tr><th>\(escape(name))</th>" + tally.named.map { "<td>\($0.count)</td>" }.joined() + "</tr>\n"
        }
        return table + "</tbody></table></div>\n"
    }

    /// The run log: every event up to ``HTMLPage/eventsInFull``; beyond, the count of each kind of event and the
    /// first of them.
    static func eventTable(_ events: [RunStore.Event]) -> String {
        var table = ""
        var listed = events
        if events.count > HTMLPage.eventsInFull {
            var counts: [String: Int] = [:]
            for event in events { counts[event.event, default: 0] += 1 }
            table +=
                "<p class=\"legend\">\(events.count) events ("
                + counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                .map { "\($0.value) \(escape($0.key))" }.joined(separator: ", ")
                + "); the first \(HTMLPage.eventsInFull):</p>\n"
            listed = Array(events.prefix(HTMLPage.eventsInFull))
        }
        table +=
            "<div class=\"wide\"><table><thead><tr><th>At</th><th>Event</th><th>Mailbox</th><th>Stage</th><th>Message</th></tr></thead><tbody>\n"
        for event in listed {
            let cells = [ISO8601.format(event.at), event.event, event.mailbox ?? "", event.stage ?? "", event.message]
            table += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return table + "</tbody></table></div>\n"
    }

    // MARK: Pieces

    /// The tooltip of a stage's bar: stage, status, items, duration and the kind of its error.
    static func tooltip(_ stage: StageRecord, now: Date) -> String {
        var parts = [
            "\(stage.mailbox) \(stage.kind.rawValue) \(stage.stage.rawValue)", stage.status.rawValue,
            "\(stage.items) items",
        ]
        if let elapsed = elapsed(stage, now: now) {
            parts.append(duration(elapsed) + (stage.finishedAt == nil ? " so far" : ""))
        }
        if stage.failed > 0 { parts.append("\(stage.failed) quarantined") }
        if let error = stage.error { parts.append("error: " + errorKind(error)) }
        return parts.joined(separator: ", ")
    }

    /// How long a started stage took, or has been running by `now`.
    static func elapsed(_ stage: StageRecord, now: Date) -> TimeInterval? {
        stage.startedAt.map { max((stage.finishedAt ?? now).timeIntervalSince($0), 0) }
    }

    /// The kind of a stored stage error: what precedes its first colon (`mass delete refused`, `transient
    /// mailbox error ErrorServerBusy`), at most 80 characters.
    static func errorKind(_ error: String) -> String {
        let head =
            error.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? error
        return shortened(head.trimmingCharacters(in: .whitespaces), to: 80)
    }

    /// "12 stages: 10 done, 1 failed, 1 running; 3400 items read".
    static func summary(_ stages: [StageRecord]) -> String {
        var counts: [String: Int] = [:]
        for stage in stages { counts[stage.status.rawValue, default: 0] += 1 }
        let parts = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.value) \($0.key)" }
        return "\(stages.count) stage\(stages.count == 1 ? "" : "s")"
            + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
            + "; \(stages.reduce(ItemTally()) { $0 + $1.tally }.read) items read"
    }

    /// The mailboxes in the order of their stages.
    static func orderedMailboxes(_ stages: [StageRecord]) -> [String] {
        var seen = Set<String>()
        return stages.map(\.mailbox).filter { seen.insert($0).inserted }
    }

    /// A tick spacing of 1, 2 or 5 times a power of ten (in seconds) giving at most about eight ticks.
    static func tickStep(_ seconds: TimeInterval) -> TimeInterval {
        let rough = max(seconds / 8, 0.001)
        let power = pow(10, (log10(rough)).rounded(.down))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
    }

    /// "0.4 s", "12.0 s", "3 min 5 s", "2 h 10 min".
    static func duration(_ seconds: TimeInterval) -> String {
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole / 60 % 60) min"
    }

    /// The CSS class of a stage status; one the page does not know is `other`.
    static func statusClass(_ status: String) -> String {
        ["done", "running", "failed", "skipped", "pending"].contains(status) ? status : "other"
    }

    /// The CSS class of a run's outcome.
    static func outcomeClass(_ status: String) -> String {
        switch status {
        case "completed": "done"
        case "completed_with_errors", "failed": "failed"
        case "running": "running"
        default: "other"
        }
    }

    /// Text safe inside an element or a quoted attribute, through the log's redaction like every line snapsync writes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in LogRedaction.scrub(text) {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// At most `limit` characters, the cut marked with an ellipsis.
    static func shortened(_ text: String, to limit: Int = 34) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// A coordinate with one decimal.
    static func number(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// The page's fixed geometry and style sheet.
enum HTMLPage {
    static let width = 960.0
    static let labelWidth = 250.0
    static let plotWidth = width - labelWidth - 40
    /// Up to this many mailboxes the page draws and lists every one; beyond, stages over all mailboxes and the
    /// slowest and failed mailboxes in full.
    static let mailboxesInFull = 40
    static let slowestInFull = 10
    static let failedInFull = 30
    static let eventsInFull = 200
    /// The cells of a stage's row over all mailboxes.
    static let heatCells = 48
    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2329;max-width:1200px}
        h1{font-size:22px}h2{font-size:17px;margin-top:28px}
        dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{font-weight:600}dd{margin:0}
        .chart{width:100%;max-width:960px;height:auto;background:#fafbfc;border:1px solid #dde2e7}
        .chart text{font-size:11px;fill:#1d2329}.label{text-anchor:end}.tick{text-anchor:middle;fill:#5f6b76}
        .grid{stroke:#e3e7eb}.rate{fill:#3b6ea5}
        .bar.done,.key.done,.badge.done{fill:#2f9e55;background:#2f9e55}
        .bar.running,.key.running,.badge.running{fill:#3b82c4;background:#3b82c4}
        .bar.running{stroke:#1d4f7d;stroke-dasharray:4 2}
        .bar.failed,.key.failed,.badge.failed{fill:#d0453a;background:#d0453a}
        .bar.skipped,.key.skipped{fill:#a3acb5;background:#a3acb5}
        .bar.pending,.key.pending{fill:#dfe4e8;background:#dfe4e8}
        .bar.other,.badge.other{fill:#b08a2e;background:#b08a2e}
        .badge{color:#fff;padding:1px 8px;border-radius:9px}
        .key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;border-radius:2px}
        .legend,.empty,footer{color:#5f6b76;font-size:12px}
        .wide{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;font-size:12px}th{white-space:nowrap}
        th,td{border:1px solid #dde2e7;padding:3px 6px;text-align:left;vertical-align:top}
        td{max-width:40em;overflow-wrap:break-word}.bar.span{fill-opacity:.25}
        th{background:#eef1f4}tr.failed td{background:#fbeceb}tr.running td{background:#eaf2fa}
        .stages td:nth-child(n+5):nth-child(-n+11),.stages td:nth-child(14),.stages td:nth-child(15),.items td,.totals td+td{text-align:right}
        """
}

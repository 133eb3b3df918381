import Foundation
import SyncCore
@testable import SyncStore
@testable import snapsync
import Testing

/// `runs show RUN --html`: the page is self-contained, escapes what comes from the database, and draws one
/// bar per started stage.
@Suite struct RunReportHTMLTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    func run(status: String = "completed", finished: Bool = true) -> RunRecord {
        RunRecord(
            id: 42,
            request: RunRequest(
                direction: .inbound, kinds: [.tasks], mailboxes: nil, dateRange: nil, requestedBy: "cron"),
            status: RunStatus(rawValue: status)!, createdAt: t0, finishedAt: finished ? t0.addingTimeInterval(60) : nil)
    }

    func stage(
        _ mailbox: String, _ stage: SnapshotStage, _ status: String, items: Int64 = 0, from start: Double?,
        to end: Double?,
        error: String? = nil
    ) -> StageRecord {
        StageRecord(
            mailbox: mailbox, kind: .tasks, stage: stage, status: StageStatus(rawValue: status)!, cursor: nil,
            items: items, created: items, updated: 0,
            deleted: 0, failed: 0, total: nil, attempts: start == nil ? 0 : 1, error: error,
            startedAt: start.map { t0.addingTimeInterval($0) }, finishedAt: end.map { t0.addingTimeInterval($0) })
    }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func escapesMailboxesAndErrorsFromTheDatabase() {
        let hostile = "<script>alert('x')</script>\"&@example.com"
        let error = "mass delete refused: <img src=x onerror=alert(1)> & \"more\""
        let page = RunReport.html(
            run: run(status: "completed_with_errors"),
            stages: [
                stage(hostile, .baseline, "done", from: 0, to: 1),
                stage(hostile, .extract, "failed", items: 3, from: 1, to: 2, error: error),
            ],
            events: [
                RunStore.Event(at: t0, mailbox: hostile, stage: "extract", event: "warning", message: "<b>bold</b>")
            ], now: t0)
        #expect(!page.contains("<script"))
        #expect(!page.contains("<img"))
        #expect(!page.contains("<b>"))
        #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;@example.com"))
        // the full error, in the table
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;more&quot;"))
        #expect(page.contains("error: mass delete refused</title>"))  // the bar's tooltip gives its kind
    }

    @Test func drawsABarPerStartedStageInEachMailboxRow() {
        let stages = ["a@example.com", "b@example.com"].flatMap { mailbox in
            [
                stage(mailbox, .baseline, "done", from: 0, to: 1),
                stage(mailbox, .extract, "done", items: 100, from: 1, to: 5),
                stage(mailbox, .match, "skipped", from: 5, to: 5),
                stage(mailbox, .merge, "pending", from: nil, to: nil),
            ]
        }
        let page = RunReport.html(run: run(), stages: stages, now: t0.addingTimeInterval(60))
        #expect(count("<rect class=\"bar ", in: page) == 6)  // pending stages have no bar
        #expect(count("<rect class=\"bar done\"", in: page) == 4)
        #expect(count("<rect class=\"bar skipped\"", in: page) == 2)
        #expect(count(">a@example.com<title>", in: page) == 2)  // a timeline row and a throughput bar
        #expect(page.contains("<title>a@example.com tasks extract, done, 100 items, 4.0 s</title>"))
        #expect(page.contains("<td>25.0</td>"))  // a stage's rate in the table: 100 items in 4 s
        // a mailbox: from its first start to its last finish
        #expect(page.contains("20.0 items/s (100 items in 5.0 s)"))
        #expect(page.contains("50.0 items/s (200 items in 4.0 s)"))  // extract over both mailboxes
        #expect(page.contains("<tr class=\"pending\">"))  // in the table all the same
        // Self-contained: no script, no link, no external asset.
        for needle in ["<script", "src=", "href=", "http"] { #expect(!page.contains(needle), "\(needle)") }
    }

    @Test func aRunningStageWithoutFinishTimeRunsUntilNow() throws {
        let page = RunReport.html(
            run: run(status: "running", finished: false),
            stages: [
                stage("a@example.com", .baseline, "done", from: 0, to: 2),
                stage("a@example.com", .extract, "running", items: 50, from: 2, to: nil),
            ], now: t0.addingTimeInterval(12))
        #expect(page.contains("<dd>not finished</dd>"))
        #expect(count("<rect class=\"bar ", in: page) == 2)
        #expect(page.contains("extract, running, 50 items, 10.0 s so far</title>"))
        #expect(page.contains("5.0 items/s"))  // 50 items in the 10 s so far
        // The running bar reaches the right end of the axis (12 s from the first start).
        let bar = try #require(page.components(separatedBy: "<rect class=\"bar running\" ").last?.prefix(80))
        #expect(bar.contains("x=\"\(RunReport.number(HTMLPage.labelWidth + 2 / 12 * HTMLPage.plotWidth))\""), "\(bar)")
        #expect(bar.contains("width=\"\(RunReport.number(10 / 12 * HTMLPage.plotWidth))\""), "\(bar)")
    }

    @Test func aThousandMailboxesShowEveryStageOverAllAndTheSlowestAndFailedInFull() {
        var stages: [StageRecord] = []
        for index in 0..<1000 {
            let mailbox = String(format: "user%04d@example.com", index)
            let length = Double(10 + index % 100)
            stages += [
                stage(mailbox, .baseline, "done", items: 600, from: 0, to: 1),
                stage(
                    mailbox, .extract, index == 500 ? "failed" : "done", items: 600, from: 1, to: length,
                    error: index == 500 ? "transient mailbox error ErrorServerBusy: later" : nil),
                stage(mailbox, .match, "done", from: length, to: length),
            ]
        }
        let page = RunReport.html(run: run(), stages: stages, now: t0.addingTimeInterval(200))
        // The stages over every mailbox: a titled bar each.
        #expect(
            page.contains(">stage baseline</text>") && page.contains(">stage extract</text>")
                && page.contains(">stage match</text>"))
        #expect(page.contains("<title>extract: 1000 mailbox folders (999 done, 1 failed), 600000 items"))
        // In full: the failed mailbox and the ten slowest (109 s: index % 100 == 99), three bars each.
        #expect(count(" span\" x=", in: page) == 3)
        let heat = count(" heat\" x=", in: page)
        #expect(heat > 3 && heat <= 3 * HTMLPage.heatCells)
        #expect(count("mailbox folders in the stage on average</title></rect>", in: page) == heat)
        #expect(count("<rect class=\"bar ", in: page) == 3 + heat + 11 * 3)
        #expect(page.contains(">user0500@example.com<title>"))
        #expect(page.contains(">user0099@example.com<title>") && page.contains(">user0999@example.com<title>"))
        #expect(!page.contains(">user0001@example.com<title>"))
        #expect(count("<tr class=", in: page) == 11 * 3)  // the stage table lists the mailboxes shown in full
        #expect(
            page.contains("<td>extract</td><td>1000</td><td>999</td><td>1</td><td>0</td><td>600000</td><td>600000</td>")
        )
        #expect(page.contains("600000 items read"))  // the header: each item once
        #expect(page.utf8.count < 200_000, "\(page.utf8.count) bytes")
        for needle in ["<script", "src=", "href=", "http"] { #expect(!page.contains(needle), "\(needle)") }
    }

    @Test func anEmptyRunHasItsHeaderAndNoCharts() {
        let page = RunReport.html(run: run(), stages: [], now: t0)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.hasSuffix("</html>\n"))
        #expect(page.contains("snapsync run 42"))
        #expect(page.contains("<dd>all mailboxes</dd>"))
        #expect(page.contains("<dd>cron</dd>"))
        #expect(page.contains("No stages"))
        #expect(!page.contains("<svg"))
        #expect(!page.contains("<table"))
    }

    @Test func errorKindsTicksAndDurations() {
        #expect(
            RunReport.errorKind("transient mailbox error ErrorServerBusy: try later")
                == "transient mailbox error ErrorServerBusy")
        #expect(RunReport.errorKind("no colon") == "no colon")
        #expect(RunReport.tickStep(60) == 10)
        #expect(RunReport.tickStep(7) == 1)
        #expect(RunReport.tickStep(3000) == 500)
        #expect(RunReport.duration(4) == "4.0 s")
        #expect(RunReport.duration(185) == "3 min 5 s")
        #expect(RunReport.duration(7800) == "2 h 10 min")
        #expect(RunReport.statusClass("x\" onload=\"y") == "other")
    }

    @Test func theHeaderNamesTheProtocolEachMailboxWasReachedBy() {
        let events = [
            RunStore.Event(at: t0, mailbox: "b@example.com", stage: nil, event: "protocol", message: "graph"),
            RunStore.Event(at: t0, mailbox: "a@example.com", stage: nil, event: "protocol", message: "ews"),
            RunStore.Event(at: t0, mailbox: "c@example.com", stage: nil, event: "protocol", message: "graph"),
        ]
        #expect(RunReport.protocols(events) == "ews: a@example.com; graph: b@example.com, c@example.com")
        #expect(RunReport.protocols([]) == nil)
        let page = RunReport.html(run: run(), stages: [], events: events, now: t0)
        #expect(page.contains("<dt>Protocols</dt><dd>ews: a@example.com; graph: b@example.com, c@example.com</dd>"))
    }
}

import Foundation
import TestSupport
import Testing

/// A run's HTML report as a person sees it: opened in headless Chromium, it renders, fits the window's width, titles
/// every stage bar, and loads nothing (no script, no request); the report of a run over 1,000 mailboxes too.
@Suite struct ReportInBrowserTests {
    static let chromium = URL(fileURLWithPath: "/usr/bin/chromium")
    static let width = 1280, height = 2000

    /// Chromium's headless arguments: a throwaway profile, no sandbox (the tests may run as root), a fixed window.
    static func browserArguments(profile: URL) -> [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions",
            "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)",
        ]
    }

    /// The width and height a PNG's header gives.
    static func pngSize(_ data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data)
        guard bytes.count > 24, bytes[1...3] == [0x50, 0x4E, 0x47][...] else { return nil }
        func be32(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    /// Opens `report` in headless Chromium and checks what a person would see.
    static func checkInBrowser(_ report: URL, work: URL, sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let page = try String(contentsOf: report, encoding: .utf8)
        // Nothing to run or fetch in the file itself.
        for needle in ["<script", "src=", "href=", "url(", "@import", "http:", "https:"] {
            #expect(!page.contains(needle), "\(needle) in the report", sourceLocation: sourceLocation)
        }
        #expect(
            page.firstMatch(of: /<[^>]+\son[a-z]+=/) == nil, "an event handler attribute",
            sourceLocation: sourceLocation)

        // It renders: a screenshot of the window's size, far from the blank page's.
        let profile = work.appendingPathComponent("profile-\(UUID().uuidString)")
        let shot = work.appendingPathComponent("report.png"), blankShot = work.appendingPathComponent("blank.png")
        let blank = work.appendingPathComponent("blank.html")
        try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: blank)
        for (file, target) in [(report, shot), (blank, blankShot)] {
            let result = try await ChildProcess.run(
                chromium,
                browserArguments(profile: profile)
                    + ["--screenshot=\(target.path)", file.absoluteString])
            try #require(
                FileManager.default.fileExists(atPath: target.path), "no screenshot: \(result.output.suffix(2000))",
                sourceLocation: sourceLocation)
        }
        let image = try Data(contentsOf: shot), blankImage = try Data(contentsOf: blankShot)
        let size = try #require(pngSize(image), sourceLocation: sourceLocation)
        #expect(size.width == width && size.height == height, "\(size)", sourceLocation: sourceLocation)
        #expect(
            image.count > 5 * blankImage.count, "\(image.count) bytes against \(blankImage.count) for a blank page",
            sourceLocation: sourceLocation)

        // In a copy with a probe script (the report has none): the layout's width, the bars' titles, the requests made.
        let probe = """
            <script>
            const bars = [...document.querySelectorAll('rect.bar')];
            document.body.setAttribute('data-probe', JSON.stringify({
              scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
              bars: bars.length,
              untitled: bars.filter(b => !(b.querySelector('title') && b.querySelector('title').textContent.trim())).length,
              requests: performance.getEntriesByType('resource').length, scripts: document.scripts.length }));
            </script></body>
            """
        let probed = work.appendingPathComponent("probed.html")
        try Data(page.replacingOccurrences(of: "</body>", with: probe).utf8).write(to: probed)
        let dump = try await ChildProcess.run(
            chromium, browserArguments(profile: profile) + ["--dump-dom", probed.absoluteString])
        let dom = String(decoding: dump.stdout, as: UTF8.self)
        let json = try #require(
            dom.firstMatch(of: /data-probe="([^"]*)"/).map { String($0.output.1) }, "\(dump.output.suffix(2000))",
            sourceLocation: sourceLocation)
        let text = json.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        let figures = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int], sourceLocation: sourceLocation)
        #expect(
            (figures["scrollWidth"] ?? .max) <= (figures["clientWidth"] ?? 0), "horizontal overflow: \(figures)",
            sourceLocation: sourceLocation)
        #expect((figures["bars"] ?? 0) > 0 && figures["untitled"] == 0, "\(figures)", sourceLocation: sourceLocation)
        #expect(figures["requests"] == 0 && figures["scripts"] == 1, "\(figures)", sourceLocation: sourceLocation)
    }

    @Test func theReportOfARunOverAThousandMailboxesReadsInABrowser() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.chromium.path),
            "chromium is missing: jobs/dev/install-deps.sh installs it")
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try await RunFiguresTests.withKeptDemo([
            "--mailboxes", "1000", "--items", "2", "--contacts", "20", "--workers", "8",
        ]) { environment, demo in
            let report = work.appendingPathComponent("run-1.html")
            let shown = try await ChildProcess.run(
                snapsync, ["runs", "show", "1", "--html", report.path], environment: environment)
            #expect(shown.status == 0, "\(shown.output.suffix(2000))")
            let page = try String(contentsOf: report, encoding: .utf8)
            #expect(page.contains("1000 mailboxes: each stage over all of them"))
            #expect(page.utf8.count < 1_000_000, "\(page.utf8.count) bytes")
            try await Self.checkInBrowser(report, work: work)
        }
    }
}

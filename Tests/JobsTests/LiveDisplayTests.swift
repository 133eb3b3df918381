import Foundation
import TestSupport
import Testing

/// `snapsync demo` on a terminal (a tmux pane): one status area redrawn in place while the runs go, log lines above it
/// and never broken by it, and a summary of a screen at most at the end of each run.
@Suite struct LiveDisplayTests {
    static let tmux = URL(fileURLWithPath: "/usr/bin/tmux")
    /// The text log line's start: timestamp and level.
    static var logStart: Regex<(Substring, Substring?, Substring)> {
        #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (trace|debug|info|notice|warning|error|critical) /#
    }
    static var statusHead: Regex<(Substring, Substring)> { #/(inbound|outbound) run \d+: mailboxes \d+/\d+ done/# }

    @Test func aDemoOnATerminalRedrawsItsStatusInPlaceWithLogLinesAboveIt() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.tmux.path),
            "tmux is missing: jobs/dev/install-deps.sh installs it")
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-tmux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let socket = work.appendingPathComponent("tmux.socket").path
        // The pane stays after the demo exits, for its last screen; a history long enough for both runs' log lines.
        let configuration = work.appendingPathComponent("tmux.conf")
        try Data("set -g remain-on-exit on\nset -g history-limit 50000\n".utf8).write(to: configuration)
        // Enough items that each run lasts several status refreshes, on a loaded machine too.
        let command =
            "SNAPSYNC_DEMO_DIR='\(work.path)/demo' '\(snapsync.path)' demo --mailboxes 50 --items 600 --contacts 50 "
            + "--workers 4 --log-level info; echo snapsync-exit=$?"
        // The tmux server outlives the client that starts it and keeps its descriptors, so the client is not awaited:
        // the session is polled for instead. It starts with the signals the test process blocks or ignores back to
        // their defaults (through python3), or it would never reap the pane's shell nor end on kill-server.
        _ = try ChildProcess.start(
            "/usr/bin/python3",
            [
                "-c",
                """
                import os, signal, sys
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE): signal.signal(s, signal.SIG_DFL)
                os.execv(sys.argv[1], sys.argv[1:])
                """, Self.tmux.path, "-S", socket, "-f", configuration.path, "new-session", "-d", "-s", "demo", "-x",
                "180",
                "-y", "45", command,
            ])
        // Ended before its socket's directory is removed (an earlier defer): a moment's wait outside an await.
        defer { _ = try? ChildProcess.runBlocking(Self.tmux, ["-S", socket, "kill-server"]) }
        var session = false
        for _ in 0..<100 where !session {
            session = try await ChildProcess.run(Self.tmux, ["-S", socket, "has-session", "-t", "demo"]).status == 0
            if !session { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(session, "the tmux session did not start")
        var screens: [String] = []
        let deadline = Date().addingTimeInterval(900)
        while Date() < deadline {
            let capture = try await ChildProcess.run(
                Self.tmux, ["-S", socket, "capture-pane", "-p", "-J", "-t", "demo"])
            let screen = String(decoding: capture.stdout, as: UTF8.self)
            screens.append(screen)
            if screen.contains("snapsync-exit=") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let history = String(
            decoding: try await ChildProcess.run(
                Self.tmux, ["-S", socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "demo"]
            ).stdout,
            as: UTF8.self)
        let lines = history.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(history.contains("snapsync-exit=0"), "\(history.suffix(3000))")

        // The status area was shown and changed while the runs went on ...
        let heads = screens.flatMap {
            $0.split(separator: "\n").map(String.init).filter { $0.contains(Self.statusHead) }
        }
        #expect(Set(heads).count >= 2, "\(heads)")
        // ... redrawn in place: one at a time on the screen, and none left behind in the scrollback once a run ended.
        for screen in screens {
            #expect(screen.split(separator: "\n").filter { $0.contains(Self.statusHead) }.count <= 1, "\(screen)")
        }
        #expect(!lines.contains { $0.contains(Self.statusHead) }, "\(history.suffix(3000))")
        // Log lines (info: each stage's end) are whole lines: a timestamp only at a line's start, no status text in them.
        var logLines = 0
        for line in lines + screens.flatMap({ $0.split(separator: "\n").map(String.init) }) {
            if let match = line.firstMatch(of: Self.logStart) {
                #expect(match.range.lowerBound == line.startIndex, "a log line broken: \(line)")
                #expect(!line.contains("items/s") && !line.contains("in flight"), "status text in a log line: \(line)")
                logLines += 1
            }
        }
        #expect(logLines > 50)
        // Each run ends with its summary: at most 40 lines for 50 mailboxes, down to the commands to run next.
        for direction in ["inbound", "outbound"] {
            let start = try #require(
                lines.firstIndex { $0.hasPrefix("run ") && $0.contains(", \(direction), ") }, "\(history.suffix(3000))")
            let next = try #require(lines[start...].firstIndex { $0 == "next:" })
            let end = lines[(next + 1)...].firstIndex { !$0.hasPrefix("  snapsync ") } ?? lines.endIndex
            #expect(end - start <= 40, "\(lines[start..<end].joined(separator: "\n"))")
            #expect(lines[start].contains("50 mailboxes"))
        }
    }
}

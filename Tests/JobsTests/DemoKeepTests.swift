import Foundation
import TestSupport
import Testing

/// `snapsync demo --keep` leaves a PostgreSQL and a simulator to explore, with the environment to use them;
/// the commands it suggests work with that environment; `snapsync demo --stop` leaves no process behind.
@Suite struct DemoKeepTests {
    @Test func aKeptDemoCanBeExploredAndStopped() async throws {
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        let demoDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-demo-test-\(UUID().uuidString)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-demo-work-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let isolated = ["SNAPSYNC_DEMO_DIR": demoDirectory.path]

        let kept = try await ChildProcess.run(
            snapsync, ["demo", "--keep", "--mailboxes", "2", "--items", "10", "--contacts", "10"],
            environment: isolated)
        let stateFile = demoDirectory.appendingPathComponent("state.json")
        defer {
            // Whatever failed above, end what the demo left running.
            if FileManager.default.fileExists(atPath: stateFile.path) {
                // No `await` in a `defer`: the stop goes on by itself (its own thread reaps it).
                _ = try? ChildProcess.start(
                    snapsync.path, ["demo", "--stop"],
                    environment: ProcessInfo.processInfo.environment.merging(isolated) { $1 })
            }
        }
        #expect(kept.status == 0, "\(kept.output)")
        let printed = kept.output
        #expect(printed.contains("in sync: 2 mailboxes"))
        #expect(printed.contains("snapsync demo --stop"))

        // The printed `export NAME='value'` lines are the environment.
        var environment = isolated
        for match in printed.matches(of: /(SNAPSYNC_[A-Z_]+)='([^']*)'/) {
            environment[String(match.output.1)] = String(match.output.2)
        }
        for name in ["SNAPSYNC_DATABASE_URL", "SNAPSYNC_EWS_URL", "SNAPSYNC_EWS_USER", "SNAPSYNC_EWS_PASSWORD"] {
            #expect(environment[name] != nil, "\(name) not printed")
        }
        let state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateFile)) as? [String: Any])
        let simulatorPID = try #require(state["simulatorPID"] as? Int)
        let clusterDirectory = try #require(state["clusterDirectory"] as? String)

        let doctor = try await ChildProcess.run(snapsync, ["doctor"], environment: environment, currentDirectory: work)
        #expect([0, 4].contains(doctor.status), "\(doctor.output)")
        #expect(doctor.output.contains("2 mailbox(es)"), "\(doctor.output)")
        let report = work.appendingPathComponent("r.html")
        let runs = try await ChildProcess.run(
            snapsync, ["runs", "show", "1", "--html", report.path], environment: environment)
        #expect(runs.status == 0, "\(runs.output)")
        #expect(((try? Data(contentsOf: report))?.count ?? 0) > 1_000)
        let verify = try await ChildProcess.run(snapsync, ["verify"], environment: environment)
        #expect(verify.status == 0, "\(verify.output)")

        // A second demo while one is kept would lose track of the first: refused.
        let second = try await ChildProcess.run(snapsync, ["demo", "--mailboxes", "1"], environment: isolated)
        #expect(second.status == 64, "\(second.output)")

        let stop = try await ChildProcess.run(snapsync, ["demo", "--stop"], environment: isolated)
        #expect(stop.status == 0, "\(stop.output)")
        #expect(!FileManager.default.fileExists(atPath: clusterDirectory))
        #expect(
            !FileManager.default.fileExists(atPath: "/proc/\(simulatorPID)/cmdline")
                || !((try? String(contentsOfFile: "/proc/\(simulatorPID)/cmdline", encoding: .utf8)) ?? "").contains(
                    "exchange-sim")
        )
        let postmasters = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["pgrep", "-f", "postgres -D \(clusterDirectory)"])
        #expect(postmasters.stdout.isEmpty, "a postmaster of \(clusterDirectory) is still running")
        #expect(!FileManager.default.fileExists(atPath: demoDirectory.path))
    }
}

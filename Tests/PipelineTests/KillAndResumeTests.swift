import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import TestSupport
import Testing

/// `kill -9` of the real `snapsync` binary at several points of a run, then rerunning the same command:
/// the end state is the clean run's, with no duplicate on either side.
@Suite(.serialized) struct KillAndResumeTests {
    static let mailboxes = (1...4).map { "kill\($0)@example.com" }

    /// The `snapsync` executable built next to the test bundle.
    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "snapsync")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent(".build/debug/snapsync")
    }

    /// Runs `snapsync ARGS`; with `killAfter`, sends SIGKILL then. Returns the exit status (nil when killed).
    func snapsync(
        _ env: PipelineTestEnvironment, _ arguments: [String], killAfter seconds: Double? = nil
    ) async throws -> Int32? {
        let process = try start(env, arguments)
        if let seconds {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            if process.isRunning {
                await process.kill()
                return nil
            }
        }
        return await process.wait().status
    }

    /// Starts `snapsync ARGS` against `database` (the test's by default) and Exchange at `endpoint` (the simulator by
    /// default).
    func start(
        _ env: PipelineTestEnvironment, _ arguments: [String], endpoint: String? = nil, database: String? = nil
    ) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SNAPSYNC_") }
        environment["SNAPSYNC_DATABASE_URL"] = database ?? env.conninfo
        environment.merge(try env.exchangeSettings(endpoint: endpoint)) { _, setting in setting }
        return try ChildProcess.start(
            Self.binary.path, arguments + ["--log-format", "json", "--log-level", "warning"], environment: environment)
    }

    /// Kills the command after growing delays until a run gets to finish, then clears the faults and
    /// reruns it to completion. Returns how many runs were killed mid-way.
    func killRepeatedly(_ env: PipelineTestEnvironment, _ command: [String]) async throws -> Int {
        var kills = 0
        for delay in stride(from: 0.3, through: 3.0, by: 0.35) {
            guard let status = try await snapsync(env, command, killAfter: delay) else {
                // Killed; unless the run had already finished (the kill landed during the report), go on.
                if try await env.count("SELECT count(*) FROM sync.runs WHERE status <> 'running'") > 0 { break }
                kills += 1
                continue
            }
            #expect(status == 0)
            env.simulator.control.resetFaults()
            return kills
        }
        env.simulator.control.resetFaults()
        if try await env.count("SELECT count(*) FROM sync.runs WHERE status <> 'running'") == 0 {
            #expect(try await snapsync(env, command) == 0)
        }
        return kills
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func inboundKilledAtSeveralPointsEndsLikeACleanRun(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            for (index, mailbox) in Self.mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(50 + index), appointments: 60, tasks: 40))
            }
            env.simulator.control.setFaults(FaultConfiguration(latencyMilliseconds: 15))
            let command = ["snapshot", "inbound", "--workers", "2", "--page-size", "10"]
            let kills = try await killRepeatedly(env, command)
            #expect(kills >= 2, "the runs were too fast to be killed mid-way")
            #expect(try await env.count("SELECT count(*) FROM sync.runs") == 1)  // every rerun resumed the same run
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 240)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 160)
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)

            // The resumed run's page: a timeline row per mailbox, a bar per stage, every stage done.
            let page = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-run-\(UUID()).html")
            defer { try? FileManager.default.removeItem(at: page) }
            let runID = try await env.count("SELECT id::int FROM sync.runs")
            #expect(try await snapsync(env, ["runs", "show", "\(runID)", "--html", page.path]) == 0)
            let html = try String(contentsOf: page, encoding: .utf8)
            for mailbox in Self.mailboxes { #expect(html.contains(">\(mailbox)<title>"), "\(mailbox)") }
            #expect(html.components(separatedBy: "<rect class=\"bar done\"").count - 1 == Self.mailboxes.count * 2 * 6)
        }
    }

    @Test func twoSnapsyncProcessesFinishOneRunTogetherWithoutProcessingAMailboxTwice() async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes) { env in
            for (index, mailbox) in Self.mailboxes.enumerated() {
                _ = try env.simulator.control.seed(
                    SeedRequest(mailbox: mailbox, seed: UInt64(70 + index), appointments: 40, tasks: 30))
            }
            env.simulator.control.setFaults(FaultConfiguration(latencyMilliseconds: 15))
            // The same command on two "machines" at once (cron on both): they join one run and share its mailboxes.
            let command = ["snapshot", "inbound", "--workers", "1", "--page-size", "10"]
            async let first = snapsync(env, command)
            async let second = snapsync(env, command)
            let statuses = try await [first, second]
            #expect(statuses == [0, 0])
            #expect(try await env.count("SELECT count(*) FROM sync.runs") == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.runs WHERE status = 'completed'") == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.run_mailboxes WHERE claims <> 1") == 0)
            #expect(try await env.count("SELECT count(*) FROM sync.run_stages WHERE attempts <> 1") == 0)
            #expect(try await env.count("SELECT count(*) FROM crm.appointments") == 160)
            #expect(try await env.count("SELECT count(*) FROM crm.tasks") == 120)
            #expect(try await env.differences(kinds: [.appointments, .tasks]).isEmpty)
        }
    }

    @Test(arguments: ExchangeProtocol.allCases)
    func outboundKilledAtSeveralPointsCreatesNoDuplicates(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: Self.mailboxes, sourceProtocol: sourceProtocol) { env in
            try await seedCRM(env, contacts: 40, appointmentsPerUser: 30, tasksPerUser: 30)
            env.simulator.control.setFaults(FaultConfiguration(latencyMilliseconds: 15))
            let command = ["snapshot", "outbound", "--workers", "2", "--batch-size", "5", "--page-size", "20"]
            let kills = try await killRepeatedly(env, command)
            #expect(kills >= 2, "the runs were too fast to be killed mid-way")
            #expect(try await env.count("SELECT count(*) FROM sync.runs") == 1)
            let differences = try await env.differences()
            #expect(differences.isEmpty, "\(differences.prefix(3))")  // nothing missing, no duplicate item
        }
    }
}

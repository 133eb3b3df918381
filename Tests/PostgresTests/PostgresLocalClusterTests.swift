import Foundation
import Testing
import TestSupport
@testable import Postgres

/// The throwaway cluster the tests and `snapsync demo` rely on: it starts (as the `postgres` OS user when
/// running as root), accepts connections on its socket and its TCP port, and leaves nothing behind.
@Suite struct PostgresLocalClusterTests {
    @Test func startsServesAndStopsWithoutLeftovers() async throws {
        let cluster = try await PostgresLocalCluster.start()
        let pid = try #require(cluster.postmasterPID())
        #expect(try await psql(cluster.conninfo, "show fsync") == "off")
        #expect(try await psql(cluster.url(), "select current_setting('server_encoding')") == "UTF8")
        #expect(try await psql(cluster.conninfo(database: "template1"), "select current_user") == "postgres")

        try await cluster.stop()
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        #expect(try await eventually { processGone(pid) })
        try await cluster.stop()  // idempotent
    }

    @Test func durableSettingsOnRequest() async throws {
        let cluster = try await PostgresLocalCluster.start(
            options: .init(fastUnsafeSettings: false, extraSettings: ["work_mem = '8MB'"]))
        #expect(try await psql(cluster.conninfo, "show fsync") == "on")
        #expect(try await psql(cluster.conninfo, "show work_mem") == "8MB")
        try await cluster.stop()
    }

    @Test func watchdogStopsTheServerWhenItsProcessDies() async throws {
        // A stand-in for the test process: the cluster's watchdog watches it instead of this process.
        let owner = try ChildProcess.start("/bin/sleep", ["600"])
        var options = PostgresLocalCluster.Options()
        options.watchedProcess = owner.pid
        let cluster = try await PostgresLocalCluster.start(options: options)
        let pid = try #require(cluster.postmasterPID())

        await owner.kill()  // the "test process" dies without stopping its cluster
        let gone = try await eventually(seconds: 15) {
            processGone(pid) && !FileManager.default.fileExists(atPath: cluster.directory)
        }
        #expect(gone, "postmaster \(pid) or \(cluster.directory) still there")
        try? await cluster.stop()
    }

    /// Whether `pid` has ended (a zombie waiting for its parent counts as ended).
    private func processGone(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return true }
        return status.contains("State:\tZ")
    }

    private func eventually(seconds: Double = 5, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return condition()
    }

    /// Runs one query through `psql` (independent of the Postgres module) and returns its unaligned output.
    private func psql(_ conninfo: String, _ sql: String) async throws -> String {
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql])
        #expect(result.status == 0, "psql: \(result.output)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

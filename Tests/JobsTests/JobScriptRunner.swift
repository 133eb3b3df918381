import Foundation
import TestSupport

/// Runs the cron scripts in jobs/ against Fixtures/fake-snapsync.sh in a private temporary directory
/// (lock directory, argument record, config and metrics directory), and reads what the fake recorded.
struct JobScriptRunner {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let jobsDirectory = repositoryRoot.appendingPathComponent("jobs")
    static let fakeSnapsync = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fake-snapsync.sh")

    /// The scripts every cron job test covers.
    static let jobs = ["nightly-inbound", "outbound", "live-sync", "onboard", "doctor-report"]

    /// What one run of a job produced.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// The job's summary line (the last stderr line), parsed as JSON.
        func summary() throws -> [String: Any] {
            let line = stderr.split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw RunnerError(message: "summary is not a JSON object: \(line)")
            }
            return object
        }
    }

    struct RunnerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    let directory: URL
    var lockDirectory: URL { directory.appendingPathComponent("locks") }
    var record: URL { directory.appendingPathComponent("calls.txt") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("locks"),
            withIntermediateDirectories: true)
    }

    func removeDirectory() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `jobs/NAME.sh ARGUMENTS` with a minimal environment plus `environment`; the fake exits `fakeExit`.
    func run(
        _ job: String, _ arguments: [String] = [], fakeExit: Int32 = 0,
        environment: [String: String] = [:]
    ) async throws -> Result {
        var env = [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": directory.path,
            "TMPDIR": directory.path,
            "SNAPSYNC_BIN": Self.fakeSnapsync.path,
            "SNAPSYNC_LOCK_DIR": lockDirectory.path,
            "FAKE_SNAPSYNC_RECORD": record.path,
            "FAKE_SNAPSYNC_EXIT": "\(fakeExit)",
        ]
        env.merge(environment) { $1 }
        let result = try await ChildProcess.run(
            Self.jobsDirectory.appendingPathComponent("\(job).sh"), arguments,
            environment: env, inheritingEnvironment: false)
        return Result(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }

    /// The argument lists of every call the fake received, in order.
    func calls() throws -> [[String]] {
        guard FileManager.default.fileExists(atPath: record.path) else { return [] }
        var calls: [[String]] = []
        var current: [String] = []
        for line in try String(contentsOf: record, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        {
            if line == "--end--" {
                calls.append(current)
                current = []
            } else if !line.isEmpty {
                current.append(String(line))
            }
        }
        return calls
    }

    /// Waits (up to 30 s) until `url` exists.
    func waitFor(_ url: URL) async throws {
        for _ in 0..<600 {
            if FileManager.default.fileExists(atPath: url.path) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunnerError(message: "\(url.lastPathComponent) never appeared")
    }
}

import ChildProcesses
import Foundation
import HTTP
import Logging
import SyncStore

/// The demo's Exchange: the `exchange-sim` executable installed or built beside snapsync, run as its own process
/// (`exchange-sim serve` on a free loopback port), seeded through its control API. The default account of the
/// simulator signs in.
struct DemoSimulator {
    static let user = "snapsync@example.com"
    static let password = "snapsync-demo"
    /// The simulator's default Graph app registration (`exchange-sim serve --graph-app`).
    static let graphClientID = "snapsync-demo-app"
    static let graphClientSecret = "snapsync-demo-secret"
    /// Any tenant name: the simulator's token endpoint takes every one.
    static let graphTenant = "demo.example"

    let pid: pid_t
    /// `http://127.0.0.1:PORT`
    let base: String
    var endpoint: String { base + "/EWS/Exchange.asmx" }
    /// The Graph root; the token endpoint is `{base}/{tenant}/oauth2/v2.0/token`, so `base` is the authority.
    var graphEndpoint: String { base + "/v1.0" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `exchange-sim` beside this executable, as invoked or with its links resolved.
    static func executable() throws -> URL {
        let candidates = MigrationDirectory.executableURLs().map {
            $0.deletingLastPathComponent().appendingPathComponent("exchange-sim")
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw Failure(
                description: "exchange-sim not found beside snapsync (looked in "
                    + candidates.map { $0.deletingLastPathComponent().path }.joined(separator: ", ")
                    + "); build it with `swift build --product exchange-sim`")
        }
        return found
    }

    /// Starts `exchange-sim serve` with `mailboxes`, its output in `log`, and waits until it listens. The process
    /// is in a session of its own, so it outlives this one until it is stopped. A busy machine may take a while to
    /// start it with many mailboxes: it is given two minutes while it runs.
    static func start(mailboxes: [String], log: URL) async throws -> DemoSimulator {
        let process = try ChildProcess.start(
            try executable().path, ["serve", "--port", "0"] + mailboxes.flatMap { ["--mailbox", $0] },
            standardOutput: .file(log.path, append: false), standardError: .standardOutput, newSession: true)
        for _ in 0..<1200 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /EWS at (http:\/\/[^\/\s]+)\//) {
                return DemoSimulator(pid: process.pid, base: String(match.output.1))
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGTERM)
        throw Failure(description: "exchange-sim did not start (its output is in \(log.path))")
    }

    /// Seeds a mailbox with deterministic appointments (with recurring series) and tasks.
    func seed(_ mailbox: String, seed: Int, appointments: Int, tasks: Int, http: HTTPClient) async throws {
        let body: [String: Any] = ["mailbox": mailbox, "seed": seed, "appointments": appointments, "tasks": tasks]
        let request = HTTPRequest(
            method: .post, url: base + "/sim/seed", headers: ["Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: body)), isIdempotent: true)
        let response = try await http.execute(request)
        guard response.status == 200 else {
            throw Failure(description: "exchange-sim refused to seed \(mailbox): HTTP \(response.status)")
        }
    }

    /// Stops the simulator process `pid` (SIGTERM, then SIGKILL after 10 s), if it is still an exchange-sim.
    static func stop(pid: pid_t) async {
        guard isSimulator(pid) else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where isSimulator(pid) { try? await Task.sleep(for: .milliseconds(100)) }
        if isSimulator(pid) { kill(pid, SIGKILL) }
    }

    /// Whether `pid` is a running (not zombie) exchange-sim process.
    static func isSimulator(_ pid: pid_t) -> Bool {
        guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return false }
        return command.contains("exchange-sim") && !status.contains(/State:\s*Z/)
    }
}

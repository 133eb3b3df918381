import Foundation
import TestSupport

/// The Python interpreter the independent-client tests run their scripts with: `SNAPSYNC_TEST_PYTHON` (set by
/// jobs/dev/test.sh to the venv jobs/dev/install-deps.sh makes). Unset in CI is a failure, never a silent skip;
/// outside CI a `python3` that imports what the script needs is used when there is one.
enum TestPython {
    /// The interpreter, or nil when there is none (`/usr/bin/env` stands for `python3` on the PATH).
    static func interpreter(importing modules: String) -> String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env["SNAPSYNC_TEST_PYTHON"], !p.isEmpty { return p }
        if env["CI"] == "true" { return nil }
        // Evaluated once per client, before any test runs: a short synchronous check is fine here.
        let probe = try? ChildProcess.runBlocking(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import \(modules)"])
        return probe?.status == 0 ? "/usr/bin/env" : nil
    }

    /// Run the tests when there is an interpreter, and always in CI (where a missing one fails them).
    static func enabled(_ path: String?) -> Bool { path != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs `script` with `arguments` under `python`.
    static func run(
        _ python: String, script: String, _ arguments: [String], environment: [String: String]
    ) async throws -> ChildProcess.Result {
        let args = python == "/usr/bin/env" ? ["python3", script] + arguments : [script] + arguments
        return try await ChildProcess.run(
            URL(fileURLWithPath: python), args,
            environment: environment.merging(["PYTHONIOENCODING": "utf-8"]) { a, _ in a })
    }
}

import Foundation

/// A child process run to completion without blocking a thread of Swift's cooperative pool.
///
/// The suites run in parallel on a pool as wide as the machine has cores (two in CI): a test that waits for a
/// child with `waitUntilExit()` or reads its pipe to the end holds one of those threads for as long as the child
/// runs (the schema validator takes ten seconds and more), and every other test's continuations queue behind it;
/// a test with a deadline then missed it. Output goes to temporary files (a pipe read after the exit could fill
/// up and stall the child); the exit is awaited through the termination handler.
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String

        /// Standard output, then standard error, as text (for failure messages).
        public var output: String { String(decoding: stdout, as: UTF8.self) + stderr }
    }

    /// Runs `executable` with `arguments`, the test process's environment plus `environment` (only `environment`
    /// when `inheritingEnvironment` is false), in `currentDirectory` (default: the test process's).
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        inheritingEnvironment: Bool = true, currentDirectory: URL? = nil
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("test-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: out), stderr = try FileHandle(forWritingTo: err)
        defer { try? stdout.close(); try? stderr.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment =
            inheritingEnvironment ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Result(
            status: status, stdout: (try? Data(contentsOf: out)) ?? Data(),
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

import Foundation

/// What `snapsync demo --keep` left running, kept in a directory of its own (`SNAPSYNC_DEMO_DIR`, default
/// `$TMPDIR/snapsync-demo-UID`) for `snapsync demo --stop`.
struct DemoState: Codable {
    var simulatorPID: pid_t
    var clusterDirectory: String
    var databaseURL: String
    var ewsURL: String

    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["SNAPSYNC_DEMO_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-demo-\(getuid())", isDirectory: true)
    }

    static var file: URL { directory.appendingPathComponent("state.json") }

    /// The kept demo, when one is still running.
    static func running() -> DemoState? {
        guard let data = try? Data(contentsOf: file), let state = try? JSONDecoder().decode(DemoState.self, from: data),
            DemoSimulator.isSimulator(state.simulatorPID)
                || FileManager.default.fileExists(atPath: state.clusterDirectory)
        else { return nil }
        return state
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: Self.file, options: .atomic)
    }

    /// Stops the simulator; the cluster's watchdog, which watches the simulator, then stops PostgreSQL and removes
    /// its directory. Waits up to 60 s for that.
    func stop() async throws {
        await DemoSimulator.stop(pid: simulatorPID)
        for _ in 0..<600 where FileManager.default.fileExists(atPath: clusterDirectory) {
            try await Task.sleep(for: .milliseconds(100))
        }
        guard !FileManager.default.fileExists(atPath: clusterDirectory) else {
            throw DemoSimulator.Failure(description: "the demo's PostgreSQL in \(clusterDirectory) did not stop")
        }
        try? FileManager.default.removeItem(at: Self.directory)
    }
}

import Foundation
import TestSupport
import Testing

/// `snapsync demo --protocol graph`: the demo's stages through Microsoft Graph (the simulator's Graph endpoint and
/// token endpoint, its default app registration) end as the EWS demo does, in sync.
@Suite struct DemoGraphTests {
    @Test func theDemoThroughGraphEndsInSync() async throws {
        let snapsync = try CLIObservabilityTests.snapsyncBinary()
        let demoDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-demo-graph-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: demoDirectory) }
        let demo = try await ChildProcess.run(
            snapsync, ["demo", "--protocol", "graph", "--mailboxes", "2", "--items", "10", "--contacts", "10"],
            environment: ["SNAPSYNC_DEMO_DIR": demoDirectory.path])
        #expect(demo.status == 0, "\(demo.output)")
        #expect(demo.output.contains("/v1.0"), "\(demo.output)")
        #expect(demo.output.contains("in sync: 2 mailboxes"), "\(demo.output)")
    }
}

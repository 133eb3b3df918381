import Foundation

/// The shared EWS material the fidelity tests read (`ews-schema/` with its validator, `ews-samples/`).
public enum SharedDirectory {
    /// `SNAPSYNC_SHARED_DIR` when set (the test command exports it, defaulting to `../shared`), else `../shared`
    /// beside the package root.
    public static var url: URL {
        if let directory = ProcessInfo.processInfo.environment["SNAPSYNC_SHARED_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }
}

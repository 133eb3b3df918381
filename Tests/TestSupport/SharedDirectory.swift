import Foundation

/// Where the fidelity tests find the reference material they check against.
///
/// Microsoft Graph's v1.0 schema (MIT) with its validator and Microsoft's example responses (from the Graph
/// documentation, with their attribution) are in the repository under `Tests/Fixtures/`. The EWS schema and the
/// real EWS responses are not redistributable with it: they are read from `SNAPSYNC_SHARED_DIR` (default `../shared`
/// beside the package root); docs/development.md says where to get them.
public enum SharedDirectory {
    /// `SNAPSYNC_SHARED_DIR` when set (the test command exports it, defaulting to `../shared`), else `../shared`
    /// beside the package root: `ews-schema/` (the schema and its `validate`) and `ews-samples/`.
    public static var url: URL {
        if let directory = ProcessInfo.processInfo.environment["SNAPSYNC_SHARED_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// `Tests/Fixtures/`: `graph-schema/` (the CSDL and its `validate`) and `graph-samples/`.
    public static var fixtures: URL { packageRoot.appendingPathComponent("Tests/Fixtures") }

    /// The package's root directory.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
}

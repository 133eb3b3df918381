import Foundation

/// Where the `sql/` directory of migration files is found, first match wins:
/// 1. an explicit directory (`snapsync --sql-dir DIR`);
/// 2. `SNAPSYNC_SQL_DIR`;
/// 3. `<executable's directory>/../share/snapsync/sql` (an installed layout), for the executable as invoked
///    (`/usr/bin/snapsync`, a link into `/opt/snapsync/bin`, gives `/usr/share/snapsync/sql`) and as resolved;
/// 4. walking up from the executable's directory to a directory holding `sql/0001_crm.sql` (a build inside the
///    repository, e.g. `.build/debug/snapsync`);
/// 5. the system's directories (`/usr/share/snapsync/sql`, `/usr/local/share/snapsync/sql`);
/// 6. `./sql`.
///
/// An explicit or environment directory that does not exist is an error, never silently skipped.
public enum MigrationDirectory {
    /// The file that marks a migrations directory.
    static let marker = "0001_crm.sql"

    /// Finds the directory (see the type's documentation for the order).
    public static func locate(
        explicit: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executables: [URL] = executableURLs(),
        systemDirectories: [String] = ["/usr/share/snapsync/sql", "/usr/local/share/snapsync/sql"],
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws(SyncStoreError) -> URL {
        let fileManager = FileManager.default
        func isDirectory(_ path: String) -> Bool {
            var directory: ObjCBool = false
            return fileManager.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
        }
        for (path, origin) in [(explicit, "--sql-dir"), (environment["SNAPSYNC_SQL_DIR"], "SNAPSYNC_SQL_DIR")] {
            guard let path, !path.isEmpty else { continue }
            guard isDirectory(path) else {
                throw SyncStoreError(code: .migrationsNotFound, message: "\(origin) \(path) is not a directory")
            }
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        var tried: [String] = []
        for executable in executables {
            let share = executable.deletingLastPathComponent().standardizedFileURL.deletingLastPathComponent()
                .appendingPathComponent("share/snapsync/sql").path
            tried.append(share)
            if fileManager.fileExists(atPath: share + "/" + marker) {
                return URL(fileURLWithPath: share, isDirectory: true)
            }
        }
        for executable in executables {
            let binDirectory = executable.deletingLastPathComponent().standardizedFileURL
            var directory = binDirectory
            while true {
                let candidate = directory.appendingPathComponent("sql").path
                if fileManager.fileExists(atPath: candidate + "/" + marker) {
                    return URL(fileURLWithPath: candidate, isDirectory: true)
                }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
            tried.append("sql/ above \(binDirectory.path)")
        }
        for system in systemDirectories {
            tried.append(system)
            if fileManager.fileExists(atPath: system + "/" + marker) {
                return URL(fileURLWithPath: system, isDirectory: true)
            }
        }
        let local = URL(fileURLWithPath: currentDirectory).appendingPathComponent("sql").path
        tried.append(local)
        if isDirectory(local) { return URL(fileURLWithPath: local, isDirectory: true) }
        throw SyncStoreError(
            code: .migrationsNotFound,
            message: "no sql/ directory of migrations found (tried \(tried.joined(separator: ", "))); "
                + "pass --sql-dir or set SNAPSYNC_SQL_DIR")
    }

    /// The running executable as it was invoked (a link kept as the link: `argv[0]`, looked up in `PATH` when it
    /// names no directory), then with its links resolved (`/proc/self/exe` on Linux); each once.
    public static func executableURLs(
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [URL] {
        var urls: [URL] = []
        if let invoked = arguments.first, !invoked.isEmpty {
            if invoked.contains("/") {
                urls.append(URL(fileURLWithPath: invoked).standardizedFileURL)
            } else if let found = (environment["PATH"] ?? "").split(separator: ":").lazy
                .map({ URL(fileURLWithPath: String($0)).appendingPathComponent(invoked) })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
            {
                urls.append(found.standardizedFileURL)
            }
        }
        #if os(Linux)
            if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                urls.append(URL(fileURLWithPath: path))
            }
        #else
            if let resolved = Bundle.main.executableURL?.resolvingSymlinksInPath() { urls.append(resolved) }
        #endif
        return urls.reduce(into: []) { unique, url in if !unique.contains(url) { unique.append(url) } }
    }
}

import ChildProcesses
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway PostgreSQL cluster in a temporary directory, for the tests and for `snapsync demo`.
///
/// ``start(options:)`` runs `initdb` (trust authentication, UTF8, locale C) in a fresh directory under `/tmp` and
/// `pg_ctl -w start` with a private TCP port on 127.0.0.1 and a unix socket directory inside the temporary
/// directory. When the process runs as root, the server binaries run as the `postgres` OS user through
/// `runuser` (PostgreSQL refuses to run as root) and the directory is handed to that user.
///
/// ``stop()`` shuts the server down (`pg_ctl stop -m fast`) and removes the directory. A small `sh` watchdog
/// started with the cluster does the same when this process dies without calling ``stop()`` (a crashed or
/// killed test run never leaves a postmaster behind): it checks once a second whether this process is still
/// alive.
///
/// Binaries come from `SNAPSYNC_PG_BIN` when set, else the highest version under `/usr/lib/postgresql/*/bin`,
/// else `PATH`.
public final class PostgresLocalCluster: Sendable {
    /// How the cluster is started.
    public struct Options: Sendable {
        /// Test-friendly settings that give up crash safety for speed: `fsync=off`, `synchronous_commit=off`,
        /// `full_page_writes=off`. Off for a cluster that measures realistic performance.
        public var fastUnsafeSettings: Bool
        /// Extra `postgresql.conf` lines (`name = value`), appended after the defaults.
        public var extraSettings: [String]
        /// Seconds `pg_ctl` waits for the server to accept connections.
        public var startTimeoutSeconds: Int
        /// The process whose end makes the watchdog stop the cluster and remove its directory; nil: this process.
        /// A cluster meant to outlive this process (`snapsync demo --keep`) names the process it lives with.
        public var watchedProcess: pid_t?

        /// The default options: fast, unsafe settings; no extra settings; 60 s start timeout.
        public init(fastUnsafeSettings: Bool = true, extraSettings: [String] = [], startTimeoutSeconds: Int = 60) {
            self.fastUnsafeSettings = fastUnsafeSettings
            self.extraSettings = extraSettings
            self.startTimeoutSeconds = startTimeoutSeconds
        }
    }

    /// The superuser `initdb` created (trust authentication, no password).
    public static let superuser = "postgres"

    /// The temporary directory holding the data directory, the socket directory and the logs.
    public let directory: String
    /// The cluster's data directory.
    public let dataDirectory: String
    /// The directory holding the server's unix socket.
    public let socketDirectory: String
    /// The TCP port the server listens on (127.0.0.1 only); the unix socket carries the same number.
    public let port: Int
    /// The server log file (useful when a test fails).
    public var logFile: String { directory + "/postgres.log" }

    private let binaries: Binaries
    private let runAs: String?
    /// Set once the server is stopped, left running on purpose, or gone after a failed start.
    private let stopped = Mutex(false)

    /// A libpq key=value conninfo for the superuser over the unix socket.
    public func conninfo(database: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) user=\(Self.superuser) dbname=\(database)"
    }

    /// A libpq URL for the superuser over TCP on 127.0.0.1.
    public func url(database: String = "postgres") -> String {
        "postgresql://\(Self.superuser)@127.0.0.1:\(port)/\(database)"
    }

    /// The superuser conninfo of the `postgres` database.
    public var conninfo: String { conninfo() }

    private init(directory: String, port: Int, binaries: Binaries, runAs: String?) {
        self.directory = directory
        self.dataDirectory = directory + "/data"
        self.socketDirectory = directory + "/run"
        self.port = port
        self.binaries = binaries
        self.runAs = runAs
    }

    deinit {
        // Not stopped explicitly: the watchdog sees the directory or this process go away only at exit, so make
        // the shutdown happen now without blocking: signal a fast shutdown; the watchdog removes the directory.
        if !stopped.withLock({ $0 }), let pid = postmasterPID() { kill(pid, SIGINT) }
    }

    // MARK: Starting

    /// Creates and starts a cluster. Throws when the binaries are missing, `initdb` fails or the server does not
    /// start; the temporary directory is removed on every failure path.
    public static func start(
        options: Options = Options()
    ) async throws(PostgresLocalClusterError)
        -> PostgresLocalCluster
    {
        let binaries = try Binaries.locate()
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        var lastError: PostgresLocalClusterError?
        // A port picked free can be taken before the server binds it: try again with another port.
        for _ in 0..<3 {
            let directory = try makeDirectory(owner: runAs)
            let cluster = PostgresLocalCluster(
                directory: directory, port: try freePort(), binaries: binaries, runAs: runAs)
            do {
                try await cluster.initialize(options: options)
                try cluster.startWatchdog(watching: options.watchedProcess ?? getpid())
                try await cluster.startServer(options: options)
                return cluster
            } catch {
                cluster.stopped.withLock { $0 = true }
                await cluster.removeAfterFailure()
                lastError = error
                guard error.code == .startFailed else { throw error }
            }
        }
        throw lastError!
    }

    private func initialize(options: Options) async throws(PostgresLocalClusterError) {
        let status = try await run(
            binaries.initdb,
            [
                "-D", dataDirectory, "-U", Self.superuser, "--auth=trust", "-E", "UTF8", "--locale=C",
                "--no-sync", "--no-instructions",
            ], log: directory + "/initdb.log")
        guard status == 0 else {
            throw PostgresLocalClusterError(
                code: .initdbFailed, message: "initdb exited with \(status): \(tail(of: directory + "/initdb.log"))")
        }
        var settings = [
            "listen_addresses = '127.0.0.1'",
            "port = \(port)",
            "unix_socket_directories = '\(socketDirectory)'",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "max_connections = 200",
            "max_wal_size = '2GB'",
            "logging_collector = off",
        ]
        if options.fastUnsafeSettings {
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        }
        settings += options.extraSettings
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(
                contentsOf: Data(("\n# snapsync throwaway cluster\n" + settings.joined(separator: "\n") + "\n").utf8))
            try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
            if let runAs { try chown(socketDirectory, to: runAs) }
        } catch let error as PostgresLocalClusterError {
            throw error
        } catch {
            throw PostgresLocalClusterError(code: .initdbFailed, message: "cannot write the configuration: \(error)")
        }
    }

    private func startServer(options: Options) async throws(PostgresLocalClusterError) {
        let status = try await run(
            binaries.pgCtl,
            [
                "-D", dataDirectory, "-l", logFile, "-w", "-t", String(options.startTimeoutSeconds), "start",
            ], log: directory + "/pg_ctl.log")
        guard status == 0 else {
            throw PostgresLocalClusterError(
                code: .startFailed,
                message:
                    "pg_ctl start exited with \(status): \(tail(of: logFile)) \(tail(of: directory + "/pg_ctl.log"))")
        }
    }

    /// A detached `sh` loop that shuts the server down and removes the directory once this process is gone
    /// (or a zombie), or ends by itself when the directory disappears (a normal ``stop()``).
    private func startWatchdog(watching parent: pid_t) throws(PostgresLocalClusterError) {
        let script = """
            trap '' INT HUP TERM PIPE
            parent=$1; dir=$2
            alive() { [ -d "/proc/$parent" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$parent/status" 2>/dev/null; }
            while alive && [ -d "$dir" ]; do sleep 1; done
            [ -d "$dir" ] || exit 0
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
            if [ -n "$pid" ]; then
              kill -INT "$pid" 2>/dev/null
              i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
              kill -QUIT "$pid" 2>/dev/null
              i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
              kill -KILL "$pid" 2>/dev/null
            fi
            rm -rf "$dir"
            """
        // Reaped by its own thread whenever it ends.
        do {
            _ = try ChildProcess.start(
                "/bin/sh", ["-c", script, "snapsync-pg-watchdog", String(parent), directory], directory: "/")
        } catch {
            throw PostgresLocalClusterError(code: .binariesNotFound, message: error.description)
        }
    }

    // MARK: Stopping

    /// Stops the server (`pg_ctl stop -m fast`) and removes the temporary directory. Idempotent.
    public func stop() async throws(PostgresLocalClusterError) {
        let alreadyStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        let status = try await run(
            binaries.pgCtl, ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"],
            log: directory + "/pg_ctl.log")
        let failure = status == 0 ? nil : tail(of: directory + "/pg_ctl.log")
        if failure != nil, let pid = postmasterPID() { kill(pid, SIGQUIT) }
        // The watchdog ends by itself once the directory is gone.
        try? FileManager.default.removeItem(atPath: directory)
        if let failure {
            throw PostgresLocalClusterError(code: .stopFailed, message: "pg_ctl stop exited with \(status): \(failure)")
        }
    }

    /// Leaves the server running when this object goes away: from now on only the end of the watched process
    /// (``Options/watchedProcess``) stops it and removes its directory.
    public func leaveRunning() {
        stopped.withLock { $0 = true }
    }

    private func removeAfterFailure() async {
        if let pid = postmasterPID() {
            kill(pid, SIGQUIT)
            for _ in 0..<50 where kill(pid, 0) == 0 { try? await Task.sleep(nanoseconds: 100_000_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The postmaster's process id, read from `postmaster.pid`; nil when the server is not running.
    public func postmasterPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let pid = pid_t(first.trimmingCharacters(in: .whitespaces))
        else { return nil }
        return pid
    }

    // MARK: Processes

    /// Runs a server binary (as `runAs` through `runuser` when set) with stdout and stderr appended to `log`,
    /// and returns its exit status without blocking a thread of the cooperative pool.
    private func run(
        _ executable: String, _ arguments: [String], log: String
    ) async throws(PostgresLocalClusterError)
        -> Int32
    {
        let command = runAs.map { [binaries.runuser, "-u", $0, "--", executable] } ?? [executable]
        do {
            let child = try ChildProcess.start(
                command[0], Array(command.dropFirst()) + arguments, directory: directory,
                standardOutput: .file(log), standardError: .standardOutput)
            return await child.wait().status
        } catch {
            throw PostgresLocalClusterError(code: .binariesNotFound, message: error.description)
        }
    }

    private func tail(of file: String) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    // MARK: Setup helpers

    private static func makeDirectory(owner: String?) throws(PostgresLocalClusterError) -> String {
        // root's TMPDIR may not be reachable by the postgres user; unix socket paths must stay short.
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if owner != nil || base.count > 40 { base = "/tmp" }
        var template = Array((base + "/snapsync-pg-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard created else {
            throw PostgresLocalClusterError(
                code: .startFailed, message: "cannot create a directory in \(base): \(String(cString: strerror(errno)))"
            )
        }
        let directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if let owner { try chown(directory, to: owner) }
        return directory
    }

    private static func chown(_ path: String, to user: String) throws(PostgresLocalClusterError) {
        guard let entry = getpwnam(user) else {
            throw PostgresLocalClusterError(
                code: .startFailed,
                message: "running as root needs the '\(user)' OS user to run the server (install postgresql)")
        }
        guard Foundation.chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw PostgresLocalClusterError(
                code: .startFailed, message: "cannot chown \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func chown(_ path: String, to user: String) throws(PostgresLocalClusterError) {
        try Self.chown(path, to: user)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released).
    static func freePort() throws(PostgresLocalClusterError) -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else {
            throw PostgresLocalClusterError(code: .startFailed, message: "cannot create a socket to find a free port")
        }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard ok else { throw PostgresLocalClusterError(code: .startFailed, message: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The server binaries this cluster runs.
    struct Binaries {
        var initdb: String
        var pgCtl: String
        var runuser: String

        static func locate() throws(PostgresLocalClusterError) -> Binaries {
            let environment = ProcessInfo.processInfo.environment
            let fileManager = FileManager.default
            var candidates: [String] = []
            if let explicit = environment["SNAPSYNC_PG_BIN"], !explicit.isEmpty { candidates.append(explicit) }
            let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
                .compactMap { name in Int(name).map { ($0, name) } }
                .sorted { $0.0 > $1.0 }
            candidates += versions.map { "/usr/lib/postgresql/\($0.1)/bin" }
            candidates += (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
            guard
                let bin = candidates.first(where: {
                    fileManager.isExecutableFile(atPath: $0 + "/initdb")
                        && fileManager.isExecutableFile(atPath: $0 + "/pg_ctl")
                })
            else {
                throw PostgresLocalClusterError(
                    code: .binariesNotFound,
                    message: "initdb and pg_ctl not found (SNAPSYNC_PG_BIN, /usr/lib/postgresql/*/bin, PATH); "
                        + "install the postgresql package")
            }
            let runuser =
                ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
                .first { fileManager.isExecutableFile(atPath: $0) } ?? "runuser"
            return Binaries(initdb: bin + "/initdb", pgCtl: bin + "/pg_ctl", runuser: runuser)
        }
    }
}

/// A throwaway local cluster could not be created, started or stopped. The message names the step and carries
/// the tail of the server's log (no record data: the cluster is empty when it starts).
public struct PostgresLocalClusterError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// `initdb`/`pg_ctl` not found.
        public static let binariesNotFound = Code(name: "binariesNotFound")
        /// `initdb` failed.
        public static let initdbFailed = Code(name: "initdbFailed")
        /// The server did not start.
        public static let startFailed = Code(name: "startFailed")
        /// `pg_ctl stop` failed (the server was killed instead).
        public static let stopFailed = Code(name: "stopFailed")
        public var description: String { name }
    }

    /// What failed.
    public var code: Code
    /// Details, including the tail of the relevant log.
    public var message: String

    public var description: String { "local PostgreSQL cluster (\(code)): \(message)" }
}

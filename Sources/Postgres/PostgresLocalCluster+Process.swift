import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Child processes of the local cluster (`initdb`, `pg_ctl`, the watchdog), spawned with `posix_spawn`.
///
/// Not Foundation's `Process`: on Linux it detects a child's end through a descriptor the child inherits, so a
/// child that leaves a daemon behind (`pg_ctl start` leaves the postmaster) never "ends" while the daemon lives.
/// Here every descriptor above stderr is closed in the child, and the exit status comes from `waitpid` on a
/// dedicated thread (never blocking Swift's cooperative pool).
enum LocalClusterProcess {
    /// Spawns `executable` (found through `PATH` when not absolute) with stdin from /dev/null and stdout+stderr
    /// appended to `output` (or /dev/null), in `directory`. Returns the child's pid.
    static func spawn(
        _ executable: String, _ arguments: [String], output: String?, directory: String?
    ) throws(PostgresLocalClusterError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let directory { _ = gnuExtensions.addChdir?(&actions, directory) }
        _ = gnuExtensions.addCloseFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw PostgresLocalClusterError(
                code: .binariesNotFound, message: "cannot run \(executable): \(String(cString: strerror(status)))")
        }
        return pid
    }

    /// Waits for `pid` to end on a dedicated thread; returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                var result: pid_t
                repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
                guard result == pid else { return continuation.resume(returning: -1) }
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
            thread.start()
        }
    }

    /// Reaps `pid` in the background whenever it ends (so it never lingers as a zombie).
    static func reapInBackground(_ pid: pid_t) {
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        thread.start()
    }

    /// Runs a command to its end and returns its exit status.
    static func run(
        _ executable: String, _ arguments: [String], output: String?, directory: String?
    )
        async
        throws(PostgresLocalClusterError) -> Int32
    {
        let pid = try spawn(executable, arguments, output: output, directory: directory)
        return await wait(pid)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+) and `..._addchdir_np` (2.29+), looked up at run
    /// time: the Glibc module does not import GNU extensions.
    private struct GNUExtensions: @unchecked Sendable {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias Chdir =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        var addCloseFrom: CloseFrom?
        var addChdir: Chdir?
    }

    private static let gnuExtensions: GNUExtensions = {
        let handle = dlopen(nil, RTLD_NOW)
        return GNUExtensions(
            addCloseFrom: dlsym(handle, "posix_spawn_file_actions_addclosefrom_np")
                .map { unsafeBitCast($0, to: GNUExtensions.CloseFrom.self) },
            addChdir: dlsym(handle, "posix_spawn_file_actions_addchdir_np")
                .map { unsafeBitCast($0, to: GNUExtensions.Chdir.self) })
    }()
}

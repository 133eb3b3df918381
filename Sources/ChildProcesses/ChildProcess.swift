import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process, spawned with `posix_spawn` and reaped by a thread of its own: the one way snapsync, its
/// benchmarks and its tests start another program.
///
/// Not Foundation's `Process`: on Linux it learns of a child's end through a descriptor the child inherits, so a
/// child that leaves a daemon behind (`pg_ctl start` leaves the postmaster) never "ends" while the daemon lives,
/// and its `waitUntilExit()` holds a thread of Swift's cooperative pool (two threads on a two-core machine) for as
/// long as the child runs. Here the child gets stdin from /dev/null, no descriptor above stderr, an empty signal
/// mask and default signal actions; a dedicated thread waits for it (`wait4`, which also gives its CPU time), and
/// ``wait()`` suspends without holding a thread.
public final class ChildProcess: Sendable {
    /// Where the child's standard output or error goes.
    public enum Output: Sendable, Hashable {
        /// /dev/null.
        case discarded
        /// This file, created when missing; appended to, or truncated first.
        case file(String, append: Bool = true)
        /// The same place as standard output (for standard error only).
        case standardOutput
    }

    /// How the child ended and what it used.
    public struct Termination: Sendable, Hashable {
        /// The exit status, or 128 + the signal's number when a signal ended it (as a shell reports it).
        public var status: Int32
        /// The signal that ended it, if one did.
        public var signal: Int32?
        /// User + system CPU seconds of the child and of the children it waited for (`wait4`).
        public var cpuSeconds: Double
        /// The child's own peak resident set in bytes (its `VmHWM`, sampled while it ran), when asked for.
        public var peakResidentBytes: Int?
        /// Seconds from the start to the end.
        public var seconds: Double
    }

    /// A child run to its end (``run(_:_:environment:inheritingEnvironment:currentDirectory:)``).
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String

        /// Standard output, then standard error, as text (for failure messages).
        public var output: String { String(decoding: stdout, as: UTF8.self) + stderr }
    }

    public let pid: pid_t
    /// The program, as given to ``start(_:_:environment:directory:standardOutput:standardError:newSession:samplesPeakMemory:)``.
    public let executable: String

    private struct State {
        var termination: Termination?
        var waiters: [@Sendable (Termination) -> Void] = []
    }
    private let state = Mutex(State())

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    // MARK: Starting

    /// Starts `executable` (looked up in `PATH` when it holds no slash) with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; nil gives it this process's.
    ///   - directory: its working directory; nil keeps this process's.
    ///   - newSession: puts it in a session of its own (`setsid`), so a terminal's signals to this process's group
    ///     do not reach it and it outlives this process (the demo's simulator).
    ///   - samplesPeakMemory: samples its `VmHWM` every 20 ms while it runs, for
    ///     ``Termination/peakResidentBytes`` (`wait4`'s `ru_maxrss` carries this process's peak over `exec`).
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        standardOutput: Output = .discarded, standardError: Output = .discarded, newSession: Bool = false,
        samplesPeakMemory: Bool = false
    ) throws(ChildProcessError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (descriptor, output) in [(Int32(1), standardOutput), (Int32(2), standardError)] {
            switch output {
            case .discarded:
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
            case .file(let path, let append):
                let mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
                posix_spawn_file_actions_addopen(&actions, descriptor, path, mode, 0o644)
            case .standardOutput:
                posix_spawn_file_actions_adddup2(&actions, 1, descriptor)
            }
        }
        if let directory {
            guard let addChdir = gnuExtensions.addChdir, addChdir(&actions, directory) == 0 else {
                throw ChildProcessError(code: .cannotStart, executable: executable, errno: ENOSYS)
            }
        }
        _ = gnuExtensions.addCloseFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= setSessionFlag }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid = pid_t()
        let status =
            if var envp {
                posix_spawnp(&pid, executable, &actions, &attributes, argv, &envp)
            } else {
                posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
            }
        guard status == 0 else {
            throw ChildProcessError(code: .cannotStart, executable: executable, errno: status)
        }
        let child = ChildProcess(pid: pid, executable: executable)
        child.reapOnOwnThread(samplesPeakMemory: samplesPeakMemory)
        return child
    }

    /// ``start(_:_:environment:directory:standardOutput:standardError:newSession:samplesPeakMemory:)`` then
    /// ``wait()``, with standard output and error captured in temporary files (a pipe read after the end could fill
    /// up and stall the child). The environment is this process's plus `environment` (only `environment` when
    /// `inheritingEnvironment` is false).
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        inheritingEnvironment: Bool = true, currentDirectory: URL? = nil
    ) async throws(ChildProcessError) -> Result {
        let files = try CapturedOutput(executable: executable.path)
        defer { files.remove() }
        let child = try start(
            executable.path, arguments,
            environment: inheritingEnvironment
                ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment,
            directory: currentDirectory?.path, standardOutput: .file(files.out, append: false),
            standardError: .file(files.err, append: false))
        return files.result(await child.wait().status)
    }

    /// ``run(_:_:environment:inheritingEnvironment:currentDirectory:)`` blocking the calling thread: only where no
    /// `await` is possible (a synchronous initializer, a `defer`) and the child ends quickly.
    public static func runBlocking(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        currentDirectory: URL? = nil
    ) throws(ChildProcessError) -> Result {
        let files = try CapturedOutput(executable: executable.path)
        defer { files.remove() }
        let child = try start(
            executable.path, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            directory: currentDirectory?.path, standardOutput: .file(files.out, append: false),
            standardError: .file(files.err, append: false))
        return files.result(child.waitBlocking().status)
    }

    // MARK: A started child

    /// Whether the child has not been reaped yet.
    public var isRunning: Bool { state.withLock { $0.termination == nil } }

    /// How it ended, once it has.
    public var termination: Termination? { state.withLock { $0.termination } }

    /// Waits for the child's end without holding a thread.
    @discardableResult
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            whenTerminated { continuation.resume(returning: $0) }
        }
    }

    /// Waits for the child's end blocking the calling thread (see ``runBlocking(_:_:environment:currentDirectory:)``).
    @discardableResult
    public func waitBlocking() -> Termination {
        let ended = DispatchSemaphore(value: 0)
        let result = Mutex<Termination?>(nil)
        whenTerminated { termination in
            result.withLock { $0 = termination }
            ended.signal()
        }
        ended.wait()
        return result.withLock { $0! }
    }

    /// Sends `signal` to the child while it runs (never to a reaped pid another process may have taken).
    public func signal(_ signal: Int32) {
        state.withLock { state in
            if state.termination == nil { _ = send(signal, to: pid) }
        }
    }

    /// `kill -9`, then waits for the end.
    @discardableResult
    public func kill() async -> Termination {
        signal(SIGKILL)
        return await wait()
    }

    /// SIGTERM, then SIGKILL if the child still runs after `grace`; waits for the end.
    @discardableResult
    public func terminate(grace: Duration = .seconds(10)) async -> Termination {
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return await kill()
    }

    private func whenTerminated(_ action: @escaping @Sendable (Termination) -> Void) {
        let ended: Termination? = state.withLock { state in
            if state.termination == nil { state.waiters.append(action) }
            return state.termination
        }
        if let ended { action(ended) }
    }

    private func reapOnOwnThread(samplesPeakMemory: Bool) {
        let started = ContinuousClock.now
        let pid = pid
        let thread = Thread { [self] in
            var status: Int32 = 0
            var usage = rusage()
            var peakKB: Int?
            var result: pid_t
            if samplesPeakMemory {
                // Polled: the child's VmHWM is gone once it has exited.
                repeat {
                    peakKB = max(peakKB ?? 0, ProcessFigures.highWaterMarkKB(of: pid))
                    result = wait4(pid, &status, WNOHANG, &usage)
                    if result == 0 { usleep(20_000) }
                } while result == 0 || (result < 0 && errno == EINTR)
            } else {
                repeat { result = wait4(pid, &status, 0, &usage) } while result < 0 && errno == EINTR
            }
            func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
            let signal = status & 0x7f
            let elapsed = ContinuousClock.now - started
            let termination = Termination(
                status: result != pid ? -1 : signal == 0 ? (status >> 8) & 0xff : 128 + signal,
                signal: result == pid && signal != 0 ? signal : nil,
                cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
                peakResidentBytes: peakKB.map { $0 * 1024 },
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            let waiters = state.withLock { state in
                state.termination = termination
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter(termination) }
        }
        thread.name = "reaper \(pid)"
        thread.start()
    }

    // MARK: Platform

    #if os(Linux)
        /// glibc's `POSIX_SPAWN_SETSID` (2.26+), a GNU extension the Glibc module does not import.
        private static let setSessionFlag: Int32 = 0x80
    #else
        private static let setSessionFlag = Int32(POSIX_SPAWN_SETSID)
    #endif

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

/// `kill(2)` (a name the methods of ``ChildProcess`` hide).
private func send(_ signal: Int32, to pid: pid_t) -> Int32 {
    kill(pid, signal)
}

/// Two temporary files for a child's standard output and error.
private struct CapturedOutput {
    let directory: String
    var out: String { directory + "/out" }
    var err: String { directory + "/err" }

    init(executable: String) throws(ChildProcessError) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ChildProcessError(code: .outputUnavailable, executable: executable, errno: EIO)
        }
    }

    func result(_ status: Int32) -> ChildProcess.Result {
        ChildProcess.Result(
            status: status, stdout: FileManager.default.contents(atPath: out) ?? Data(),
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process the benchmarks measure on its own: spawned with `posix_spawn`, its output appended to a log
/// file, and reaped with `wait4` (its CPU); its peak RSS is its own `VmHWM`, read while it runs.
final class ChildProcess: @unchecked Sendable {
    /// How one child ended and what it used.
    struct Usage {
        var status: Int32
        var peakRSSMB: Double
        var cpuSeconds: Double
        var seconds: Double
    }

    let pid: pid_t
    let logFile: String
    private let started = ContinuousClock.now
    private var reaped = false

    /// Starts `executable ARGUMENTS` with `environment` (the whole environment), stdin from /dev/null and
    /// stdout and stderr appended to `logFile`.
    init(_ executable: String, _ arguments: [String], environment: [String: String], logFile: String) throws {
        self.logFile = logFile
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw BenchmarkFailure("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// Waits for the child to end (polling, so the caller's thread is not blocked for long) and returns its usage.
    func wait() async throws -> Usage {
        var status: Int32 = 0
        var usage = rusage()
        // wait4's ru_maxrss is no good here: posix_spawn's child shares this process's memory until exec, and
        // exec carries that high-water mark over, so the child would report this process's peak when larger.
        // The child's own mm high-water mark (VmHWM) is read while it runs instead; it only ever grows.
        var peakKB = 0
        while true {
            peakKB = max(peakKB, Self.highWaterMarkKB(of: pid))
            let result = wait4(pid, &status, WNOHANG, &usage)
            if result == pid { break }
            if result < 0 { throw BenchmarkFailure("wait4(\(pid)) failed: \(String(cString: strerror(errno)))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        reaped = true
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return Usage(
            status: exit, peakRSSMB: Double(peakKB) * 1024 / 1_000_000,
            cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            seconds: Benchmark.seconds(ContinuousClock.now - started))
    }

    /// `VmHWM` of a running process in KiB (0 once it has exited).
    static func highWaterMarkKB(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// Ends a child that runs until told (a server): SIGTERM, then reaped.
    func terminate() async {
        guard !reaped else { return }
        kill(pid, SIGTERM)
        _ = try? await wait()
    }

    /// The last `lines` lines of the child's log, for an error message.
    func logTail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// User + system CPU seconds a running process and the children it has reaped used so far (`/proc/PID/stat`
    /// fields 14-17), plus those of its live children when `withLiveChildren` (PostgreSQL's backends).
    static func cpuSeconds(of pid: pid_t, withLiveChildren: Bool = false) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func fields(_ pid: String) -> [Substring]? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After "pid (comm)": field 3 (state) onwards.
            return stat[stat.index(after: close)...].split(separator: " ")
        }
        guard let own = fields("\(pid)") else { return 0 }
        func number(_ f: [Substring], _ field: Int) -> Double { Double(f[field - 3]) ?? 0 }
        var total = (number(own, 14) + number(own, 15) + number(own, 16) + number(own, 17)) / ticks
        if withLiveChildren, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries where entry.first?.isNumber == true {
                guard let f = fields(entry), f.count > 15, Int32(f[1]) == pid else { continue }
                total += (number(f, 14) + number(f, 15)) / ticks
            }
        }
        return total
    }
}

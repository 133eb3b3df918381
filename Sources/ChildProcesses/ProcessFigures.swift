import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a running process has used so far, read from `/proc` (any process, a child or not: the benchmarks measure
/// the PostgreSQL server this way).
public enum ProcessFigures {
    /// `VmHWM` (peak resident set) of a running process in KiB; 0 once it has exited.
    public static func highWaterMarkKB(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// User + system CPU seconds a running process and the children it has reaped used so far (`/proc/PID/stat`
    /// fields 14-17), plus those of its live children when `withLiveChildren` (PostgreSQL's backends).
    public static func cpuSeconds(of pid: pid_t, withLiveChildren: Bool = false) -> Double {
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

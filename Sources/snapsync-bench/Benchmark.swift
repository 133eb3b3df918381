import ChildProcesses
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Helpers every benchmark uses.
enum Benchmark {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Peak resident set size of this process in MB (`ru_maxrss`, KiB on Linux).
    static func peakRSS() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) * 1024 / 1_000_000
    }

    enum CPUOf { case process, children }

    /// User + system CPU seconds of this process, or of its waited-for children (`getrusage`).
    static func cpuSeconds(_ of: CPUOf) -> Double {
        var usage = rusage()
        getrusage(of == .process ? RUSAGE_SELF.rawValue : RUSAGE_CHILDREN.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Runs one psql command (`-c`) against `conninfo`; a failure throws with psql's message.
    static func psql(_ psql: String, conninfo: String, command: String) throws {
        let result = try ChildProcess.runBlocking(
            URL(fileURLWithPath: "/usr/bin/env"),
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", command])
        guard result.status == 0 else { throw BenchmarkFailure("psql \(command) failed: \(result.stderr)") }
    }

    /// The last `lines` lines of a child's log, for an error message.
    static func tail(of logFile: String, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// The median of `values` (not empty).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// A benchmark that could not measure what it should (wrong result, missing tool).
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import ArgumentParser
import Foundation
import Logging
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// `snapsync-bench copy`: COPY throughput of the Postgres module next to `psql \copy` of the same rows.
///
/// Generates contact-like rows deterministically (about 700 bytes each, like crm.contacts), writes them once as
/// COPY text to a temporary file, then loads them into a fresh table (uuid primary key) alternately through
/// `PostgresConnection.copy` (typed values encoded by the module) and through `psql -c "\copy ... from FILE"`,
/// for a few rounds; prints each load's rows/s, the medians and their ratio, and checks that both paths stored
/// identical rows. Uses `SNAPSYNC_DATABASE_URL` (or `--database-url`), else a throwaway local cluster.
struct CopyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "COPY rows/s through the Postgres module next to psql \\copy.")

    @Option(help: "Rows per load.") var rows = 1_000_000
    @Option(help: "Rounds (each loads once through the module and once through psql).") var rounds = 3
    @Option(help: "libpq URL or conninfo (default: SNAPSYNC_DATABASE_URL, else a throwaway local cluster).")
    var databaseURL: String?
    @Option(help: "The psql binary.") var psql = "psql"

    func validate() throws {
        guard rows > 0, rounds > 0 else { throw ValidationError("--rows and --rounds must be positive") }
    }

    func run() async throws {
        let logger = Logger(label: "snapsync.bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var cluster: PostgresLocalCluster?
        let conninfo: String
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["SNAPSYNC_DATABASE_URL"], !url.isEmpty {
            conninfo = url
        } else {
            print("starting a throwaway local PostgreSQL cluster (durable settings)")
            let started = try await PostgresLocalCluster.start(options: .init(fastUnsafeSettings: false))
            cluster = started
            conninfo = started.conninfo
        }
        do {
            try await measure(conninfo: conninfo, logger: logger)
        } catch {
            try? await cluster?.stop()
            throw error
        }
        try await cluster?.stop()
    }

    private func measure(conninfo: String, logger: Logger) async throws {
        var clock = ContinuousClock.now
        let data = CopyBenchmarkRows(count: rows)
        let generated = ContinuousClock.now - clock
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-bench-\(getpid()).copy")
        clock = .now
        let bytes = try data.writeCopyText(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        print(
            "generated \(rows) rows in \(Benchmark.seconds(generated), digits: 2) s; COPY text \(bytes / 1_000_000) MB "
                + "(\(bytes / rows) bytes/row) written in \(Benchmark.seconds(ContinuousClock.now - clock), digits: 2) s"
        )

        let connection = try await PostgresConnection.connect(conninfo, logger: logger)
        let version = try await connection.query("show server_version").first?.decode(String.self, at: 0) ?? "?"
        print("server: PostgreSQL \(version); \(rounds) rounds, alternating order")

        var moduleRates: [Double] = []
        var psqlRates: [Double] = []
        var moduleCPU: [Double] = []
        var psqlCPU: [Double] = []
        var checksums: Set<String> = []
        for round in 1...rounds {
            var line = "round \(round):"
            let order: [Path] = round % 2 == 1 ? [.module, .psql] : [.psql, .module]
            for path in order {
                let table = PostgresIdentifier("bench_copy_\(path)")
                try await connection.run { connection in
                    try connection.execute("drop table if exists \(table)")
                    try connection.execute("create table \(table) (\(CopyBenchmarkRows.tableDefinition))")
                    _ = try? connection.execute("checkpoint")  // start each load from a clean WAL state (superuser)
                }
                let cpuBefore = Benchmark.cpuSeconds(path == .module ? .process : .children)
                let start = ContinuousClock.now
                switch path {
                case .module:
                    let copied = try await connection.run { connection in
                        try connection.copy(into: table, columns: CopyBenchmarkRows.columns) { writer in
                            try data.write(to: &writer)
                        }
                    }
                    guard copied == rows else {
                        throw BenchmarkFailure("module copied \(copied) rows, expected \(rows)")
                    }
                case .psql:
                    try runPsql(conninfo: conninfo, table: table, file: file)
                }
                let seconds = Benchmark.seconds(ContinuousClock.now - start)
                let cpu = Benchmark.cpuSeconds(path == .module ? .process : .children) - cpuBefore
                let rate = Double(rows) / seconds
                if path == .module {
                    moduleRates.append(rate)
                    moduleCPU.append(cpu)
                } else {
                    psqlRates.append(rate)
                    psqlCPU.append(cpu)
                }
                line += "  \(path) \(Int(rate)) rows/s (\(seconds, digits: 2) s, client CPU \(cpu, digits: 2) s)"
                let check = try await connection.query(
                    """
                    select count(*), md5(string_agg(md5(t::text), '' order by t.id)) from \(table) t
                    """)
                let count = try check.first?.decode(Int64.self, at: 0) ?? 0
                guard count == rows else { throw BenchmarkFailure("\(path) stored \(count) rows, expected \(rows)") }
                checksums.insert(try check.first?.decode(String.self, at: 1) ?? "")
            }
            print(line)
        }
        try await connection.run { connection in
            for path in [Path.module, .psql] {
                try connection.execute("drop table if exists \(PostgresIdentifier("bench_copy_\(path)"))")
            }
        }
        await connection.close()
        guard checksums.count == 1 else { throw BenchmarkFailure("the module and psql stored different rows") }

        let module = Benchmark.median(moduleRates)
        let baseline = Benchmark.median(psqlRates)
        let ratio = module / baseline
        print(
            "median: module \(Int(module)) rows/s, psql \\copy \(Int(baseline)) rows/s, module/psql = \(ratio, digits: 3) "
                + (ratio >= 0.8 ? "(target >= 0.80 met)" : "(BELOW the 0.80 target)"))
        print(
            "client CPU (median): module process \(Benchmark.median(moduleCPU), digits: 2) s, psql \(Benchmark.median(psqlCPU), digits: 2) s "
                + "for \(rows) rows; the rest of each load is the server's COPY (CPU-bound in the backend)")
        print("rows identical on both paths (md5 \(checksums.first!)); peak RSS \(Int(Benchmark.peakRSS())) MB")
    }

    private enum Path: String, CustomStringConvertible {
        case module, psql
        var description: String { rawValue }
    }

    private func runPsql(conninfo: String, table: PostgresIdentifier, file: URL) throws {
        let columns = CopyBenchmarkRows.columns.map { PostgresIdentifier($0).description }.joined(separator: ", ")
        try Benchmark.psql(psql, conninfo: conninfo, command: "\\copy \(table) (\(columns)) from '\(file.path)'")
    }
}

extension DefaultStringInterpolation {
    mutating func appendInterpolation(_ value: Double, digits: Int) {
        appendLiteral(String(format: "%.\(digits)f", value))
    }
}

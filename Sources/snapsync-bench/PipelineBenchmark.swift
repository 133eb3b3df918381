import ArgumentParser
import ChildProcesses
import Foundation
import HTTP
import Logging
import Postgres
import SyncCore
import SyncStore

#if canImport(Glibc)
    import Glibc
#endif

/// `snapsync-bench pipeline`: the real `snapsync` binary end to end against a throwaway PostgreSQL and an
/// `exchange-sim serve` process, each in its own process so each is measured on its own.
///
/// Seeds M mailboxes with N/2 appointments (the simulator's deterministic seed: recurring series with
/// exceptions, attendees) and N/2 tasks each, and the CRM with one user per mailbox and C contacts covered by 5
/// users each. Then measures, each as a separate `snapsync` process:
/// 1. an inbound snapshot into the blank CRM (appointments and tasks),
/// 2. one live-sync pass (`sync run --once`) from the states the snapshot stored, after 1% of the CRM's
///    appointments and tasks changed (outbox) and 1% of each mailbox's tasks changed in Exchange (pulled),
/// 3. an outbound snapshot into empty mailboxes (a fresh simulator; links and sync states cleared: contacts,
///    appointments and tasks).
/// For each it prints items, seconds, items/s, snapsync's peak RSS and CPU, and the CPU PostgreSQL and the
/// simulator used meanwhile. The baseline, in the same run: raw `COPY` (psql) of the same rows into copies of
/// the same tables (same indexes), so the snapshots read as a ratio of what the database alone can take.
/// With `--protocol both` (the default) the same data goes through EWS, then through Graph (a fresh cluster and
/// simulator each), and the figures of both are printed side by side with their ratio.
struct PipelineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Inbound, outbound and live-sync throughput of snapsync against exchange-sim, next to raw COPY.")

    @Option(name: .customLong("protocol"), help: "How snapsync reaches the simulator: ews, graph or both.")
    var protocols: BenchmarkProtocols = .both
    @Option(help: "Mailboxes.") var mailboxes = 100
    @Option(help: "Items per mailbox (half appointments, half tasks).") var items = 2_000
    @Option(help: "CRM contacts, each covered by 5 users.") var contacts = 20_000
    @Option(help: "Multiplies items per mailbox and contacts.") var scale = 1.0
    @Option(help: "snapsync --workers.") var workers = 4
    @Option(help: "exchange-sim --threads.") var simulatorThreads = 2
    @Option(
        help: ArgumentHelp(
            "An extra option for both snapshot steps (repeatable), e.g. --snapshot-option=--analyze-threshold=0.5.",
            valueName: "option"))
    var snapshotOption: [String] = []
    @Option(
        help: ArgumentHelp(
            "A postgresql.conf line for the benchmark's cluster (repeatable), e.g. --postgres-setting \"shared_buffers = '1GB'\".",
            valueName: "setting"))
    var postgresSetting: [String] = []
    @Option(help: "Directory with the snapsync and exchange-sim binaries (default: this binary's).") var binaries:
        String?
    @Option(help: "The psql binary (the COPY baseline).") var psql = "psql"
    @Flag(help: "Keep the work directory (logs of every process).") var keep = false
    @Option(
        help:
            "Profile PostgreSQL: print the N statements that took the most server time in each step (pg_stat_statements)."
    )
    var statements = 0
    @Option(
        help:
            "Profile PostgreSQL: log the plan of every statement slower than this many milliseconds (auto_explain) to postgres.log in the work directory (use with --keep)."
    )
    var explainSlowerThan: Int?

    func validate() throws {
        guard mailboxes > 0, items >= 2, contacts >= 0, scale > 0, workers > 0 else {
            throw ValidationError("--mailboxes, --items, --scale and --workers must be positive")
        }
    }

    var itemsPerMailbox: Int { Int((Double(items) * scale).rounded()) }
    var contactCount: Int { Int((Double(contacts) * scale).rounded()) }

    func run() async throws {
        let directory =
            binaries
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-bench-pipeline-\(getpid())")
            .path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        say("work directory \(work) (process logs)")
        var profiling =
            statements > 0
            ? [
                "shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = all",
                "pg_stat_statements.track_planning = on",
            ] : []
        if let explainSlowerThan {
            profiling += [
                "session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = \(explainSlowerThan)",
                "auto_explain.log_nested_statements = on",
            ]
        }
        var results: [(ExchangeProtocol, [PipelineFigures])] = []
        for exchangeProtocol in protocols.members {
            let protocolWork = work + "/" + exchangeProtocol.rawValue
            try FileManager.default.createDirectory(atPath: protocolWork, withIntermediateDirectories: true)
            say("")
            say("== \(exchangeProtocol.rawValue)")
            let cluster = try await PostgresLocalCluster.start(
                options: .init(extraSettings: profiling + postgresSetting))
            var bench = PipelineRun(
                benchmark: self, exchangeProtocol: exchangeProtocol, binaries: directory, work: protocolWork,
                cluster: cluster)
            do {
                // The COPY baseline depends on the data only: measured once.
                results.append((exchangeProtocol, try await bench.measure(baseline: results.isEmpty)))
            } catch {
                await bench.simulator?.terminate()
                try? await cluster.stop()
                say("benchmark failed; logs kept in \(work)")
                throw error
            }
            await bench.simulator?.terminate()
            try? FileManager.default.copyItem(atPath: cluster.logFile, toPath: protocolWork + "/postgres.log")
            try await cluster.stop()
        }
        if results.count > 1 {
            say("")
            for line in PipelineComparison(results: results).lines { say(line) }
        }
        if !keep { try? FileManager.default.removeItem(atPath: work) }
    }
}

/// `--protocol`: the protocols the benchmark runs the data through.
enum BenchmarkProtocols: String, ExpressibleByArgument, CaseIterable {
    case ews, graph, both

    var members: [ExchangeProtocol] {
        switch self {
        case .ews: [.ews]
        case .graph: [.graph]
        case .both: [.ews, .graph]
        }
    }
}

/// One measured step: its figures, as printed.
struct PipelineFigures {
    var name: String
    var items: Int
    var usage: ChildProcess.Termination
    var postgresCPU: Double
    var simulatorCPU: Double

    var rate: Double { Double(items) / usage.seconds }

    var line: String {
        let total = usage.cpuSeconds + postgresCPU + simulatorCPU
        return String(
            format:
                "%-9@ %9d items %8.1f s %9.0f items/s   peak RSS %6.1f MB   CPU s: snapsync %6.1f  postgres %6.1f (%3.0f%% of CPU, %3.0f%% of wall)  exchange-sim %6.1f",
            name as NSString, items, usage.seconds, rate, Double(usage.peakResidentBytes ?? 0) / 1_000_000,
            usage.cpuSeconds,
            postgresCPU, 100 * postgresCPU / max(total, 0.001), 100 * postgresCPU / usage.seconds, simulatorCPU)
    }
}

/// The state of one benchmark run: the cluster, the current simulator process and the environment snapsync
/// runs with.
struct PipelineRun {
    let benchmark: PipelineBenchmark
    let exchangeProtocol: ExchangeProtocol
    let binaries: String
    let work: String
    let cluster: PostgresLocalCluster
    var simulator: ChildProcess?
    var endpoint = ""
    let logger = Logger(label: "snapsync.bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let addresses: [String]

    init(
        benchmark: PipelineBenchmark, exchangeProtocol: ExchangeProtocol, binaries: String, work: String,
        cluster: PostgresLocalCluster
    ) {
        self.benchmark = benchmark
        self.exchangeProtocol = exchangeProtocol
        self.binaries = binaries
        self.work = work
        self.cluster = cluster
        addresses = (1...benchmark.mailboxes).map { String(format: "bench%04d@example.com", $0) }
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SNAPSYNC_") }
        env["SNAPSYNC_DATABASE_URL"] = cluster.conninfo
        env["SNAPSYNC_EWS_URL"] = endpoint
        env["SNAPSYNC_EWS_USER"] = "snapsync@example.com"
        env["SNAPSYNC_EWS_PASSWORD"] = "snapsync-demo"
        if exchangeProtocol == .graph, !endpoint.isEmpty {
            // The simulator's default app registration; its token endpoint is under the same root as Graph.
            let root = endpoint.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "")
            env["SNAPSYNC_EXCHANGE_PROTOCOL"] = "graph"
            env["SNAPSYNC_GRAPH_URL"] = root + "/v1.0"
            env["SNAPSYNC_GRAPH_AUTHORITY"] = root
            env["SNAPSYNC_GRAPH_TENANT"] = "bench.example"
            env["SNAPSYNC_GRAPH_CLIENT_ID"] = "snapsync-demo-app"
            env["SNAPSYNC_GRAPH_CLIENT_SECRET_FILE"] = graphSecretFile
        }
        return env
    }

    var graphSecretFile: String { work + "/graph-client-secret" }

    mutating func measure(baseline measuresBaseline: Bool) async throws -> [PipelineFigures] {
        if exchangeProtocol == .graph {
            try Data("snapsync-demo-secret".utf8).write(to: URL(fileURLWithPath: graphSecretFile))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: graphSecretFile)
        }
        let perMailbox = benchmark.itemsPerMailbox
        say(
            "data: \(addresses.count) mailboxes x \(perMailbox) items (\(perMailbox / 2) appointments, \(perMailbox - perMailbox / 2) tasks), "
                + "\(benchmark.contactCount) contacts x 5 covering users; snapsync --workers \(benchmark.workers)")
        try await snapsync(["migrate"], log: "migrate")
        if benchmark.statements > 0 { try await sql("CREATE EXTENSION pg_stat_statements") }
        try await startSimulator(log: "exchange-sim-1")
        var clock = ContinuousClock.now
        try await seedExchange()
        say(String(format: "seeded exchange-sim in %.1f s", Benchmark.seconds(ContinuousClock.now - clock)))
        clock = .now
        try await seedCRM()
        say(
            String(
                format: "seeded the CRM (users, contacts, coverage) in %.1f s",
                Benchmark.seconds(ContinuousClock.now - clock)))

        var figures: [PipelineFigures] = []
        figures.append(
            try await step(
                "inbound", ["snapshot", "inbound"],
                items: {
                    try await $0.count(
                        "SELECT (SELECT count(*) FROM crm.appointments) + (SELECT count(*) FROM crm.tasks)")
                }))
        say(figures.last!.line)

        // Live sync from the states the inbound snapshot stored: 1% changed on each side.
        try await snapsync(["sync", "enable", "--note", "benchmark"], log: "sync-enable")
        try await changeOnePercent()
        let queued = try await count("SELECT count(*) FROM sync.outbox")
        figures.append(
            try await step(
                "live-sync", ["sync", "run", "--once"],
                items: { db in
                    let left = try await db.count("SELECT count(*) FROM sync.outbox")
                    return queued - left
                        + (try await db.count(
                            "SELECT count(*) FROM crm.tasks WHERE subject LIKE 'bench: changed in Exchange%'"))
                }))
        say(figures.last!.line)

        // Outbound into empty mailboxes: a fresh simulator, and the CRM no longer linked to anything.
        await simulator?.terminate()
        try await startSimulator(log: "exchange-sim-2")
        try await sql("DELETE FROM sync.links; DELETE FROM sync.folder_states")
        figures.append(
            try await step(
                "outbound", ["snapshot", "outbound"],
                items: {
                    try await $0.count("SELECT count(*) FROM sync.links")
                }))
        say(figures.last!.line)

        guard measuresBaseline else {
            say("")
            for figure in figures { say(figure.line) }
            return figures
        }
        let baseline = try await copyBaseline()
        say("")
        say("baseline: psql COPY of the same rows into copies of the same tables (same indexes), same run")
        say(
            String(
                format:
                    "  inbound rows (appointments, exceptions, attendees, tasks): %d rows in %.1f s = %.0f rows/s; inbound snapshot / COPY = %.2f (items/s vs rows/s: %.0f / %.0f)",
                baseline.inboundRows, baseline.inboundSeconds, Double(baseline.inboundRows) / baseline.inboundSeconds,
                figures[0].rate / (Double(baseline.inboundItems) / baseline.inboundSeconds), figures[0].rate,
                Double(baseline.inboundItems) / baseline.inboundSeconds))
        say(
            String(
                format:
                    "  outbound rows read (COPY TO of contacts x coverage, appointments, tasks): %d rows in %.1f s = %.0f rows/s",
                baseline.outboundRows, baseline.outboundSeconds,
                Double(baseline.outboundRows) / baseline.outboundSeconds))
        say("")
        for figure in figures { say(figure.line) }
        return figures
    }

    // MARK: Steps

    /// Runs `snapsync ARGUMENTS` as one measured step; `items` counts what it did.
    func step(
        _ name: String, _ arguments: [String], items: (PostgresConnection) async throws -> Int
    ) async throws -> PipelineFigures {
        guard let simulatorPID = simulator?.pid, let postmaster = cluster.postmasterPID() else {
            throw BenchmarkFailure("the simulator or PostgreSQL is not running")
        }
        if benchmark.statements > 0 { try await sql("SELECT pg_stat_statements_reset()") }
        let postgresBefore = ProcessFigures.cpuSeconds(of: postmaster, withLiveChildren: true)
        let simulatorBefore = ProcessFigures.cpuSeconds(of: simulatorPID)
        let workers =
            arguments.first == "snapshot" ? ["--workers", "\(benchmark.workers)"] + benchmark.snapshotOption : []
        let usage = try await snapsync(arguments + workers, log: name)
        let postgres = ProcessFigures.cpuSeconds(of: postmaster, withLiveChildren: true) - postgresBefore
        let sim = ProcessFigures.cpuSeconds(of: simulatorPID) - simulatorBefore
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        let count = try await items(db)
        if benchmark.statements > 0 {
            let totals = try await db.query(
                """
                SELECT round(sum(total_exec_time))::bigint, round(sum(total_plan_time))::bigint, sum(calls)::bigint
                FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
                """)[0]
            say(
                "  \(name): \(try totals.decode(Int64.self, at: 2)) statements, \(try totals.decode(Int64.self, at: 0)) ms executing, "
                    + "\(try totals.decode(Int64.self, at: 1)) ms planning")
            say("  \(name): the \(benchmark.statements) statements with the most server time")
            for row in try await db.query(
                """
                SELECT round(total_exec_time)::bigint, calls, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
                FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT $1
                """, [Int64(benchmark.statements)])
            {
                say(
                    String(
                        format: "  %8d ms %8d calls %9d rows  ", try row.decode(Int64.self, at: 0),
                        try row.decode(Int64.self, at: 1),
                        try row.decode(Int64.self, at: 2)) + (try row.decode(String.self, at: 3)))
            }
        }
        await db.close()
        return PipelineFigures(name: name, items: count, usage: usage, postgresCPU: postgres, simulatorCPU: sim)
    }

    /// Runs the snapsync binary; a failure exit throws with the end of its log.
    @discardableResult
    func snapsync(_ arguments: [String], log: String) async throws -> ChildProcess.Termination {
        let logFile = "\(work)/\(log).log"
        let child = try ChildProcess.start(
            binaries + "/snapsync", arguments + ["--log-format", "json", "--log-level", "warning"],
            environment: environment, standardOutput: .file(logFile), standardError: .standardOutput,
            samplesPeakMemory: true)
        let usage = await child.wait()
        guard usage.status == 0 else {
            throw BenchmarkFailure(
                "snapsync \(arguments.joined(separator: " ")) exited \(usage.status):\n\(Benchmark.tail(of: logFile))")
        }
        return usage
    }

    /// Starts `exchange-sim serve` on a free port with every mailbox created and waits for its EWS line.
    mutating func startSimulator(log: String) async throws {
        let logFile = "\(work)/\(log).log"
        let arguments =
            ["serve", "--port", "0", "--threads", "\(benchmark.simulatorThreads)"]
            + addresses.flatMap { ["--mailbox", $0] }
        let child = try ChildProcess.start(
            binaries + "/exchange-sim", arguments, standardOutput: .file(logFile), standardError: .standardOutput)
        simulator = child
        for _ in 0..<600 {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            if let range = text.range(of: "EWS at ") {
                endpoint = String(text[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," })
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchmarkFailure("exchange-sim did not start:\n\(Benchmark.tail(of: logFile))")
    }

    /// Seeds every mailbox through the control API (deterministic items, a seed per mailbox).
    func seedExchange() async throws {
        let client = try HTTPClient(
            configuration: {
                var c = HTTPClient.Configuration(); c.proxy = .direct; return c
            }(), logger: logger)
        defer { client.shutdown() }
        let control = endpoint.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/sim/seed")
        let appointments = benchmark.itemsPerMailbox / 2
        let tasks = benchmark.itemsPerMailbox - appointments
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, address) in addresses.enumerated() {
                if index >= 4 { try await group.next() }
                group.addTask {
                    let body =
                        #"{"mailbox":"\#(address)","seed":\#(index + 1),"appointments":\#(appointments),"tasks":\#(tasks)}"#
                    let response = try await client.execute(
                        HTTPRequest(
                            method: .post, url: control, headers: ["Content-Type": "application/json"],
                            body: Array(body.utf8), timeout: .seconds(600)))
                    guard response.status == 200 else {
                        throw BenchmarkFailure("seeding \(address): HTTP \(response.status)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One CRM user per mailbox; contacts each covered by 5 users (consecutive, wrapping).
    func seedCRM() async throws {
        var sample = SampleRecords(seed: 2026)
        let users = addresses.enumerated().map { index, address in
            CRMUser(
                id: sample.uuid(), login: "bench\(index + 1)", displayName: "Bench User \(index + 1)", mailbox: address)
        }
        let people = (0..<benchmark.contactCount).map { sample.contact(index: $0) }
        let coverage = SampleRecords.coverage(of: people, by: users.map(\.id), perContact: 5)
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        try await db.withTransaction { db in
            try CRMWriter.insert(users: users, db: db)
            try CRMWriter.insert(contacts: people, db: db)
            try CRMWriter.insert(coverage: coverage, db: db)
        }
        _ = try await db.execute("ANALYZE")
        await db.close()
    }

    /// 1% of the CRM's appointments and tasks change (queued by the outbox triggers), and 1% of each mailbox's
    /// tasks change in Exchange (through EWS, as Outlook would), for the pull.
    func changeOnePercent() async throws {
        try await sql(
            """
            UPDATE crm.appointments SET location = 'bench: changed in the CRM', version = version + 1, updated_at = now()
              WHERE id IN (SELECT id FROM crm.appointments ORDER BY id LIMIT (SELECT count(*) / 100 FROM crm.appointments));
            UPDATE crm.tasks SET body = 'bench: changed in the CRM', version = version + 1, updated_at = now()
              WHERE id IN (SELECT id FROM crm.tasks ORDER BY id LIMIT (SELECT count(*) / 100 FROM crm.tasks));
            """)
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        let owners = try await CRMStore.mailboxOwners(nil, db: db)
        await db.close()
        try await PipelineExchangeEdits(endpoint: endpoint, logger: logger)
            .renameTasks(owners, fraction: 0.01, subject: "bench: changed in Exchange")
    }

    // MARK: Baseline

    struct Baseline {
        var inboundRows = 0
        var inboundItems = 0
        var inboundSeconds = 0.0
        var outboundRows = 0
        var outboundSeconds = 0.0
    }

    /// psql: the inbound snapshot's rows written once to files, then timed `COPY FROM` into copies of their
    /// tables; the outbound snapshot's rows timed `COPY TO`.
    func copyBaseline() async throws -> Baseline {
        var baseline = Baseline()
        let tables = ["appointments", "appointment_exceptions", "appointment_attendees", "tasks"]
        try await sql(
            "CREATE SCHEMA bench_baseline; "
                + tables.map { "CREATE TABLE bench_baseline.\($0) (LIKE crm.\($0) INCLUDING ALL);" }.joined(
                    separator: " "))
        for table in tables {
            try psqlRun("\\copy crm.\(table) to '\(work)/\(table).copy'")
        }
        let start = ContinuousClock.now
        for table in tables {
            try psqlRun("\\copy bench_baseline.\(table) from '\(work)/\(table).copy'")
        }
        baseline.inboundSeconds = Benchmark.seconds(ContinuousClock.now - start)
        baseline.inboundRows = try await count(
            "SELECT " + tables.map { "(SELECT count(*) FROM bench_baseline.\($0))" }.joined(separator: " + "))
        baseline.inboundItems = try await count(
            "SELECT (SELECT count(*) FROM bench_baseline.appointments) + (SELECT count(*) FROM bench_baseline.tasks)")
        try await sql("DROP SCHEMA bench_baseline CASCADE")
        for table in tables { try? FileManager.default.removeItem(atPath: "\(work)/\(table).copy") }

        let read = ContinuousClock.now
        try psqlRun(
            "\\copy (SELECT c.*, v.user_id FROM crm.coverage v JOIN crm.contacts c ON c.id = v.contact_id) to '/dev/null'"
        )
        try psqlRun("\\copy crm.appointments to '/dev/null'")
        try psqlRun("\\copy crm.tasks to '/dev/null'")
        baseline.outboundSeconds = Benchmark.seconds(ContinuousClock.now - read)
        baseline.outboundRows = try await count(
            "SELECT (SELECT count(*) FROM crm.coverage) + (SELECT count(*) FROM crm.appointments) + (SELECT count(*) FROM crm.tasks)"
        )
        return baseline
    }

    func psqlRun(_ command: String) throws {
        try Benchmark.psql(benchmark.psql, conninfo: cluster.conninfo, command: command)
    }

    // MARK: SQL

    func sql(_ statements: String) async throws {
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        try await db.executeScript(statements)
        await db.close()
    }

    func count(_ query: String) async throws -> Int {
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        let value = try await db.count(query)
        await db.close()
        return value
    }
}

extension PostgresConnection {
    /// The first column of the first row of `query`, as an Int.
    func count(_ query: String) async throws -> Int {
        Int(try self.query(query).first?.decode(Int64.self, at: 0) ?? 0)
    }
}

/// Prints a line at once (unbuffered, also when stdout is a file): each figure appears as it is measured.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

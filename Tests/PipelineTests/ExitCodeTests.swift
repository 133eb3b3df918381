import EWS
import ExchangeSimulator
import Foundation
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Testing
import TestSupport

/// The README's exit-code table, case by case, with the real `snapsync` binary against a real PostgreSQL and the
/// simulator: Exchange or PostgreSQL unavailable exits 69 and leaves the run resumable, a wrong setting exits 78 and
/// names it, and no output of a run with a wrong database URL shows its password.
@Suite struct ExitCodeTests {
    static let mailbox = "exits@example.com"
    static let password = "Sw0rdfish-7"

    /// What a case changes in the environment before snapsync runs.
    enum Setup: Sendable {
        case none
        /// The simulator answers HTTP 503 to every request.
        case exchangeAnswers503
        /// The simulator's EWS port is closed (connection refused) until the case brings it back.
        case exchangeDown
        /// `SNAPSYNC_EWS_URL` names a port nothing listens on.
        case exchangeUnreachable
        /// `SNAPSYNC_EWS_URL` has the simulator's host and port but a path that is not EWS.
        case wrongEWSPath
        case wrongEWSPassword
        /// A bearer token (which wins over the password) Exchange refuses.
        case wrongEWSToken
        /// `SNAPSYNC_DATABASE_URL` made from the test database's (`%@` is its host:port, `%d` its name).
        case databaseURL(String)
        /// A PostgreSQL server that refuses the password.
        case databasePasswordRefused
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var setup: Setup
        var arguments: [String]
        var exitCode: Int32
        /// Text the `snapsync: ...` line on stderr must contain (the setting it names, or what is unavailable).
        var message: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "Exchange answers 503 past the retry budget", setup: .exchangeAnswers503,
            arguments: ["snapshot", "inbound"],
            exitCode: 69, message: "Exchange is unavailable"),
        Case(
            name: "Exchange down (port closed)", setup: .exchangeDown, arguments: ["snapshot", "inbound"],
            exitCode: 69, message: "Exchange is unavailable"),
        Case(
            name: "Exchange unreachable from the start", setup: .exchangeUnreachable,
            arguments: ["snapshot", "inbound"],
            exitCode: 69, message: "Exchange is unavailable"),
        Case(
            name: "wrong EWS URL (not an EWS path)", setup: .wrongEWSPath, arguments: ["snapshot", "inbound"],
            exitCode: 78, message: "SNAPSYNC_EWS_URL"),
        Case(
            name: "EWS credentials refused (snapshot)", setup: .wrongEWSPassword, arguments: ["snapshot", "inbound"],
            exitCode: 78, message: "SNAPSYNC_EWS_PASSWORD"),
        Case(
            name: "EWS token refused (snapshot)", setup: .wrongEWSToken, arguments: ["snapshot", "inbound"],
            exitCode: 78, message: "SNAPSYNC_EWS_TOKEN"),
        Case(
            name: "EWS credentials refused (verify)", setup: .wrongEWSPassword, arguments: ["verify"],
            exitCode: 78, message: "SNAPSYNC_EWS_PASSWORD"),
        Case(
            name: "EWS credentials refused (sync run --once)", setup: .wrongEWSPassword,
            arguments: ["sync", "run", "--once"],
            exitCode: 78, message: "SNAPSYNC_EWS_PASSWORD"),
        Case(
            name: "malformed database URL", setup: .databaseURL("postgresql://crm:\(password)@%@/%d?sslmode"),
            arguments: ["snapshot", "inbound"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "malformed database URL (doctor)", setup: .databaseURL("postgresql://crm:\(password)@[%@/%d"),
            arguments: ["doctor"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "database URL with an unencoded @ in its password",
            setup: .databaseURL("postgresql://crm:\(password)@x@%@/%d"),
            arguments: ["snapshot", "inbound"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "bad sslmode", setup: .databaseURL("postgresql://crm:\(password)@%@/%d?sslmode=bogus"),
            arguments: ["snapshot", "inbound"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "bad port", setup: .databaseURL("postgresql://crm:\(password)@127.0.0.1:54x2/%d"),
            arguments: ["verify"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "missing database", setup: .databaseURL("postgresql://postgres:\(password)@%@/no_such_database"),
            arguments: ["snapshot", "inbound"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "wrong database password", setup: .databasePasswordRefused,
            arguments: ["snapshot", "inbound"], exitCode: 78, message: "SNAPSYNC_DATABASE_URL"),
        Case(
            name: "PostgreSQL unreachable", setup: .databaseURL("postgresql://crm:\(password)@127.0.0.1:1/%d"),
            arguments: ["sync", "run", "--once"], exitCode: 69, message: "PostgreSQL"),
    ]

    @Test(arguments: cases) func exitCodeAndMessage(_ testCase: Case) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox]) { env in
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: Self.mailbox, seed: 15, contacts: 5, appointments: 30, tasks: 10))
            var environment = Self.environment(env)
            var refusingServer: PasswordRefusingPostgresServer?
            switch testCase.setup {
            case .none: break
            case .exchangeAnswers503:
                env.simulator.control.setFaults(
                    FaultConfiguration(unavailable: .init(count: 1_000_000, retryAfterSeconds: 1)))
            case .exchangeDown: try await env.simulator.control.goDown()
            case .exchangeUnreachable: environment["SNAPSYNC_EWS_URL"] = "http://127.0.0.1:1/EWS/Exchange.asmx"
            case .wrongEWSPath:
                environment["SNAPSYNC_EWS_URL"] = "http://127.0.0.1:\(env.simulator.port)/EWS/Wrong.asmx"
            case .wrongEWSPassword: environment["SNAPSYNC_EWS_PASSWORD"] = "not-the-password"
            case .wrongEWSToken: environment["SNAPSYNC_EWS_TOKEN"] = "not-a-token"
            case .databaseURL(let template):
                let (hostPort, database) = try Self.hostPortAndDatabase(env)
                environment["SNAPSYNC_DATABASE_URL"] = template.replacingOccurrences(of: "%@", with: hostPort)
                    .replacingOccurrences(of: "%d", with: database)
            case .databasePasswordRefused:
                let server = try await PasswordRefusingPostgresServer()
                refusingServer = server
                environment["SNAPSYNC_DATABASE_URL"] = "postgresql://crm:\(Self.password)@127.0.0.1:\(server.port)/crm"
            }
            if testCase.arguments.starts(with: ["sync", "run"]) {
                // A queued CRM change for live sync to deliver.
                try await Self.queueTask(env)
            }
            let metrics = FileManager.default.temporaryDirectory.appendingPathComponent(
                "exit-\(UUID().uuidString).prom")
            defer { try? FileManager.default.removeItem(at: metrics) }
            let result = try await ChildProcess.run(
                KillAndResumeTests.binary,
                testCase.arguments + ["--log-format", "json", "--metrics-file", metrics.path],
                environment: environment)
            try await refusingServer?.shutdown()
            let plain = result.stderr.split(separator: "\n").filter { $0.hasPrefix("snapsync: ") }
            #expect(result.status == testCase.exitCode, "\(result.output)")
            #expect(plain.contains { $0.contains(testCase.message) }, "\(result.stderr)")
            let metricsText = (try? String(contentsOf: metrics, encoding: .utf8)) ?? ""
            #expect(
                metricsText.contains(
                    "snapsync_last_run_exit_code{command=\"\(testCase.arguments.prefix(2).joined(separator: "-"))\"} \(testCase.exitCode)"
                )
                    || metricsText.contains(
                        "snapsync_last_run_exit_code{command=\"\(testCase.arguments[0])\"} \(testCase.exitCode)"),
                "\(metricsText)")
            for output in [result.stderr, String(decoding: result.stdout, as: UTF8.self), metricsText] {
                #expect(!output.contains(Self.password), "\(output)")
            }
            if case .wrongEWSPassword = testCase.setup, testCase.arguments.starts(with: ["sync", "run"]) {
                // Refused credentials are not the item's fault: the change stays queued, never parked.
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM sync.outbox WHERE NOT parked AND coalesce(last_error_kind, 'transient') = 'transient'"
                    ) == 1)
            }
            if testCase.exitCode == 69 || testCase.exitCode == 78, testCase.arguments.starts(with: ["snapshot"]),
                try await env.count("SELECT count(*) FROM sync.runs") > 0
            {
                // The run is not over: it stays resumable, with no stage failed and nothing quarantined for it.
                #expect(try await env.count("SELECT count(*) FROM sync.runs WHERE status = 'running'") == 1)
                #expect(try await env.count("SELECT count(*) FROM sync.run_stages WHERE status = 'failed'") == 0)
                #expect(try await env.count("SELECT count(*) FROM sync.quarantine") == 0)
                if testCase.exitCode == 69 {
                    // Exchange is back: the next run of the same command (cron's) resumes the run and finishes it.
                    env.simulator.control.resetFaults()
                    try await env.simulator.control.comeUp()
                    let next = try await ChildProcess.run(
                        KillAndResumeTests.binary, testCase.arguments, environment: Self.environment(env))
                    #expect(next.status == 0, "\(next.output)")
                    #expect(
                        String(decoding: next.stdout, as: UTF8.self).contains("run 1 (resumed): completed"),
                        "\(next.output)")
                }
            }
        }
    }

    /// Exchange goes down in the middle of an inbound snapshot for longer than the retry budget: snapsync exits
    /// 69, the run stays unfinished, and once Exchange is back `snapsync resume` finishes it with every item.
    @Test func exchangeDownMidRunExits69AndResumeFinishesTheRun() async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox]) { env in
            _ = try env.simulator.control.seed(
                SeedRequest(mailbox: Self.mailbox, seed: 16, appointments: 120, tasks: 60))
            env.simulator.control.setFaults(FaultConfiguration(latencyMilliseconds: 400))
            let environment = Self.environment(env)
            async let first = ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "inbound", "--batch-size", "20", "--log-format", "json"],
                environment: environment)
            // Exchange goes down once the extract has begun, with most of its GetItem batches (0.4 s each) to come.
            // Waiting for the simulator's own count, not for a time, keeps a loaded machine from finishing the run
            // before the outage.
            let deadline = ContinuousClock.now + .seconds(60)
            while env.simulator.control.counters()["GetItem", default: 0] < 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await env.simulator.control.goDown()
            let down = try await first
            #expect(down.status == 69, "\(down.output)")
            #expect(down.stderr.contains("snapsync: Exchange is unavailable"), "\(down.stderr)")
            #expect(down.stderr.contains("snapsync resume"), "\(down.stderr)")
            #expect(try await env.count("SELECT count(*) FROM sync.runs WHERE status = 'running'") == 1)
            #expect(try await env.count("SELECT count(*) FROM sync.run_stages WHERE status = 'failed'") == 0)
            // The failure is an error line, the request given up after its retries a warning.
            #expect(
                Self.lines(down.stderr).contains { $0.level == "error" && $0.message.contains("Exchange") },
                "\(down.stderr)")
            #expect(
                Self.lines(down.stderr).contains {
                    $0.level == "warning" && $0.message == "EWS request gave up after retrying"
                },
                "\(down.stderr)")

            try await env.simulator.control.comeUp()
            env.simulator.control.resetFaults()
            let resumed = try await ChildProcess.run(
                KillAndResumeTests.binary, ["resume", "--log-format", "json"], environment: environment)
            #expect(resumed.status == 0, "\(resumed.output)")
            #expect(
                String(decoding: resumed.stdout, as: UTF8.self).contains("(resumed): completed"), "\(resumed.output)")
            #expect(try await env.count("SELECT count(*) FROM sync.runs WHERE status = 'completed'") == 1)
            #expect(
                try await env.count("SELECT count(*) FROM crm.appointments")
                    + (try await env.count("SELECT count(*) FROM crm.tasks")) == 180)
        }
    }

    /// A run that exits 4 says so at the levels alerts watch: the quarantined item is a warning, the run's end with
    /// errors an error.
    @Test func aRunEndingWithErrorsLogsThemAtWarningAndErrorLevels() async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox]) { env in
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            let series = UUID()
            // A weekly series on Mondays and Wednesdays with a cancelled occurrence on a Tuesday: Exchange cannot take it.
            try await db.execute(
                """
                INSERT INTO crm.appointments (id, owner_id, subject, starts_at, ends_at, is_all_day, is_private, categories,
                                              recurrence, updated_at, version)
                VALUES ($1, $2, 'Standup', '2024-03-04T09:00:00Z', '2024-03-04T09:30:00Z', false, false, '{}',
                        'FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240630', now(), 1)
                """, [series, env.owners[0].userID])
            try await db.execute(
                """
                INSERT INTO crm.appointment_exceptions (appointment_id, original_start, is_cancelled) VALUES ($1, '2024-03-12T09:00:00Z', true)
                """, [series])
            await db.close()
            let result = try await ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "outbound", "--kind", "appointments", "--log-format", "json"],
                environment: Self.environment(env))
            #expect(result.status == 4, "\(result.output)")
            let lines = Self.lines(result.stderr)
            #expect(lines.contains { $0.level == "warning" && $0.message == "item quarantined" }, "\(result.stderr)")
            #expect(
                lines.contains { $0.level == "error" && $0.message == "snapshot run ended with errors" },
                "\(result.stderr)")
            #expect(
                !lines.contains {
                    $0.level == "info" && ($0.message.contains("quarantined") || $0.message.contains("failed"))
                },
                "\(result.stderr)")
        }
    }

    /// A stage that fails (here the reconcile refusing to delete most of a folder's rows) is an error line, and so is
    /// the run's end: exit 4 is visible to an alert on level >= warning.
    @Test func aFailedStageIsAnErrorLine() async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox]) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 18, appointments: 30))
            let environment = Self.environment(env)
            let first = try await ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "inbound", "--kind", "appointments"], environment: environment)
            #expect(first.status == 0, "\(first.output)")
            let refs = try await env.source.itemRefs(in: env.owners[0], kind: .appointments, after: nil, pageSize: 1000)
                .refs
            _ = try await env.source.delete(Array(refs.prefix(25)), in: env.owners[0], kind: .appointments)
            let refused = try await ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "inbound", "--kind", "appointments", "--log-format", "json"],
                environment: environment)
            #expect(refused.status == 4, "\(refused.output)")
            let lines = Self.lines(refused.stderr)
            #expect(lines.contains { $0.level == "error" && $0.message == "stage failed" }, "\(refused.stderr)")
            #expect(
                lines.contains { $0.level == "error" && $0.message == "snapshot run ended with errors" },
                "\(refused.stderr)")
        }
    }

    /// A mailbox Exchange does not know is reported and `verify` goes on with the others: exit 4, not 1.
    @Test(arguments: ExchangeProtocol.allCases)
    func verifyReportsAMailboxExchangeDoesNotKnowAndChecksTheOthers(_ sourceProtocol: ExchangeProtocol) async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox], sourceProtocol: sourceProtocol) { env in
            _ = try env.simulator.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 17, appointments: 5, tasks: 5))
            let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
            // Sorted before the known mailbox, so it is checked first.
            try await db.execute(
                "INSERT INTO crm.users (id, login, display_name, mailbox) VALUES ($1, 'gone', 'Gone', 'aaa-gone@example.com')",
                [UUID()])
            await db.close()
            let environment = try Self.protocolEnvironment(env)
            let inbound = try await ChildProcess.run(
                KillAndResumeTests.binary, ["snapshot", "inbound", "--mailbox", Self.mailbox], environment: environment)
            #expect(inbound.status == 0, "\(inbound.output)")
            let result = try await ChildProcess.run(
                KillAndResumeTests.binary, ["verify", "--log-format", "json"], environment: environment)
            let stdout = String(decoding: result.stdout, as: UTF8.self)
            #expect(result.status == 4, "\(result.output)")
            #expect(stdout.contains("aaa-gone@example.com: not checked"), "\(stdout)")
            // Each protocol's own word for a mailbox it does not know.
            let unknownMailbox = sourceProtocol == .ews ? "ErrorNonExistentMailbox" : "ErrorInvalidUser"
            #expect(stdout.contains(unknownMailbox), "\(stdout)")
            #expect(stdout.contains("in sync: 1 mailbox(es); 1 mailbox(es) not checked"), "\(stdout)")
        }
    }

    /// A password file other users can read gets a warning naming the setting; a 0600 one does not.
    @Test func aPasswordFileReadableByOthersGetsAWarning() async throws {
        try await PipelineTestEnvironment.with(mailboxes: [Self.mailbox]) { env in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("ews-pw-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data(SimulatorConfiguration.defaultAccount.password.utf8).write(to: file)
            var environment = Self.environment(env)
            environment["SNAPSYNC_EWS_PASSWORD"] = nil
            environment["SNAPSYNC_EWS_PASSWORD_FILE"] = file.path
            for (mode, warned) in [(0o644, true), (0o640, true), (0o600, false)] {
                try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
                let result = try await ChildProcess.run(
                    KillAndResumeTests.binary, ["verify", "--log-format", "json"], environment: environment)
                #expect(result.status == 0, "\(result.output)")
                let warning = result.stderr.split(separator: "\n").first { $0.contains("readable by other users") }
                #expect((warning != nil) == warned, "mode \(String(mode, radix: 8)): \(result.stderr)")
                if let warning {
                    #expect(
                        warning.contains(#""level":"warning""#) && warning.contains("SNAPSYNC_EWS_PASSWORD_FILE"),
                        "\(warning)")
                }
            }
        }
    }

    /// `grep` of every output of runs with a wrong or malformed database URL: stderr (JSON and text), stdout, the
    /// metrics file and the HTML report finds no part of the password. libpq quotes the whole URL when it cannot find
    /// the end of an IPv6 host, the password when it cannot decode it, and the part of a password after an unencoded
    /// '@', which it takes for the host.
    @Test(arguments: [
        "postgresql://crm:Sw0rdfish-7@127.0.0.1:1/crm", "postgresql://crm:Sw0rdfish-7@[127.0.0.1/crm",
        "postgresql://crm:Sw0rd@fish-7@127.0.0.1/crm", "postgresql://crm:Sw0rd%zzfish-7@127.0.0.1/crm",
        "postgresql://crm:Sw0rdfish-7@127.0.0.1/crm?sslmode=bogus",
        "host=127.0.0.1 port=1 password=Sw0rdfish-7 dbname=crm user=crm",
        "host=127.0.0.1 port=1 password='Sw0rd fish-7' dbname",
    ])
    func noOutputShowsTheDatabasePassword(_ url: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = [
            "SNAPSYNC_DATABASE_URL": url, "SNAPSYNC_EWS_URL": "http://127.0.0.1:1/EWS/Exchange.asmx",
            "SNAPSYNC_EWS_USER": "svc", "SNAPSYNC_EWS_PASSWORD": "ews-secret",
        ]
        for arguments in [
            ["snapshot", "inbound"],
            ["runs", "show", "1", "--html", directory.appendingPathComponent("report.html").path],
            ["sync", "run", "--once"], ["status"], ["doctor"],
        ] {
            for format in ["json", "text"] {
                let metrics = directory.appendingPathComponent("m.prom")
                let result = try await ChildProcess.run(
                    KillAndResumeTests.binary,
                    arguments + ["--log-format", format, "--metrics-file", metrics.path],
                    environment: environment)
                #expect(result.status != 0)
                #expect(
                    !result.output.contains("Sw0rd") && !result.output.contains("fish-7"),
                    "\(arguments) \(format): \(result.output)")
            }
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            #expect(!text.contains("Sw0rd") && !text.contains("fish-7"), "\(file): \(text)")
        }
    }

    // MARK: helpers

    static func environment(_ env: PipelineTestEnvironment) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SNAPSYNC_") }
        environment["SNAPSYNC_DATABASE_URL"] = env.conninfo
        environment["SNAPSYNC_EWS_URL"] = env.simulator.endpoint
        environment["SNAPSYNC_EWS_USER"] = SimulatorConfiguration.defaultAccount.user
        environment["SNAPSYNC_EWS_PASSWORD"] = SimulatorConfiguration.defaultAccount.password
        return environment
    }

    /// The environment of a `snapsync` run reaching the simulator through the protocol `env` speaks.
    static func protocolEnvironment(_ env: PipelineTestEnvironment) throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SNAPSYNC_") }
        environment["SNAPSYNC_DATABASE_URL"] = env.conninfo
        environment.merge(try env.exchangeSettings()) { $1 }
        return environment
    }

    /// The test database's `host:port` (TCP on loopback) and name.
    static func hostPortAndDatabase(_ env: PipelineTestEnvironment) throws -> (String, String) {
        let db = try #require(env.conninfo.split(separator: " ").first { $0.hasPrefix("dbname=") }).dropFirst(
            "dbname=".count)
        let port = try #require(env.conninfo.split(separator: " ").first { $0.hasPrefix("port=") }).dropFirst(
            "port=".count)
        return ("127.0.0.1:\(port)", String(db).trimmingCharacters(in: CharacterSet(charactersIn: "'")))
    }

    /// Switches live sync on and adds a task of the mailbox's owner, which the capture trigger queues.
    static func queueTask(_ env: PipelineTestEnvironment) async throws {
        let db = try await PostgresConnection.connect(env.conninfo, logger: env.logger)
        try await LiveSyncStore.setEnabled(true, mailbox: nil, actor: "test", note: nil, db: db)
        try await db.execute(
            """
            INSERT INTO crm.tasks (id, owner_id, subject, status, percent_complete, importance, categories, updated_at, version)
            VALUES ($1, $2, 'Call back', 'not_started', 0, 'normal', '{}', now(), 1)
            """, [UUID(), env.owners[0].userID])
        await db.close()
        #expect(try await env.count("SELECT count(*) FROM sync.outbox") == 1)
    }

    /// The level and message of every JSON line.
    static func lines(_ stderr: String) -> [(level: String, message: String)] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{"),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let level = object["level"] as? String, let message = object["message"] as? String
            else { return nil }
            return (level, message)
        }
    }
}

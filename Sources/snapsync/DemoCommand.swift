import ArgumentParser
import EWS
import Foundation
import Graph
import HTTP
import Logging
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync demo`: the main job on embedded defaults, end to end. A throwaway local PostgreSQL (initdb in a
/// temporary directory) is migrated; the Exchange simulator (`exchange-sim`, beside snapsync) serves mailboxes
/// seeded with appointments and tasks; the CRM is seeded with contacts covered by the mailbox users and with
/// CRM-only appointments and tasks. Then the first switch-on of the contract's scenario 2 runs: an inbound and an
/// outbound snapshot, then `verify`, each with its report. Everything is removed at the end, whatever happens
/// (the cluster's watchdog removes it even when the process is killed), unless `--keep` leaves both running for
/// the administrator to explore; `--stop` ends them.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run an inbound and an outbound snapshot between a throwaway PostgreSQL and the Exchange simulator.",
        discussion: """
            Needs the PostgreSQL server binaries (initdb, pg_ctl; as root they run as the postgres user) and \
            exchange-sim beside snapsync. With --keep, PostgreSQL and the simulator keep running after the demo and \
            the environment to use them is printed; `snapsync demo --stop` ends them.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var migrations: MigrationOptions
    @Option(help: "Mailboxes to seed.") var mailboxes: Int = 10
    @Option(help: "Appointments and tasks per mailbox in Exchange (each), and CRM-only ones per user.") var items: Int =
        200
    @Option(help: "CRM contacts, each covered by two users.") var contacts: Int = 500
    @Option(help: "Mailboxes processed in parallel.") var workers: Int = 4
    @Option(name: .customLong("protocol"), help: "How snapsync reaches the simulator: ews or graph.")
    var exchangeProtocol: ExchangeProtocol = .ews
    @Flag(help: "Leave PostgreSQL and the simulator running after the demo, and print how to use them.") var keep =
        false
    @Flag(help: "Stop the PostgreSQL and simulator a `demo --keep` left running.") var stop = false
    @OptionGroup var display: RunDisplayOptions

    func validate() throws {
        if keep && stop { throw ValidationError("--keep and --stop exclude each other") }
    }

    func run() async throws {
        let area = stop ? nil : display.statusArea()
        let environment = try CLIEnvironment.start(global, command: "demo", statusArea: area)
        try await environment.run {
            if stop { return try await stopKept() }
            if let running = DemoState.running() {
                environment.report(
                    "a kept demo is running (PostgreSQL \(running.databaseURL)); stop it first: snapsync demo --stop")
                return 64
            }
            let runner = try migrations.runner(logger: environment.logger)
            try FileManager.default.createDirectory(at: DemoState.directory, withIntermediateDirectories: true)
            let addresses = (1...max(mailboxes, 1)).map { String(format: "user%02d@demo.example", $0) }
            let simulator = try await DemoSimulator.start(
                mailboxes: addresses,
                log: DemoState.directory.appendingPathComponent("exchange-sim.log"))
            print(
                "Exchange: simulator at \(exchangeProtocol == .graph ? simulator.graphEndpoint : simulator.endpoint)")
            do {
                var options = PostgresLocalCluster.Options()
                // A kept cluster lives as long as the simulator: `demo --stop` ends the one, its watchdog the other.
                if keep { options.watchedProcess = simulator.pid }
                let cluster = try await PostgresLocalCluster.start(options: options)
                print("PostgreSQL: throwaway cluster in \(cluster.directory), port \(cluster.port)")
                let code: Int32
                do {
                    code = try await demo(
                        cluster: cluster, runner: runner, simulator: simulator, addresses: addresses,
                        environment: environment, statusArea: area)
                } catch {
                    try? await cluster.stop()
                    throw error
                }
                if keep {
                    try keepRunning(cluster: cluster, simulator: simulator)
                } else {
                    try await cluster.stop()
                    await DemoSimulator.stop(pid: simulator.pid)
                    try? FileManager.default.removeItem(at: DemoState.directory)
                }
                return code
            } catch {
                await DemoSimulator.stop(pid: simulator.pid)
                try? FileManager.default.removeItem(at: DemoState.directory)
                throw error
            }
        }
    }

    /// Records what keeps running for `--stop` and prints how to use it.
    func keepRunning(cluster: PostgresLocalCluster, simulator: DemoSimulator) throws {
        let state = DemoState(
            simulatorPID: simulator.pid, clusterDirectory: cluster.directory,
            databaseURL: cluster.url(), ewsURL: simulator.endpoint)
        try state.save()
        cluster.leaveRunning()
        var exchange =
            "  export SNAPSYNC_EWS_URL='\(state.ewsURL)' SNAPSYNC_EWS_USER='\(DemoSimulator.user)' "
            + "SNAPSYNC_EWS_PASSWORD='\(DemoSimulator.password)'"
        if exchangeProtocol == .graph {
            let secretFile = DemoState.directory.appendingPathComponent("graph-client-secret")
            try Data(DemoSimulator.graphClientSecret.utf8).write(to: secretFile)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile.path)
            exchange = """
                  export SNAPSYNC_EXCHANGE_PROTOCOL=graph SNAPSYNC_GRAPH_URL='\(simulator.graphEndpoint)' \
                SNAPSYNC_GRAPH_AUTHORITY='\(simulator.base)'
                  export SNAPSYNC_GRAPH_TENANT='\(DemoSimulator.graphTenant)' SNAPSYNC_GRAPH_CLIENT_ID='\(DemoSimulator.graphClientID)' \
                SNAPSYNC_GRAPH_CLIENT_SECRET_FILE='\(secretFile.path)'
                """
        }
        print(
            """

            PostgreSQL and the Exchange simulator keep running. To use them:
              export SNAPSYNC_DATABASE_URL='\(state.databaseURL)'
            \(exchange)
            Then try:
              snapsync doctor
              snapsync runs show 1 --html report.html
              snapsync sync enable && snapsync sync run --once
              snapsync verify
            When done: snapsync demo --stop
            """)
    }

    /// `--stop`: ends what `--keep` left running.
    func stopKept() async throws -> Int32 {
        guard let state = DemoState.running() else {
            print("no kept demo is running")
            try? FileManager.default.removeItem(at: DemoState.directory)
            return 0
        }
        try await state.stop()
        print("stopped the demo's PostgreSQL (\(state.databaseURL)) and Exchange simulator (\(state.ewsURL))")
        return 0
    }

    func demo(
        cluster: PostgresLocalCluster, runner: MigrationRunner, simulator: DemoSimulator, addresses: [String],
        environment: CLIEnvironment, statusArea: TerminalStatusArea?
    ) async throws -> Int32 {
        let logger = environment.logger
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        print(MigrationText.summary(try await runner.migrate(on: db)))

        var http = HTTPClient.Configuration()
        http.authentication = .basic(username: DemoSimulator.user, password: DemoSimulator.password)
        http.proxy = .direct
        let client = try HTTPClient(configuration: http, logger: logger)
        var graphClient: HTTPClient?
        defer {
            client.shutdown()
            graphClient?.shutdown()
        }
        // Exchange: appointments (with recurring series) and tasks per mailbox.
        for (index, address) in addresses.enumerated() {
            try await simulator.seed(address, seed: index + 1, appointments: items, tasks: items, http: client)
        }
        // CRM: one user per mailbox, covered contacts, and CRM-only appointments and tasks.
        var sample = SampleRecords(seed: 2026)
        let users = addresses.enumerated().map { index, address in
            CRMUser(
                id: sample.uuid(), login: "user\(index + 1)", displayName: "Demo User \(index + 1)", mailbox: address)
        }
        let people = (0..<contacts).map { sample.contact(index: $0) }
        let coverage = SampleRecords.coverage(of: people, by: users.map(\.id), perContact: 2)
        var appointments: [CRMAppointment] = []
        var tasks: [CRMTask] = []
        for user in users {
            for index in 0..<max(items / 10, 1) {
                appointments.append(
                    sample.appointment(
                        ownerID: user.id, index: index, attendeeEmails: [people[index % max(people.count, 1)].email1!]))
                tasks.append(sample.task(ownerID: user.id, index: index))
            }
        }
        let (u, p, c, a, t) = (users, people, coverage, appointments, tasks)
        try await db.withTransaction { db in
            try CRMWriter.insert(users: u, db: db)
            try CRMWriter.insert(contacts: p, db: db)
            try CRMWriter.insert(coverage: c, db: db)
            try CRMWriter.insert(appointments: a, db: db)
            try CRMWriter.insert(tasks: t, db: db)
        }
        await db.close()
        print(
            "seeded: \(addresses.count) mailboxes with \(items) appointments and \(items) tasks each; "
                + "CRM: \(people.count) contacts, \(appointments.count) appointments, \(tasks.count) tasks")

        let source: any MailboxSource
        switch exchangeProtocol {
        case .ews:
            source = EWSMailboxSource(
                client: EWSClient(
                    configuration: EWSClient.Configuration(endpoint: simulator.endpoint),
                    transport: client, logger: logger))
        case .graph:
            // Bearer tokens from the simulator's token endpoint, on a client without the EWS account's password.
            var configuration = HTTPClient.Configuration()
            configuration.proxy = .direct
            let graphHTTP = try HTTPClient(configuration: configuration, logger: logger)
            graphClient = graphHTTP
            let credentials = GraphCredentials(
                tenant: DemoSimulator.graphTenant, clientID: DemoSimulator.graphClientID,
                clientSecret: DemoSimulator.graphClientSecret, authority: simulator.base)
            source = GraphMailboxSource(
                client: GraphClient(
                    configuration: GraphClient.Configuration(
                        baseURL: simulator.graphEndpoint, credentials: credentials),
                    transport: graphHTTP, logger: logger))
        }
        let live = LiveRunDisplay.make(statusArea, conninfo: cluster.conninfo, logger: logger)
        let snapshots = SnapshotRunner(conninfo: cluster.conninfo, source: source, logger: logger, progress: live)
        var worst: Int32 = 0
        for direction in [SnapshotDirection.inbound, .outbound] {
            var options = SnapshotOptions(
                request: RunRequest(
                    direction: direction, kinds: direction.supportedKinds, mailboxes: nil,
                    dateRange: nil, requestedBy: "demo"))
            options.workers = workers
            let started = Date()
            print("\n== \(direction.rawValue) snapshot")
            let result = try await LiveRunDisplay.around(live) { try await snapshots.run(options) }
            let code = try await RunReport.finish(
                result, environment: environment, conninfo: cluster.conninfo, verbose: display.verbose)
            print(String(format: "   %.1f s", Date().timeIntervalSince(started)))
            worst = max(worst, code)
        }
        print("\n== verify")
        let check = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        var differences: [VerifyDifference] = []
        for owner in try await CRMStore.mailboxOwners(nil, db: check) {
            differences += try await Verifier(source: source, logger: logger).verify(
                owner, store: SyncConnection(check, logger: logger))
        }
        await check.close()
        for difference in differences.prefix(20) { print("  \(difference)") }
        print(differences.isEmpty ? "in sync: \(addresses.count) mailboxes" : "\(differences.count) difference(s)")
        return differences.isEmpty ? worst : max(worst, 4)
    }
}

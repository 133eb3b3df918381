import ArgumentParser
import EWS
import ExchangeSimulator
import Foundation
import HTTP
import Logging
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync demo`: the main job on embedded defaults, end to end. A throwaway local PostgreSQL (initdb in a
/// temporary directory) is migrated; the embedded Exchange simulator serves mailboxes seeded with
/// appointments and tasks; the CRM is seeded with contacts covered by the mailbox users and with CRM-only
/// appointments and tasks. Then the first switch-on of the contract's scenario 2 runs: an inbound and an
/// outbound snapshot, then `verify`, each with its report. Everything is removed at the end, whatever
/// happens (the cluster's watchdog removes it even when the process is killed).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run an inbound and an outbound snapshot between a throwaway PostgreSQL and the embedded Exchange simulator.",
        discussion: "Needs the PostgreSQL server binaries (initdb, pg_ctl); as root they run as the postgres user.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var migrations: MigrationOptions
    @Option(help: "Mailboxes to seed.") var mailboxes: Int = 10
    @Option(help: "Appointments and tasks per mailbox in Exchange (each), and CRM-only ones per user.") var items: Int = 200
    @Option(help: "CRM contacts, each covered by two users.") var contacts: Int = 500
    @Option(help: "Mailboxes processed in parallel.") var workers: Int = 4

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "demo")
        try await environment.run {
            let runner = try migrations.runner(logger: environment.logger)
            let cluster = try await PostgresLocalCluster.start()
            print("PostgreSQL: throwaway cluster in \(cluster.directory), port \(cluster.port)")
            var simulatorConfiguration = SimulatorConfiguration()
            let addresses = (1...max(mailboxes, 1)).map { String(format: "user%02d@demo.example", $0) }
            simulatorConfiguration.mailboxes = addresses
            let simulator = try await Simulator.start(simulatorConfiguration)
            print("Exchange: embedded simulator at \(simulator.endpoint)")
            do {
                let code = try await demo(cluster: cluster, runner: runner, simulator: simulator, addresses: addresses, environment: environment)
                try await simulator.shutdown()
                try await cluster.stop()
                return code
            } catch {
                try? await simulator.shutdown()
                try? await cluster.stop()
                throw error
            }
        }
    }

    func demo(cluster: PostgresLocalCluster, runner: MigrationRunner, simulator: Simulator, addresses: [String],
              environment: CLIEnvironment) async throws -> Int32 {
        let logger = environment.logger
        let db = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        print(MigrationText.summary(try await runner.migrate(on: db)))

        // Exchange: appointments (with recurring series) and tasks per mailbox.
        for (index, address) in addresses.enumerated() {
            _ = try simulator.control.seed(SeedRequest(mailbox: address, seed: UInt64(index + 1), appointments: items, tasks: items))
        }
        // CRM: one user per mailbox, covered contacts, and CRM-only appointments and tasks.
        var sample = SampleRecords(seed: 2026)
        let users = addresses.enumerated().map { index, address in
            CRMUser(id: sample.uuid(), login: "user\(index + 1)", displayName: "Demo User \(index + 1)", mailbox: address)
        }
        let people = (0..<contacts).map { sample.contact(index: $0) }
        let coverage = SampleRecords.coverage(of: people, by: users.map(\.id), perContact: 2)
        var appointments: [CRMAppointment] = []
        var tasks: [CRMTask] = []
        for user in users {
            for index in 0..<max(items / 10, 1) {
                appointments.append(sample.appointment(ownerID: user.id, index: index, attendeeEmails: [people[index % max(people.count, 1)].email1!]))
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
        print("seeded: \(addresses.count) mailboxes with \(items) appointments and \(items) tasks each; "
              + "CRM: \(people.count) contacts, \(appointments.count) appointments, \(tasks.count) tasks")

        var http = HTTPClient.Configuration()
        http.authentication = .basic(username: SimulatorConfiguration.defaultAccount.user, password: SimulatorConfiguration.defaultAccount.password)
        http.proxy = .direct
        let client = try HTTPClient(configuration: http, logger: logger)
        defer { client.shutdown() }
        let source = EWSMailboxSource(client: EWSClient(configuration: EWSClient.Configuration(endpoint: simulator.endpoint),
                                                        transport: client, logger: logger))
        let snapshots = SnapshotRunner(conninfo: cluster.conninfo, source: source, logger: logger, progress: ProgressLine.make())
        var worst: Int32 = 0
        for direction in [SnapshotDirection.inbound, .outbound] {
            var options = SnapshotOptions(request: RunRequest(direction: direction, kinds: direction.supportedKinds, mailboxes: nil,
                                                              dateRange: nil, requestedBy: "demo"))
            options.workers = workers
            let started = Date()
            print("\n== \(direction.rawValue) snapshot")
            let result = try await snapshots.run(options)
            let code = try await RunReport.finish(result, environment: environment, conninfo: cluster.conninfo)
            print(String(format: "   %.1f s", Date().timeIntervalSince(started)))
            worst = max(worst, code)
        }
        print("\n== verify")
        let check = try await PostgresConnection.connect(cluster.conninfo, logger: logger)
        var differences: [VerifyDifference] = []
        for owner in try await CRMStore.mailboxOwners(nil, db: check) {
            differences += try await Verifier(source: source, logger: logger).verify(owner, db: check)
        }
        await check.close()
        for difference in differences.prefix(20) { print("  \(difference)") }
        print(differences.isEmpty ? "in sync: \(addresses.count) mailboxes" : "\(differences.count) difference(s)")
        return differences.isEmpty ? worst : max(worst, 4)
    }
}

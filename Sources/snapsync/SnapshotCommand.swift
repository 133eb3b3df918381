import ArgumentParser
import Foundation
import HTTP
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync snapshot inbound|outbound|full`.
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Copy every item from one side to the other, in checkpointed stages that resume after a kill.",
        subcommands: [Inbound.self, Outbound.self, Full.self]
    )

    struct Inbound: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exchange → CRM: appointments and tasks of the mailboxes.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var scope: SnapshotArguments
        func run() async throws { try await scope.execute(.inbound, global: global, command: "snapshot inbound") }
    }

    struct Outbound: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "CRM → Exchange: covered contacts, owned appointments and tasks.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var scope: SnapshotArguments
        func run() async throws { try await scope.execute(.outbound, global: global, command: "snapshot outbound") }
    }

    struct Full: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Clean one side, then restore it from the other, deletions included.",
            discussion: "Overwrites the target for the mailboxes in scope. Asks for confirmation unless --yes is given."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var scope: SnapshotArguments
        @Option(help: "The source of truth.") var from: FullSnapshotSource
        @Flag(help: "Do not ask for confirmation (cron).") var yes = false

        func run() async throws {
            let direction = from.direction
            if !yes && !scope.dryRun {
                let target =
                    direction == .fullFromExchange ? "the CRM's appointments and tasks" : "the mailboxes' synced items"
                let who = scope.mailbox.isEmpty ? "EVERY mailbox" : scope.mailbox.joined(separator: ", ")
                guard isatty(STDIN_FILENO) == 1 else {
                    throw ValidationError(
                        "a full snapshot overwrites \(target) for \(who): pass --yes to confirm (no terminal to ask on)"
                    )
                }
                print(
                    "This deletes \(target) for \(who) and restores them from \(from.rawValue). Type 'yes' to go on: ",
                    terminator: "")
                guard readLine()?.lowercased() == "yes" else { throw ExitCode(1) }
            }
            try await scope.execute(direction, global: global, command: "snapshot full")
        }
    }
}

/// Scope, filters, window and tuning of a snapshot.
struct SnapshotArguments: ParsableArguments {
    @Option(help: "A mailbox (SMTP address) to include; repeatable. Default: every mailbox with a CRM user.")
    var mailbox: [String] = []
    @Option(help: "A kind to include; repeatable. Default: all the direction moves.")
    var kind: [ItemKind] = []
    @Option(help: "Only items from this date (YYYY-MM-DD or ISO 8601, UTC).") var fromDate: String?
    @Option(help: "Only items before this date (YYYY-MM-DD or ISO 8601, UTC).") var toDate: String?
    @Option(help: "The date the range applies to.") var dateField: SnapshotDateRange.Field = .start
    @Flag(help: "Print what would be created, updated and deleted per mailbox and kind; change nothing.") var dryRun =
        false
    @OptionGroup var window: RunWindowOptions
    @Option(help: "Mailboxes processed in parallel by this process.") var workers: Int = 4
    @Option(help: "Items per Exchange write request.") var batchSize: Int = 100
    @Option(help: "Items per FindItem page / CRM keyset page.") var pageSize: Int = 1000
    @Option(help: "ANALYZE a table when the rows changed since its last ANALYZE exceed this fraction of its rows then.")
    var analyzeThreshold: Double = 0.5
    @Option(
        help:
            "Statistics target of the ANALYZEs between stages (0: the server's); tables are analyzed at the server's target when the run ends."
    )
    var interimStatisticsTarget: Int = 10
    @Flag(help: "Let reconciliation delete CRM rows even when Exchange returned far fewer items than linked.")
    var allowMassDelete = false
    @OptionGroup var display: RunDisplayOptions

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1...64") }
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...1000") }
        guard (1...1000).contains(pageSize) else {
            throw ValidationError("--page-size must be 1...1000 (EWS returns at most 1000 a page)")
        }
        guard (0...10000).contains(interimStatisticsTarget) else {
            throw ValidationError("--interim-statistics-target must be 0...10000")
        }
    }

    func request(_ direction: SnapshotDirection) throws -> RunRequest {
        var kinds = direction.supportedKinds
        if !kind.isEmpty {
            kinds = try kind.map { kind in
                guard direction.supportedKinds.contains(kind) else {
                    throw ValidationError(
                        "\(kind.rawValue) do not sync in this direction (contacts go CRM → Exchange only)")
                }
                return kind
            }
        }
        var range: SnapshotDateRange?
        if fromDate != nil || toDate != nil {
            range = SnapshotDateRange(
                from: try fromDate.map { try Self.date($0, "--from-date") },
                to: try toDate.map { try Self.date($0, "--to-date") },
                field: dateField)
        }
        return RunRequest(
            direction: direction, kinds: kinds, mailboxes: mailbox.isEmpty ? nil : mailbox, dateRange: range,
            allowMassDelete: allowMassDelete,
            requestedBy: ProcessInfo.processInfo.environment["USER"] ?? "snapsync")
    }

    static func date(_ text: String, _ option: String) throws -> Date {
        if let day = LocalDate(text) { return day.startOfDayUTC }
        if let date = ISO8601.parseDateTime(text) { return date }
        throw ValidationError("\(option) must be YYYY-MM-DD or an ISO 8601 date-time, not \(text)")
    }

    func options(_ direction: SnapshotDirection) throws -> SnapshotOptions {
        var options = SnapshotOptions(request: try request(direction))
        options.workers = workers
        options.batchSize = batchSize
        options.pageSize = pageSize
        options.analyzePolicy = AnalyzePolicy(
            threshold: analyzeThreshold,
            interimStatisticsTarget: interimStatisticsTarget == 0 ? nil : interimStatisticsTarget)
        options.window = try window.window(now: Date())
        return options
    }

    func execute(_ direction: SnapshotDirection, global: GlobalOptions, command: String) async throws {
        let area = dryRun ? nil : display.statusArea()
        let environment = try CLIEnvironment.start(global, command: command, statusArea: area)
        let options = try options(direction)
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            if dryRun {
                let db = try await environment.database()
                let lines = try await SnapshotDryRun(source: source).plan(
                    options.request, store: SyncConnection(db, logger: environment.logger))
                await db.close()
                print("dry run (\(direction.rawValue)): nothing was changed")
                for line in lines { print("  \(line)") }
                return 0
            }
            let url = try environment.configured { () throws(SnapsyncConfiguration.Error) in
                try environment.configuration.requireDatabase()
            }
            let live = LiveRunDisplay.make(area, conninfo: url, logger: environment.logger)
            let runner = SnapshotRunner(conninfo: url, source: source, logger: environment.logger, progress: live)
            let result = try await LiveRunDisplay.around(live) { try await runner.run(options) }
            return try await RunReport.finish(result, environment: environment, verbose: display.verbose)
        }
    }
}

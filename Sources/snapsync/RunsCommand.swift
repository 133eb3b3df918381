import ArgumentParser
import Foundation
import HTTP
import Logging
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// `snapsync runs [show RUN]`.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List runs, or show one.",
        subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The most recent runs.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "How many.") var limit: Int = 20

        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "runs")
            try await environment.run {
                let db = try await environment.database()
                let runs = try await RunStore.recentRuns(limit: limit, db: db)
                await db.close()
                let formatter = ISO8601DateFormatter()
                for run in runs {
                    let scope = run.request.mailboxes?.joined(separator: ",") ?? "all mailboxes"
                    print(
                        "\(run.id)\t\(run.request.direction.rawValue)\t\(run.status.rawValue)\t\(formatter.string(from: run.createdAt))\t\(run.request.kinds.map(\.rawValue).joined(separator: ","))\t\(scope)"
                    )
                }
                return 0
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A run's stages per mailbox: status, counts, timings, errors.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The run id.") var run: Int64
        @Option(help: "Only this mailbox.") var mailbox: String?
        @Option(
            help: ArgumentHelp(
                "Also write the run as one self-contained HTML page (stage timeline per mailbox, throughput, stages, run log).",
                valueName: "path")) var html: String?

        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "runs show")
            try await environment.run {
                let db = try await environment.database()
                guard let record = try await RunStore.run(run, db: db) else {
                    throw PipelineError(.unknownRun, "no run \(run)")
                }
                let stages = try await RunStore.stages(runID: run, mailbox: mailbox?.lowercased(), db: db)
                let events = try await RunStore.events(runID: run, db: db)
                let quarantine = try await RunStore.quarantineGroups(runID: run, db: db)
                await db.close()
                print(
                    "run \(record.id): \(record.request.direction.rawValue) \(record.status.rawValue), started \(record.createdAt)"
                        + (record.finishedAt.map { ", finished \($0)" } ?? ""))
                if let protocols = RunReport.protocols(events) { print("protocols: \(protocols)") }
                RunReport.printStages(stages)
                for event in events {
                    print(
                        "  \(event.at) \(event.event) \(event.mailbox ?? "") \(event.stage ?? ""): \(LogRedaction.scrub(event.message))"
                    )
                }
                let summary = RunSummary(
                    runID: run, direction: record.request.direction, outcome: record.status.rawValue, stages: stages,
                    quarantine: mailbox == nil ? quarantine : [],
                    events: events, now: Date())
                for line in summary.lines() { print(line) }
                if let html {
                    let page = RunReport.html(run: record, stages: stages, events: events, now: Date())
                    try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
                    print("wrote \(html)")
                }
                return 0
            }
        }
    }
}

import ArgumentParser
import Foundation
import HTTP
import Pipeline
import SyncCore
import SyncStore

/// `snapsync rerun RUN --stage NAME [--mailbox ADDR] [--kind K]... [--allow-mass-delete]`: reruns one stage (and those
/// after it).
struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Rerun a stage of a run (and the stages after it) for one or every mailbox.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The run id.") var run: Int64
    @Option(help: "The stage to rerun from.") var stage: SnapshotStage
    @Option(help: "Only this mailbox: no other mailbox of the run is touched.") var mailbox: String?
    @Option(help: "Only this kind; repeatable. Default: every kind of the run.") var kind: [ItemKind] = []
    @Flag(
        help:
            "Approve this mailbox's deletions (of --kind, or every kind of the run) that the mass-delete guard refused; needs --mailbox."
    )
    var allowMassDelete = false
    @Option(help: "Mailboxes processed in parallel.") var workers: Int = 4
    @OptionGroup var display: RunDisplayOptions

    func validate() throws {
        if allowMassDelete && mailbox == nil {
            throw ValidationError("--allow-mass-delete approves the deletions of one mailbox: name it with --mailbox")
        }
    }

    func run() async throws {
        let kinds = kind.isEmpty ? nil : kind
        let area = display.statusArea()
        let environment = try CLIEnvironment.start(global, command: "rerun", statusArea: area)
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let url = try environment.configured { () throws(SnapsyncConfiguration.Error) in
                try environment.configuration.requireDatabase()
            }
            var options = SnapshotOptions(
                request: RunRequest(
                    direction: .inbound, kinds: [], mailboxes: nil, dateRange: nil,
                    requestedBy: ProcessInfo.processInfo.environment["USER"] ?? "snapsync"))
            options.workers = workers
            let live = LiveRunDisplay.make(area, conninfo: url, logger: environment.logger)
            let runner = SnapshotRunner(conninfo: url, source: source, logger: environment.logger, progress: live)
            let result = try await LiveRunDisplay.around(live) {
                try await runner.rerun(
                    runID: run, stage: stage, mailbox: mailbox, kinds: kinds, allowMassDelete: allowMassDelete,
                    options: options
                ) { reset in print("rerunning \(reset) stage(s) of run \(run)") }
            }
            return try await RunReport.finish(result, environment: environment, verbose: display.verbose)
        }
    }
}

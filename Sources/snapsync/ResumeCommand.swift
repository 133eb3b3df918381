import ArgumentParser
import Foundation
import HTTP
import Pipeline
import SyncCore
import SyncStore

/// `snapsync resume [RUN]`: continues an unfinished run.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue an unfinished run (the newest when no id is given).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The run id.") var run: Int64?
    @Option(help: "Mailboxes processed in parallel by this process.") var workers: Int = 4
    @OptionGroup var window: RunWindowOptions
    @OptionGroup var display: RunDisplayOptions

    func run() async throws {
        let area = display.statusArea()
        let environment = try CLIEnvironment.start(global, command: "resume", statusArea: area)
        let window = try window.window(now: Date())
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let url = try environment.configured { () throws(SnapsyncConfiguration.Error) in
                try environment.configuration.requireDatabase()
            }
            var options = SnapshotOptions(
                request: RunRequest(direction: .inbound, kinds: [], mailboxes: nil, dateRange: nil, requestedBy: ""))
            options.workers = workers
            options.window = window
            let live = LiveRunDisplay.make(area, conninfo: url, logger: environment.logger)
            let runner = SnapshotRunner(conninfo: url, source: source, logger: environment.logger, progress: live)
            let result = try await LiveRunDisplay.around(live) { try await runner.resume(runID: run, options: options) }
            return try await RunReport.finish(result, environment: environment, verbose: display.verbose)
        }
    }
}

import ArgumentParser
import Foundation
import Logging
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore
import Synchronization

/// `--progress auto|always|never`: whether a run shows its live status area on standard error.
enum ProgressMode: String, CaseInsensitiveArgument, CaseIterable, Sendable {
    /// When standard error is a terminal.
    case auto
    case always
    case never
}

/// The options of a command that carries out a run: its live display and how much its summary lists.
struct RunDisplayOptions: ParsableArguments {
    @Option(help: "The live status area on standard error: auto (on a terminal), always or never.")
    var progress: ProgressMode = .auto
    @Flag(help: "List every mailbox's stages above the run's summary (listed anyway for 20 mailboxes or fewer).")
    var verbose = false

    /// The status area the log lines go through, when the live display is on.
    func statusArea() -> TerminalStatusArea? {
        switch progress {
        case .always: TerminalStatusArea()
        case .auto: isatty(STDERR_FILENO) == 1 ? TerminalStatusArea() : nil
        case .never: nil
        }
    }
}

/// The live status of a run: once the run starts, its progress is read from the database twice a second and drawn
/// in the status area (``RunProgressView``) until ``finish()``, which clears it before the summary is printed.
final class LiveRunDisplay: StageProgressReporting, Sendable {
    static let interval = Duration.milliseconds(500)

    private let area: TerminalStatusArea
    private let conninfo: String
    private let logger: Logger
    private let poller = Mutex<Task<Void, Never>?>(nil)

    init(area: TerminalStatusArea, conninfo: String, logger: Logger) {
        self.area = area
        self.conninfo = conninfo
        self.logger = logger
    }

    /// A display when the command has a status area.
    static func make(_ area: TerminalStatusArea?, conninfo: String, logger: Logger) -> LiveRunDisplay? {
        area.map { LiveRunDisplay(area: $0, conninfo: conninfo, logger: logger) }
    }

    func runStarted(runID: Int64) {
        let task = Task { [area, conninfo, logger] in
            await Self.follow(runID: runID, area: area, conninfo: conninfo, logger: logger)
        }
        poller.withLock { current in
            current?.cancel()
            current = task
        }
    }

    func report(mailbox: String, kind: ItemKind, stage: SnapshotStage, done: Int64, total: Int64?) {}

    /// Runs `body` (a run carried out with `display` as its progress) and clears the status area whatever the
    /// outcome, before the summary or the error is printed.
    static func around<T>(_ display: LiveRunDisplay?, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await display?.finish()
            return result
        } catch {
            await display?.finish()
            throw error
        }
    }

    /// Stops following the run and clears the status area.
    func finish() async {
        let task = poller.withLock { current in
            defer { current = nil }
            return current
        }
        task?.cancel()
        await task?.value
        area.clear()
    }

    private static func follow(runID: Int64, area: TerminalStatusArea, conninfo: String, logger: Logger) async {
        guard let db = try? await PostgresConnection.connect(conninfo, logger: logger) else { return }
        do {
            let direction = try await RunStore.run(runID, db: db)?.request.direction
            let started = ContinuousClock.now
            var first: RunStore.Progress?
            while !Task.isCancelled {
                let now = try await RunStore.progress(runID: runID, db: db)
                let elapsed = ContinuousClock.now - started
                let view = RunProgressView(
                    runID: runID, direction: direction, now: now, first: first ?? now,
                    elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                first = first ?? now
                if Task.isCancelled { break }
                area.update(view.lines(width: TerminalStatusArea.columns(of: STDERR_FILENO)))
                try? await Task.sleep(for: interval)
            }
        } catch {
            logger.debug("the live display stopped", metadata: ["error": "\(error)"])
        }
        await db.close()
    }
}

import ArgumentParser
import Foundation
import Logging
import Observability
import SyncCore

// The typed values the command line takes: each option names its enum, so a wrong value is refused by the parser
// with the list of accepted ones, before any command runs.

/// An option value named by its raw value, in any letter case (`--kind Tasks` is `--kind tasks`).
protocol CaseInsensitiveArgument: ExpressibleByArgument, RawRepresentable<String> {}

extension CaseInsensitiveArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension ItemKind: CaseInsensitiveArgument {}
extension SnapshotStage: CaseInsensitiveArgument {}
extension SnapshotDateRange.Field: CaseInsensitiveArgument {}
extension LogFormat: CaseInsensitiveArgument {}
extension ExchangeProtocol: CaseInsensitiveArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension Array where Element == ItemKind {
    /// The kinds named by repeated `--kind` options; all when none is given.
    var orAll: [ItemKind] { isEmpty ? ItemKind.allCases : self }
}

/// The side a full snapshot restores from (`--from`).
enum FullSnapshotSource: String, CaseInsensitiveArgument, CaseIterable {
    case exchange, crm

    var direction: SnapshotDirection { self == .exchange ? .fullFromExchange : .fullFromCRM }
}

/// `--until` / `--max-duration`: when a run stops cleanly, to be continued by the next one.
struct RunWindowOptions: ParsableArguments {
    @Option(help: "Stop cleanly at this wall-clock time (HH:MM); the next run goes on from there.") var until: String?
    @Option(help: "Stop cleanly after this long (e.g. 2h, 90m); the next run goes on from there.") var maxDuration:
        String?

    func validate() throws { _ = try window(now: Date()) }

    /// The window starting `now`.
    func window(now: Date) throws -> RunWindow {
        do {
            return try RunWindow.parse(until: until, maxDuration: maxDuration, now: now)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

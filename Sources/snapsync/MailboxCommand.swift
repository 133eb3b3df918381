import ArgumentParser
import Foundation
import Pipeline
import SyncCore

/// `snapsync mailbox reset-state ADDR [--kind K]`, `snapsync mailbox set-protocol ADDR ews|graph`.
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Per-mailbox maintenance.",
        subcommands: [ResetState.self, SetProtocol.self])

    struct ResetState: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-state",
            abstract:
                "Forget a mailbox's folder sync states; live sync skips it until an inbound snapshot stores fresh ones."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailbox (SMTP address).") var mailbox: String
        @Option(help: "Only this kind (appointments or tasks); repeatable.") var kind: [ItemKind] = []

        func validate() throws {
            if kind.contains(.contacts) {
                throw ValidationError("--kind must be appointments or tasks: contacts are not read from Exchange")
            }
        }

        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "mailbox reset-state")
            let kinds = kind.isEmpty ? [ItemKind.appointments, .tasks] : kind
            try await environment.run {
                let removed = try await SyncControl(database: try environment.syncDatabase()).resetFolderStates(
                    mailbox: mailbox, kinds: kinds)
                print(
                    "reset \(removed) folder state(s) of \(mailbox); run: snapsync snapshot inbound --mailbox \(mailbox)"
                )
                return 0
            }
        }
    }

    struct SetProtocol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-protocol",
            abstract: "Reach a mailbox by EWS or Microsoft Graph from now on, keeping its links; journaled.",
            discussion: """
                The links' item ids are translated (Graph's translateExchangeIds) and each tracked folder gets a \
                baseline of the new protocol: nothing is created or duplicated in the mailbox and no CRM row changes. \
                Both protocols' settings are needed for a mailbox with links.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailbox (SMTP address).") var mailbox: String
        @Argument(help: "ews or graph.") var `protocol`: ExchangeProtocol
        @Option(help: "Why (kept in the journal).") var note: String?

        func run() async throws {
            let environment = try CLIEnvironment.start(global, command: "mailbox set-protocol")
            try await environment.run {
                let (router, http) = try await environment.exchange()
                defer { http.shutdown() }
                let actor =
                    ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
                    ?? "snapsync"
                let outcome = try await ProtocolSwitcher(
                    database: try environment.syncDatabase(), router: router, logger: environment.logger
                ).setProtocol(`protocol`, mailbox: mailbox, actor: actor, note: note)
                guard outcome.switched else {
                    print("\(outcome.mailbox) is reached by \(outcome.to.rawValue) (unchanged)")
                    return 0
                }
                print(
                    "\(outcome.mailbox) is reached by \(outcome.to.rawValue) (was \(outcome.from.rawValue)): "
                        + "\(outcome.translatedLinks) link(s) kept, new baseline for "
                        + (outcome.baselines.isEmpty
                            ? "no folder" : outcome.baselines.map(\.rawValue).joined(separator: ", ")))
                if !outcome.foldersNeedingSnapshot.isEmpty || !outcome.caughtUp {
                    print("run: snapsync snapshot inbound --mailbox \(outcome.mailbox)")
                }
                return 0
            }
        }
    }
}

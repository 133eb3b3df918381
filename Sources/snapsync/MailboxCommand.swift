import ArgumentParser
import Pipeline
import SyncCore

/// `snapsync mailbox reset-state ADDR [--kind K]`.
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Per-mailbox maintenance.",
        subcommands: [ResetState.self])

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
}

import ArgumentParser
import Foundation
import HTTP
import Pipeline
import SyncCore

/// `snapsync doctor [--mailbox ADDR] [--fix] [--yes]`: names the recovery scenario and its prescribed action.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract:
            "Recognise the recovery scenario (journal, outbox, sync states, runs, Exchange) and print the prescribed action.",
        discussion: """
            Exit 0 when nothing needs doing, 4 when something does (with --fix: 0 when fixed), 69 when PostgreSQL \
            did not answer. --fix carries the steps out in the contract's order and asks first unless --yes.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this mailbox (SMTP address).") var mailbox: String?
    @Flag(help: "Carry out the prescribed steps.") var fix = false
    @Flag(help: "Do not ask for confirmation (cron).") var yes = false

    func run() async throws {
        let environment = try CLIEnvironment.start(global, command: "doctor")
        try await environment.run {
            let (source, http) = try await environment.exchange()
            defer { http.shutdown() }
            let url = try environment.configured { () throws(SnapsyncConfiguration.Error) in
                try environment.configuration.requireDatabase()
            }
            let doctor = RecoveryDoctor(conninfo: url, source: source, logger: environment.logger)
            let facts = try await doctor.gatherFacts(mailbox: mailbox)
            let diagnosis = RecoveryDiagnosis(facts)
            Self.print(diagnosis, facts: facts)
            guard facts.postgresReachable else { return 69 }
            guard fix, !diagnosis.plan.isEmpty else { return diagnosis.isHealthy ? 0 : 4 }
            if !yes {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw ValidationError(
                        "doctor --fix runs the steps above (snapshots included): pass --yes to confirm (no terminal to ask on)"
                    )
                }
                Swift.print(
                    "Carry out the \(diagnosis.plan.count) step(s) above? Type 'yes' to go on: ", terminator: "")
                guard readLine()?.lowercased() == "yes" else { throw ExitCode(1) }
            }
            let actor =
                ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
                ?? "snapsync"
            _ = try await doctor.fix(
                diagnosis.plan, actor: actor,
                report: { outcome in
                    Swift.print("\(outcome.succeeded ? "done" : "NOT DONE"): \(outcome.step) (\(outcome.message))")
                })
            let after = RecoveryDiagnosis(try await doctor.gatherFacts(mailbox: mailbox))
            if after.isHealthy {
                Swift.print("after the fix: nothing left to do")
                return 0
            }
            Swift.print("after the fix:")
            Self.print(after, facts: nil)
            return 4
        }
    }

    /// The findings, each with its details and numbered steps.
    static func print(_ diagnosis: RecoveryDiagnosis, facts: RecoveryFacts?) {
        if let facts, facts.postgresReachable {
            let answered = facts.mailboxes.filter { if case .answered = $0.exchange { true } else { false } }.count
            Swift.print(
                "sync \(facts.globalSyncEnabled ? "on" : "off"); \(facts.mailboxes.count) mailbox(es), Exchange answered for \(answered); "
                    + "outbox \(facts.outbox.pending) pending, \(facts.outbox.parked) parked")
            for reached in ExchangeProtocol.allCases {
                let mailboxes = facts.mailboxes.filter { $0.protocol == reached }.map(\.mailbox).sorted()
                if !mailboxes.isEmpty { Swift.print("\(reached.rawValue): \(mailboxes.joined(separator: ", "))") }
            }
        }
        for finding in diagnosis.findings {
            Swift.print("\(finding.scenario.label): \(finding.scenario.title)")
            for detail in finding.details { Swift.print("  \(detail)") }
            Swift.print("  action:" + (finding.waitsForExchange ? " (snapshots once Exchange answers again)" : ""))
            for (index, step) in finding.steps.enumerated() { Swift.print("    \(index + 1). \(step)") }
        }
        if diagnosis.findings.isEmpty { Swift.print("in step: nothing to do") }
        if !diagnosis.deferred.isEmpty {
            Swift.print("waiting for Exchange: " + diagnosis.deferred.map(\.description).joined(separator: "; "))
        }
    }
}

import ArgumentParser
import Logging
import Observability
import Pipeline
import SyncStore
import SyncCore
@testable import snapsync
import Testing

/// The command line as an administrator types it: typed options accept their values in any letter case, refuse
/// others at parse time with the accepted ones listed, and each window, kind or stage means one thing everywhere.
@Suite struct CommandLineParsingTests {
    func parse<Command: ParsableCommand>(_ arguments: [String], as: Command.Type) throws -> Command {
        let command = try Snapsync.parseAsRoot(arguments)
        return try #require(command as? Command, "\(arguments) parsed as \(type(of: command))")
    }

    /// The message the parser prints for these arguments, or nil when they parse.
    func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try Snapsync.parseAsRoot(arguments)
            return nil
        } catch {
            return Snapsync.message(for: error)
        }
    }

    @Test func snapshotScopeKindsDateFieldAndWindowParseToTheirTypes() throws {
        let inbound = try parse(
            [
                "snapshot", "inbound", "--kind", "Tasks", "--kind", "appointments", "--mailbox", "a@example.com",
                "--from-date", "2026-01-01", "--date-field", "modified", "--max-duration", "90m",
            ],
            as: SnapshotCommand.Inbound.self)
        #expect(inbound.scope.kind == [.tasks, .appointments])
        #expect(inbound.scope.dateField == .modified)
        let request = try inbound.scope.request(.inbound)
        #expect(request.kinds == [.tasks, .appointments])
        #expect(request.dateRange?.field == .modified)
        #expect(request.mailboxes == ["a@example.com"])
        let options = try inbound.scope.options(.inbound)
        #expect(options.window.deadline != nil)
    }

    @Test func theLiveDisplayAndTheVerboseSummaryAreOptionsOfEveryRunCommand() throws {
        let inbound = try parse(
            ["snapshot", "inbound", "--progress", "never", "--verbose"], as: SnapshotCommand.Inbound.self)
        #expect(inbound.scope.display.progress == .never && inbound.scope.display.verbose)
        #expect(inbound.scope.display.statusArea() == nil)
        #expect(try parse(["resume", "--progress", "ALWAYS"], as: ResumeCommand.self).display.progress == .always)
        #expect(try parse(["rerun", "3", "--stage", "merge"], as: RerunCommand.self).display.progress == .auto)
        #expect(try parse(["demo", "--verbose"], as: DemoCommand.self).display.verbose)
        #expect(refusal(["snapshot", "outbound", "--progress", "sometimes"])?.contains("auto") == true)
        // --log-level unset: info, or notice under a live status (CLIEnvironment.start decides).
        #expect(try parse(["snapshot", "inbound"], as: SnapshotCommand.Inbound.self).global.logLevel == nil)
    }

    @Test func aKindOutsideTheDirectionIsRefusedWithTheReason() throws {
        let inbound = try parse(["snapshot", "inbound", "--kind", "contacts"], as: SnapshotCommand.Inbound.self)
        #expect(throws: ValidationError.self) { try inbound.scope.request(.inbound) }
    }

    @Test func unknownValuesAreRefusedAtParseTimeListingTheAcceptedOnes() throws {
        let kind = try #require(refusal(["snapshot", "inbound", "--kind", "notes"]))
        #expect(
            kind.contains("notes") && kind.contains("contacts") && kind.contains("appointments")
                && kind.contains("tasks"))
        let stage = try #require(refusal(["rerun", "7", "--stage", "load"]))
        #expect(stage.contains("extract") && stage.contains("reconcile"))
        let from = try #require(refusal(["snapshot", "full", "--from", "ldap", "--yes"]))
        #expect(from.contains("exchange") && from.contains("crm"))
        let format = try #require(refusal(["doctor", "--log-format", "xml"]))
        #expect(format.contains("json"))
        let level = try #require(refusal(["doctor", "--log-level", "loud"]))
        #expect(level.contains("warning"))
        let field = try #require(refusal(["snapshot", "inbound", "--date-field", "created"]))
        #expect(field.contains("start") && field.contains("modified"))
    }

    @Test func setProtocolTakesAMailboxAndAProtocolInAnyCase() throws {
        let command = try parse(
            ["mailbox", "set-protocol", "a@example.com", "Graph", "--note", "EWS retired"],
            as: MailboxCommand.SetProtocol.self)
        #expect(command.mailbox == "a@example.com" && command.protocol == .graph && command.note == "EWS retired")
        #expect(
            try parse(["mailbox", "set-protocol", "a@example.com", "ews"], as: MailboxCommand.SetProtocol.self)
                .protocol == .ews)
        let unknown = try #require(refusal(["mailbox", "set-protocol", "a@example.com", "mapi"]))
        #expect(unknown.contains("ews") && unknown.contains("graph"))
        #expect(refusal(["mailbox", "set-protocol", "a@example.com"]) != nil)
    }

    @Test func aFullSnapshotsSourceNamesItsDirection() throws {
        #expect(
            try parse(["snapshot", "full", "--from", "CRM", "--yes"], as: SnapshotCommand.Full.self).from.direction
                == .fullFromCRM)
        #expect(
            try parse(["snapshot", "full", "--from", "exchange", "--yes"], as: SnapshotCommand.Full.self).from.direction
                == .fullFromExchange)
    }

    @Test func rerunTakesAStageKindsAndApprovesOneMailboxsDeletionsOnly() throws {
        let rerun = try parse(
            [
                "rerun", "7", "--stage", "reconcile", "--mailbox", "a@example.com", "--kind", "tasks",
                "--allow-mass-delete",
            ], as: RerunCommand.self)
        #expect(rerun.run == 7 && rerun.stage == .reconcile && rerun.kind == [.tasks] && rerun.allowMassDelete)
        let unscoped = try #require(refusal(["rerun", "7", "--stage", "reconcile", "--allow-mass-delete"]))
        #expect(unscoped.contains("--mailbox"))
    }

    @Test func everyWindowTakesTheSameOptionsAndRefusesABadOneBeforeRunning() throws {
        #expect(try parse(["resume", "--until", "23:30"], as: ResumeCommand.self).window.until == "23:30")
        #expect(try parse(["onboard", "--max-duration", "10m"], as: OnboardCommand.self).window.maxDuration == "10m")
        #expect(
            try parse(["snapshot", "outbound", "--until", "06:00"], as: SnapshotCommand.Outbound.self).scope.window
                .until == "06:00")
        #expect(refusal(["resume", "--max-duration", "soon"]) != nil)
        #expect(refusal(["onboard", "--until", "25:00"]) != nil)
        #expect(refusal(["snapshot", "inbound", "--until", "later"]) != nil)
    }

    @Test func logOptionsAreTyped() throws {
        let doctor = try parse(["doctor", "--log-format", "JSON", "--log-level", "Warning"], as: DoctorCommand.self)
        #expect(doctor.global.logFormat == .json)
        #expect(doctor.global.logLevel == .warning)
    }

    @Test func kindListsDefaultToEveryKind() throws {
        #expect(try parse(["verify"], as: VerifyCommand.self).kind.orAll == ItemKind.allCases)
        #expect(try parse(["dedupe", "--kind", "contacts"], as: DedupeCommand.self).kind.orAll == [.contacts])
    }
}

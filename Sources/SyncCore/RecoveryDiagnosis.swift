import Foundation

/// A situation of the recovery contract (`recovery-scenarios.md`), plus the ones `snapsync doctor` reports
/// besides (parked items, an unfinished run, a mailbox Exchange refuses, sync not switched on).
public enum RecoveryScenario: String, Sendable, Hashable, CaseIterable {
    case newEmptyCRM = "1"
    case firstSync = "2"
    case exchangeDown = "3"
    case exchangeDownSyncWasOff = "4"
    case crmDown = "5"
    case crmDownSyncWasOff = "6"
    case bothDown = "7"
    case syncWasOff = "8"
    case exchangeRestored = "9"
    case crmRestored = "10"
    case dataLost = "11"
    case parkedItems = "parked-items"
    case unfinishedRun = "unfinished-run"
    case mailboxRefused = "mailbox-refused"
    case syncNotOn = "sync-off"
    case duplicates = "duplicates"
    case ewsBlocked = "ews-blocked"

    /// The contract's row number, nil for the others.
    public var number: Int? { Int(rawValue) }

    /// The contract's wording of the situation.
    public var title: String {
        switch self {
        case .newEmptyCRM: "New, empty CRM; sync just switched on"
        case .firstSync: "Both systems up; sync switched on for the first time"
        case .exchangeDown: "Exchange down; sync still on"
        case .exchangeDownSyncWasOff: "Exchange down; sync was switched off"
        case .crmDown: "CRM down; sync still on"
        case .crmDownSyncWasOff: "CRM down (no CRM changes); sync was switched off"
        case .bothDown: "Both down"
        case .syncWasOff: "Sync was switched off (both up)"
        case .exchangeRestored: "Exchange (or one mailbox) restored from an older backup"
        case .crmRestored: "CRM restored from an older backup"
        case .dataLost: "Data lost or corrupted"
        case .parkedItems: "Parked items: Exchange rejected CRM changes past the retry limit"
        case .unfinishedRun: "A snapshot run was left unfinished"
        case .mailboxRefused: "Exchange refuses the mailbox"
        case .syncNotOn: "Sync is not switched on"
        case .duplicates: "Duplicate items in Exchange: CRM records created more than once"
        case .ewsBlocked: "Exchange Online blocks EWS for the mailbox: only Microsoft Graph reaches it"
        }
    }

    /// "scenario 8" or the name of a non-numbered finding.
    public var label: String { number.map { "scenario \($0)" } ?? rawValue }
}

/// One step of a prescribed action.
public enum RecoveryStep: Sendable, Hashable, CustomStringConvertible {
    /// Switch sync on (globally when `mailbox` is nil); journaled.
    case enableSync(mailbox: String?)
    /// A snapshot of these mailboxes.
    case snapshot(SnapshotDirection, mailboxes: [String])
    /// Continue an unfinished run.
    case resume(runID: Int64)
    /// Queue parked outbox entries again (after their reason was dealt with).
    case retryParked
    /// Delete the extra copies of CRM records in these mailboxes, keeping the linked one.
    case removeDuplicates(mailboxes: [String])
    /// Reach the mailbox by another protocol, keeping its links (`snapsync mailbox set-protocol`); journaled.
    case setProtocol(mailbox: String, ExchangeProtocol)
    /// Nothing to do, and why.
    case none(String)
    /// Something only an administrator can do.
    case manual(String)

    /// True for steps `doctor --fix` carries out.
    public var isAction: Bool {
        switch self {
        case .none, .manual: false
        default: true
        }
    }

    /// The command an administrator would type (or the explanation).
    public var description: String {
        switch self {
        case .enableSync(let mailbox): "snapsync sync enable" + (mailbox.map { " --mailbox \($0)" } ?? "")
        case .snapshot(let direction, let mailboxes):
            Self.command(direction) + mailboxes.map { " --mailbox \($0)" }.joined()
        case .resume(let id): "snapsync resume \(id)"
        case .retryParked: "requeue the parked outbox entries (snapsync doctor --fix)"
        case .removeDuplicates(let mailboxes): "snapsync dedupe" + mailboxes.map { " --mailbox \($0)" }.joined()
        case .setProtocol(let mailbox, let target): "snapsync mailbox set-protocol \(mailbox) \(target.rawValue)"
        case .none(let why): "none: \(why)"
        case .manual(let what): "by hand: \(what)"
        }
    }
}

extension RecoveryStep {
    static func command(_ direction: SnapshotDirection) -> String {
        switch direction {
        case .inbound: "snapsync snapshot inbound"
        case .outbound: "snapsync snapshot outbound"
        case .fullFromExchange: "snapsync snapshot full --from exchange --yes"
        case .fullFromCRM: "snapsync snapshot full --from crm --yes"
        }
    }
}

/// A recognised situation: which scenario, for which mailboxes, why, and the prescribed steps in order.
public struct RecoveryFinding: Sendable, Hashable {
    public var scenario: RecoveryScenario
    public var mailboxes: [String]
    /// What the facts showed (no record data).
    public var details: [String]
    public var steps: [RecoveryStep]
    /// Steps after switching sync on must wait until Exchange answers again.
    public var waitsForExchange: Bool

    public init(
        scenario: RecoveryScenario, mailboxes: [String] = [], details: [String] = [], steps: [RecoveryStep],
        waitsForExchange: Bool = false
    ) {
        self.scenario = scenario
        self.mailboxes = mailboxes
        self.details = details
        self.steps = steps
        self.waitsForExchange = waitsForExchange
    }

    /// True when the finding prescribes something to do.
    public var needsAction: Bool { steps.contains { if case .none = $0 { false } else { true } } }
}

/// Recognises the recovery contract's scenarios from ``RecoveryFacts`` and prescribes their actions. Pure.
public struct RecoveryDiagnosis: Sendable, Hashable {
    public var findings: [RecoveryFinding]

    /// True when nothing needs doing (findings, if any, prescribe no action).
    public var isHealthy: Bool { !findings.contains(where: \.needsAction) }

    /// The steps `doctor --fix` carries out now, merged over the findings in the contract's order: switch sync
    /// on, resume unfinished runs, full snapshots, outbound before inbound snapshots, then requeue parked
    /// entries. Snapshots of findings waiting for Exchange are left out (see ``deferred``).
    public var plan: [RecoveryStep] {
        Self.merge(findings.flatMap { $0.waitsForExchange ? $0.steps.filter(Self.isEnable) : $0.steps })
    }

    /// The steps that wait until Exchange answers again.
    public var deferred: [RecoveryStep] {
        Self.merge(findings.filter(\.waitsForExchange).flatMap { $0.steps.filter { !Self.isEnable($0) } })
    }

    public init(findings: [RecoveryFinding]) { self.findings = findings }

    /// Diagnoses the facts.
    public init(_ facts: RecoveryFacts) {
        guard facts.postgresReachable else {
            if facts.exchangeWhilePostgresDown == false {
                findings = [
                    RecoveryFinding(
                        scenario: .bothDown, details: ["PostgreSQL and Exchange did not answer"],
                        steps: [
                            .none(
                                "both sides catch up from the outbox and the folder sync states once they are back; run snapsync doctor again then"
                            )
                        ])
                ]
            } else {
                findings = [
                    RecoveryFinding(
                        scenario: .crmDown, details: ["PostgreSQL did not answer"],
                        steps: [
                            .none(
                                "Exchange changes are pulled from the folder sync states kept in PostgreSQL once it is back; "
                                    + "run snapsync doctor again then (if sync had been switched off it prescribes scenario 6)"
                            )
                        ])
                ]
            }
            return
        }
        var perMailbox: [(mailbox: MailboxFacts, verdict: Verdict)] = []
        for mailbox in facts.mailboxes {
            if let verdict = Self.verdict(mailbox, facts: facts) { perMailbox.append((mailbox, verdict)) }
        }
        var found: [RecoveryFinding] = []
        // Group mailboxes with the same verdict into one finding.
        var order: [Verdict.Key] = []
        var groups: [Verdict.Key: [(MailboxFacts, Verdict)]] = [:]
        for (mailbox, verdict) in perMailbox {
            if groups[verdict.key] == nil { order.append(verdict.key) }
            groups[verdict.key, default: []].append((mailbox, verdict))
        }
        for key in order {
            let members = groups[key]!
            let addresses = members.map(\.0.mailbox).sorted()
            var steps: [RecoveryStep] = []
            for shape in key.shapes {
                switch shape {
                case .setProtocol(let target):
                    steps += addresses.map { .setProtocol(mailbox: $0, target) }
                case .enable:
                    if !facts.globalSyncEnabled { steps.append(.enableSync(mailbox: nil)) }
                    steps += members.filter { $0.0.ownSwitch == false }.map { .enableSync(mailbox: $0.0.mailbox) }
                        .sorted { $0.description < $1.description }
                case .snapshot(let direction): steps.append(.snapshot(direction, mailboxes: addresses))
                case .none(let why): steps.append(.none(why))
                case .manual(let what): steps.append(.manual(what))
                }
            }
            found.append(
                RecoveryFinding(
                    scenario: key.scenario, mailboxes: addresses,
                    details: members.map { "\($0.0.mailbox): \($0.1.detail)" }, steps: steps,
                    waitsForExchange: key.waits))
        }
        if facts.outbox.parked > 0 {
            found.append(
                RecoveryFinding(
                    scenario: .parkedItems,
                    details: ["\(facts.outbox.parked) parked outbox entr\(facts.outbox.parked == 1 ? "y" : "ies")"]
                        + facts.outbox.parkedReasons.map { "rejected: \($0)" },
                    steps: [.manual("correct the rejected CRM records (reasons above)"), .retryParked]))
        }
        let duplicated = facts.mailboxes.filter { !$0.duplicateItems.isEmpty }
        if !duplicated.isEmpty {
            found.append(
                RecoveryFinding(
                    scenario: .duplicates, mailboxes: duplicated.map(\.mailbox).sorted(),
                    details: duplicated.sorted { $0.mailbox < $1.mailbox }.map { m in
                        "\(m.mailbox): "
                            + m.duplicateItems.sorted { $0.key.rawValue < $1.key.rawValue }
                            .map { "\($0.value) extra \($0.key.rawValue) item(s)" }.joined(separator: ", ")
                            + " carry the CRM id of another item of the folder; the linked copy is kept"
                    },
                    steps: [.removeDuplicates(mailboxes: duplicated.map(\.mailbox).sorted())]))
        }
        for run in facts.unfinishedRuns.sorted(by: { $0.id < $1.id }) {
            let detail =
                "run \(run.id) (\(run.direction.rawValue)) started \(ISO8601.format(run.createdAt)) is still marked running"
            if run.activeMailboxes > 0 {
                found.append(
                    RecoveryFinding(
                        scenario: .unfinishedRun, details: [detail],
                        steps: [
                            .none("another process holds \(run.activeMailboxes) of its mailboxes: it is in progress")
                        ]))
            } else {
                found.append(
                    RecoveryFinding(scenario: .unfinishedRun, details: [detail], steps: [.resume(runID: run.id)]))
            }
        }
        findings = found
    }

    // MARK: Per mailbox

    enum Shape: Hashable {
        case setProtocol(ExchangeProtocol)
        case enable
        case snapshot(SnapshotDirection)
        case none(String)
        case manual(String)
    }

    struct Verdict {
        struct Key: Hashable {
            var scenario: RecoveryScenario
            var shapes: [Shape]
            var waits: Bool
        }
        var key: Key
        var detail: String
        init(_ scenario: RecoveryScenario, _ shapes: [Shape], waits: Bool = false, detail: String) {
            key = Key(scenario: scenario, shapes: shapes, waits: waits)
            self.detail = detail
        }
    }

    /// The verdict for one mailbox; nil when it is in step.
    static func verdict(_ m: MailboxFacts, facts: RecoveryFacts) -> Verdict? {
        let history = SwitchHistory(
            mailbox: m.mailbox, journal: facts.journal, globalNow: facts.globalSyncEnabled, ownNow: m.ownSwitch)
        let enable: [Shape] = history.isOn ? [] : [.enable]
        let offText = history.lastSwitchedOff.map { "sync switched off \(ISO8601.format($0))" } ?? "sync off"
        if history.deactivated {
            return Verdict(
                .syncNotOn, [.none("deactivated by bulk onboarding")], detail: "sync switched off for the mailbox")
        }
        if !history.isOn && !history.wasEverOn {
            return Verdict(
                .syncNotOn, [.none("sync was never switched on: snapsync sync enable, then snapsync doctor")],
                detail: "sync never switched on")
        }
        // Changes made while sync was off are missing on the other side until a snapshot taken after switching back on.
        let wasOff = history.lastSwitchedOff != nil
        func stale(_ snapshot: CompletedSnapshot?) -> Bool {
            guard wasOff else { return false }
            guard history.isOn, let back = history.switchedBackOn, let snapshot else { return true }
            return snapshot.startedAt < back
        }
        let outboundStale = stale(m.lastOutbound)
        let inboundStale = stale(m.lastInbound)

        switch m.exchange {
        case .unreachable(let reason):
            if outboundStale {
                return Verdict(
                    .exchangeDownSyncWasOff, enable + [.snapshot(.outbound)], waits: true,
                    detail: "Exchange did not answer (\(reason)); \(offText): CRM changes since were not queued")
            }
            let outbox = facts.outbox
            return Verdict(
                .exchangeDown,
                [.none("CRM changes wait in the outbox and are retried item by item until Exchange accepts them")],
                detail: "Exchange did not answer (\(reason)); sync is on; outbox \(outbox.pending) pending"
                    + (outbox.oldest.map { ", oldest queued \(ISO8601.format($0))" } ?? ""))
        case .refused(let reason):
            return Verdict(
                .mailboxRefused, [.manual("check that the mailbox exists and the service account may access it")],
                detail: "Exchange refused the mailbox (\(reason))")
        case .ewsBlocked(let reason):
            // The switch cannot read what changed since EWS stopped answering: an inbound snapshot catches it up.
            let steps: [Shape] =
                facts.graphConfigured
                ? [.setProtocol(.graph), .snapshot(.inbound)]
                : [
                    .manual(
                        "configure Microsoft Graph (docs/graph.md), then: snapsync mailbox set-protocol ADDR graph, "
                            + "and snapsync snapshot inbound --mailbox ADDR")
                ]
            return Verdict(.ewsBlocked, steps, detail: "EWS answers 403 with X-EWS-Policy-Reason (\(reason))")
        case .notProbed, .answered:
            break
        }
        var rejected: [ItemKind] = []
        var counts: [ItemKind: Int] = [:]
        if case .answered(let itemCounts, let rejectedStates) = m.exchange {
            counts = itemCounts
            rejected = rejectedStates
        }
        let invalid = Set(m.foldersNeedingSnapshot.map(\.kind) + rejected)
        let crmChanged = (m.crmChangesSinceOff ?? 1) > 0
        if !invalid.isEmpty {
            let reasons =
                m.foldersNeedingSnapshot.compactMap(\.reason)
                + (rejected.isEmpty ? [] : ["Exchange rejects the stored sync state"])
            let folders = invalid.map(\.rawValue).sorted().joined(separator: ", ")
            return Verdict(
                .exchangeRestored, enable + (outboundStale ? [.snapshot(.outbound)] : []) + [.snapshot(.inbound)],
                detail: "\(folders) need an inbound snapshot (\(Set(reasons).sorted().joined(separator: "; ")))"
                    + (outboundStale ? "; \(offText) as well" : ""))
        }
        if outboundStale || inboundStale {
            if outboundStale && crmChanged {
                return Verdict(
                    .syncWasOff, enable + [.snapshot(.outbound)] + (inboundStale ? [.snapshot(.inbound)] : []),
                    detail: "\(offText)" + (history.isOn ? ", switched back on without snapshots" : "")
                        + (m.crmChangesSinceOff.map { "; \($0) CRM change(s) since" } ?? ""))
            }
            if inboundStale || !history.isOn {
                return Verdict(
                    .crmDownSyncWasOff, enable + (inboundStale ? [.snapshot(.inbound)] : []),
                    detail: "\(offText); no CRM change since")
            }
        }
        if history.isOn && m.lastInbound == nil && m.lastOutbound == nil {
            if m.crmRows == 0 {
                return Verdict(
                    .newEmptyCRM, [.snapshot(.inbound)],
                    detail:
                        "no snapshot yet and no CRM records for the mailbox (large mailboxes run in stages with ANALYZE between them)"
                )
            }
            // Outbound first, as in scenario 8 (CRM records first, then Exchange's), so that what is printed is what
            // `--fix` does when findings are merged; either order converges for a first switch-on.
            return Verdict(
                .firstSync, [.snapshot(.outbound), .snapshot(.inbound)],
                detail:
                    "no snapshot yet; \(m.crmRows) CRM record(s) belong in the mailbox (run it in a low-traffic window)"
            )
        }
        // Data lost: most links point at CRM rows that are gone (and not queued), or at items Exchange no longer has.
        for kind in [ItemKind.appointments, .tasks] {
            let links = m.links[kind] ?? 0, orphans = m.orphanLinks[kind] ?? 0
            if orphans > 0 && orphans * 2 >= links {
                return Verdict(
                    .dataLost, [.snapshot(.fullFromExchange)],
                    detail:
                        "\(orphans) of \(links) \(kind.rawValue) links point at CRM rows that are gone: the CRM lost them; "
                        + "clean the CRM side and restore it from Exchange (explicit direction, confirmation)")
            }
        }
        for kind in ItemKind.allCases {
            let links = m.links[kind] ?? 0
            if let count = counts[kind], links > 0, count * 2 < links {
                return Verdict(
                    .dataLost, [.snapshot(.fullFromCRM)],
                    detail:
                        "Exchange holds \(count) \(kind.rawValue) item(s) for \(links) links: the mailbox lost them; "
                        + "clean the Exchange side and restore it from the CRM (explicit direction, confirmation)")
            }
        }
        return nil
    }

    static func isEnable(_ step: RecoveryStep) -> Bool { if case .enableSync = step { true } else { false } }

    /// Merges steps of several findings in the contract's order (protocol switches, switch on, resume, remove duplicates, snapshots,
    /// requeue), one snapshot run per direction.
    static func merge(_ steps: [RecoveryStep]) -> [RecoveryStep] {
        var switches: [RecoveryStep] = []
        var enables: [RecoveryStep] = []
        var resumes: [RecoveryStep] = []
        var snapshots: [SnapshotDirection: [String]] = [:]
        var retry = false
        var duplicated: [String] = []
        for step in steps {
            switch step {
            case .setProtocol: if !switches.contains(step) { switches.append(step) }
            case .enableSync: if !enables.contains(step) { enables.append(step) }
            case .resume: if !resumes.contains(step) { resumes.append(step) }
            case .removeDuplicates(let mailboxes): duplicated += mailboxes
            case .snapshot(let direction, let mailboxes): snapshots[direction, default: []] += mailboxes
            case .retryParked: retry = true
            case .none, .manual: continue
            }
        }
        enables.sort {
            ($0 == .enableSync(mailbox: nil) ? "" : $0.description)
                < ($1 == .enableSync(mailbox: nil) ? "" : $1.description)
        }
        // A mailbox only another protocol reaches is switched before anything reads or writes it.
        var plan = switches.sorted { $0.description < $1.description } + enables + resumes
        // Extra copies go before any snapshot writes to their folders (and their kept copies get linked first).
        if !duplicated.isEmpty { plan.append(.removeDuplicates(mailboxes: Array(Set(duplicated)).sorted())) }
        for direction in [SnapshotDirection.fullFromExchange, .fullFromCRM, .outbound, .inbound] {
            if let mailboxes = snapshots[direction] {
                plan.append(.snapshot(direction, mailboxes: Array(Set(mailboxes)).sorted()))
            }
        }
        if retry { plan.append(.retryParked) }
        return plan
    }
}

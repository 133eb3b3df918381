import Foundation

/// What `snapsync doctor` gathered from PostgreSQL and Exchange: the input of ``RecoveryDiagnosis``.
/// Plain values only, so the diagnosis is decided without IO.
public struct RecoveryFacts: Sendable, Hashable {
    /// When the facts were gathered.
    public var now: Date
    /// False when PostgreSQL did not answer: every other database fact is then unknown (empty).
    public var postgresReachable: Bool
    /// Whether sync is switched on globally now.
    public var globalSyncEnabled: Bool
    /// Every journaled switch transition (global and per mailbox), any order.
    public var journal: [SwitchTransition]
    /// The mailboxes looked at (every mailbox with a CRM user, or the one asked for).
    public var mailboxes: [MailboxFacts]
    public var outbox: OutboxFacts
    /// Snapshot runs still marked running.
    public var unfinishedRuns: [UnfinishedRun]
    /// Whether Microsoft Graph's settings are configured (a mailbox EWS is blocked for can be switched to it).
    public var graphConfigured = false

    public init(
        now: Date, postgresReachable: Bool = true, globalSyncEnabled: Bool, journal: [SwitchTransition] = [],
        mailboxes: [MailboxFacts] = [], outbox: OutboxFacts = OutboxFacts(), unfinishedRuns: [UnfinishedRun] = []
    ) {
        self.now = now
        self.postgresReachable = postgresReachable
        self.globalSyncEnabled = globalSyncEnabled
        self.journal = journal
        self.mailboxes = mailboxes
        self.outbox = outbox
        self.unfinishedRuns = unfinishedRuns
    }

    /// The facts when PostgreSQL did not answer (`exchangeReachable`: whether Exchange answered a probe, nil: not probed).
    public static func postgresDown(now: Date, exchangeReachable: Bool?) -> RecoveryFacts {
        var facts = RecoveryFacts(now: now, postgresReachable: false, globalSyncEnabled: false)
        facts.exchangeWhilePostgresDown = exchangeReachable
        return facts
    }

    /// Whether Exchange answered while PostgreSQL was down (nil: not probed).
    public var exchangeWhilePostgresDown: Bool?
}

/// One journaled switch of sync (`mailbox` nil: the global switch).
public struct SwitchTransition: Sendable, Hashable {
    public var at: Date
    public var mailbox: String?
    public var enabled: Bool
    public var actor: String
    public var note: String?

    public init(at: Date, mailbox: String?, enabled: Bool, actor: String = "", note: String? = nil) {
        self.at = at
        self.mailbox = mailbox?.lowercased()
        self.enabled = enabled
        self.actor = actor
        self.note = note
    }

    /// The note bulk onboarding journals when it deactivates a mailbox (``OnboardingDecision``).
    public static let deactivatedNote = "deactivated by bulk onboarding"
}

/// Outbox figures.
public struct OutboxFacts: Sendable, Hashable {
    public var pending: Int
    public var retrying: Int
    public var parked: Int
    /// When the oldest pending entry was queued.
    public var oldest: Date?
    /// Reasons of (some) parked entries, for the report.
    public var parkedReasons: [String]

    public init(pending: Int = 0, retrying: Int = 0, parked: Int = 0, oldest: Date? = nil, parkedReasons: [String] = [])
    {
        self.pending = pending
        self.retrying = retrying
        self.parked = parked
        self.oldest = oldest
        self.parkedReasons = parkedReasons
    }
}

/// A snapshot run still marked running.
public struct UnfinishedRun: Sendable, Hashable {
    public var id: Int64
    public var direction: SnapshotDirection
    public var createdAt: Date
    /// Mailboxes of the run a worker holds a live lease on: the run is being carried out elsewhere.
    public var activeMailboxes: Int

    public init(id: Int64, direction: SnapshotDirection, createdAt: Date, activeMailboxes: Int = 0) {
        self.id = id
        self.direction = direction
        self.createdAt = createdAt
        self.activeMailboxes = activeMailboxes
    }
}

/// What Exchange said when probed for one mailbox.
public enum ExchangeProbe: Sendable, Hashable {
    /// Not asked (e.g. Exchange already failed for another mailbox).
    case notProbed
    /// Exchange did not answer (down, throttling, timeout).
    case unreachable(String)
    /// Exchange answered but refused the mailbox (no such mailbox, access denied).
    case refused(String)
    /// EWS answered 403 with `X-EWS-Policy-Reason`: Exchange Online blocks EWS for the mailbox (the header's text).
    case ewsBlocked(String)
    /// Exchange answered: item counts per kind (when it said) and the folders whose stored sync state it rejected.
    case answered(itemCounts: [ItemKind: Int], rejectedSyncStates: [ItemKind])
}

/// A folder marked as needing an inbound snapshot, with the reason.
public struct FolderNeedingSnapshot: Sendable, Hashable {
    public var kind: ItemKind
    public var reason: String?
    public init(kind: ItemKind, reason: String?) {
        self.kind = kind
        self.reason = reason
    }
}

/// A completed snapshot of a mailbox.
public struct CompletedSnapshot: Sendable, Hashable {
    public var runID: Int64
    /// When the run was started.
    public var startedAt: Date
    public init(runID: Int64, startedAt: Date) {
        self.runID = runID
        self.startedAt = startedAt
    }
}

/// The facts about one mailbox.
public struct MailboxFacts: Sendable, Hashable {
    public var mailbox: String
    /// The mailbox's own switch (nil: none, it follows the global switch).
    public var ownSwitch: Bool?
    /// The newest completed snapshot that brought Exchange's items into the CRM (inbound or full from Exchange).
    public var lastInbound: CompletedSnapshot?
    /// The newest completed snapshot that brought the CRM's records into Exchange (outbound or full from the CRM).
    public var lastOutbound: CompletedSnapshot?
    /// Folders marked as needing an inbound snapshot.
    public var foldersNeedingSnapshot: [FolderNeedingSnapshot]
    /// CRM rows that belong in the mailbox (covered contacts, owned appointments and tasks).
    public var crmRows: Int
    /// Links from the mailbox's items to CRM rows, per kind.
    public var links: [ItemKind: Int]
    /// Links whose CRM row no longer exists and is not queued for delivery, per kind.
    public var orphanLinks: [ItemKind: Int]
    /// CRM rows of the mailbox changed (or linked rows deleted) while sync was off (nil: sync was never switched off).
    public var crmChangesSinceOff: Int?
    public var exchange: ExchangeProbe
    /// Extra copies per kind: items carrying the same stamped CRM id as another item of the folder.
    public var duplicateItems: [ItemKind: Int] = [:]
    /// The protocol the mailbox is reached by, when the doctor knows it.
    public var `protocol`: ExchangeProtocol?

    public init(
        mailbox: String, ownSwitch: Bool? = nil, lastInbound: CompletedSnapshot? = nil,
        lastOutbound: CompletedSnapshot? = nil,
        foldersNeedingSnapshot: [FolderNeedingSnapshot] = [], crmRows: Int = 0, links: [ItemKind: Int] = [:],
        orphanLinks: [ItemKind: Int] = [:], crmChangesSinceOff: Int? = nil, exchange: ExchangeProbe = .notProbed
    ) {
        self.mailbox = mailbox.lowercased()
        self.ownSwitch = ownSwitch
        self.lastInbound = lastInbound
        self.lastOutbound = lastOutbound
        self.foldersNeedingSnapshot = foldersNeedingSnapshot
        self.crmRows = crmRows
        self.links = links
        self.orphanLinks = orphanLinks
        self.crmChangesSinceOff = crmChangesSinceOff
        self.exchange = exchange
    }
}

/// The switch history of one mailbox (global and own switch combined), derived from the journal.
public struct SwitchHistory: Sendable, Hashable {
    /// Sync is effectively on for the mailbox now.
    public var isOn: Bool
    /// Sync was effectively on at some point.
    public var wasEverOn: Bool
    /// When sync last went from on to off for the mailbox (nil: never).
    public var lastSwitchedOff: Date?
    /// When sync was switched back on after `lastSwitchedOff` (nil: still off, or never off).
    public var switchedBackOn: Date?
    /// The mailbox's own switch was last turned off by bulk onboarding's deactivation.
    public var deactivated: Bool

    /// Replays the journal (oldest first) for `mailbox`: effective = global && own (own defaults to on, global to off).
    public init(mailbox: String, journal: [SwitchTransition], globalNow: Bool, ownNow: Bool?) {
        let address = mailbox.lowercased()
        var global = false
        var own = true
        var on = false
        var everOn = false
        var off: Date?
        var back: Date?
        var deactivated = false
        for entry in journal.sorted(by: { $0.at < $1.at }) where entry.mailbox == nil || entry.mailbox == address {
            if entry.mailbox == nil {
                global = entry.enabled
            } else {
                own = entry.enabled
                deactivated = !entry.enabled && entry.note == SwitchTransition.deactivatedNote
            }
            let now = global && own
            if now && !on {
                everOn = true
                if off != nil { back = entry.at }
            } else if !now && on {
                off = entry.at
                back = nil
            }
            on = now
        }
        // The settings are authoritative over an incomplete journal.
        let current = globalNow && (ownNow ?? true)
        if current != on {
            if current {
                everOn = true; if off != nil { back = back ?? off }
            } else if on {
                off = off ?? .distantPast; back = nil
            }
        }
        self.isOn = current
        self.wasEverOn = everOn
        self.lastSwitchedOff = off
        self.switchedBackOn = back
        self.deactivated = deactivated && ownNow == false
    }
}

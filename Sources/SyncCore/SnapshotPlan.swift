import Foundation

/// Which way a snapshot copies data.
public enum SnapshotDirection: String, Sendable, Hashable, Codable, CaseIterable {
    /// Exchange → CRM (appointments and tasks).
    case inbound
    /// CRM → Exchange (contacts, appointments, tasks).
    case outbound
    /// Clean the CRM side of the mailboxes, then restore it from Exchange.
    case fullFromExchange = "full-from-exchange"
    /// Clean the Exchange side of the mailboxes, then restore it from the CRM.
    case fullFromCRM = "full-from-crm"

    /// The kinds a direction can move: contacts only ever go CRM → Exchange.
    public var supportedKinds: [ItemKind] {
        switch self {
        case .inbound, .fullFromExchange: [.appointments, .tasks]
        case .outbound, .fullFromCRM: [.contacts, .appointments, .tasks]
        }
    }
}

/// One step of a mailbox's work in a snapshot run. Stages run in order; each commits its checkpoint with
/// its data, so a killed run resumes inside the stage it was in.
public enum SnapshotStage: String, Sendable, Hashable, Codable, CaseIterable {
    /// Delete the CRM rows synced with the mailbox (full snapshot from Exchange).
    case cleanCRM = "clean-crm"
    /// Delete the synced items from the mailbox (full snapshot from the CRM).
    case cleanExchange = "clean-exchange"
    /// Take the folder's current sync state before reading it, so live sync later re-reads anything that
    /// changes during the snapshot.
    case baseline
    /// Page every item out of the folder into staging (COPY), checkpointed per page.
    case extract
    /// Match staged items to CRM rows: existing link, then stamped CRM id, then iCalendar UID.
    case match
    /// Insert and update CRM rows set-based from staging; link attendees to contacts.
    case merge
    /// Delete CRM rows linked to the mailbox whose item is gone (guarded against mass deletion).
    case reconcile
    /// Store the baseline sync state for live sync and clear staging.
    case finalize
    /// Create and update items from CRM rows (keyset pages, batches), checkpointed per batch.
    case push
    /// Delete items whose CRM row is gone or no longer belongs in the mailbox.
    case delete

    /// The stages a direction runs for one mailbox folder, in order.
    public static func stages(for direction: SnapshotDirection) -> [SnapshotStage] {
        switch direction {
        case .inbound: [.baseline, .extract, .match, .merge, .reconcile, .finalize]
        case .fullFromExchange: [.cleanCRM, .baseline, .extract, .match, .merge, .reconcile, .finalize]
        case .outbound: [.push, .delete]
        case .fullFromCRM: [.cleanExchange, .push]
        }
    }
}

/// A date range filter for a snapshot: items whose start (or last modification) falls in the range; a
/// recurring series is in when its range overlaps.
public struct SnapshotDateRange: Sendable, Hashable, Codable {
    /// Which date the range applies to.
    public enum Field: String, Sendable, Hashable, Codable, CaseIterable { case start, modified }
    public var from: Date?
    public var to: Date?
    public var field: Field

    public init(from: Date?, to: Date?, field: Field = .start) {
        self.from = from
        self.to = to
        self.field = field
    }

    /// True when `[start, end]` (an item, or a series from its first start to its last possible end)
    /// overlaps the range. A nil `end` is open-ended.
    public func overlaps(start: Date, end: Date?) -> Bool {
        if let to, start >= to { return false }
        if let from, let end, end < from { return false }
        return true
    }

    /// True when a single date (a task's start or due date, a modification time) lies in the range.
    public func contains(_ date: Date) -> Bool {
        if let from, date < from { return false }
        if let to, date >= to { return false }
        return true
    }
}

extension RecurrenceRule {
    /// A conservative upper bound on when a series starting at `seriesStart` with occurrences of
    /// `duration` ends (nil: never ends). Used to decide whether a series overlaps a date range without
    /// expanding occurrences; it may overestimate, never underestimate.
    public func latestEnd(seriesStart: Date, duration: TimeInterval) -> Date? {
        switch end {
        case .never:
            return nil
        case .until(let day):
            return day.startOfDayUTC.addingTimeInterval(86_400 * 2 + max(duration, 0))
        case .count(let count):
            let periods = Double(max(count, 1) * max(interval, 1))
            let days: Double =
                switch frequency {
                case .daily: periods
                case .weekly: periods * 7
                case .monthly: periods * 31
                case .yearly: periods * 366
                }
            return seriesStart.addingTimeInterval(days * 86_400 + max(duration, 0) + 86_400)
        }
    }
}

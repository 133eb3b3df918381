/// The status of a snapshot run (`sync.runs.status`).
public enum RunStatus: String, Sendable, Hashable, CaseIterable {
    case running
    case completed
    /// Done, but some items were quarantined or a mailbox failed.
    case completedWithErrors = "completed_with_errors"
    case failed
    case cancelled
}

/// The status of a mailbox in a run (`sync.run_mailboxes.status`).
public enum MailboxRunStatus: String, Sendable, Hashable, CaseIterable {
    case pending
    /// Claimed by a worker holding its lease.
    case running
    case done
    case failed
}

/// The status of one stage of a mailbox folder in a run (`sync.run_stages.status`).
public enum StageStatus: String, Sendable, Hashable, CaseIterable {
    case pending
    case running
    case done
    case failed
    case skipped

    /// True when a run has nothing left to do for the stage.
    public var isSettled: Bool { self == .done || self == .skipped }
}

/// Which way an item was travelling when it was quarantined (`sync.quarantine.direction`).
public enum QuarantineDirection: String, Sendable, Hashable, CaseIterable {
    /// Read from Exchange for the CRM.
    case inbound
    /// Written from the CRM to Exchange.
    case outbound
}

extension RawRepresentable where RawValue == String {
    /// The value a text column holds, or a ``SyncStoreError`` naming the column when it holds none of the known ones.
    static func decoded(_ text: String, column: String) throws(SyncStoreError) -> Self {
        guard let value = Self(rawValue: text) else {
            throw SyncStoreError(
                code: .unknownValue, message: "\(column) holds '\(text)', which this version of snapsync does not know")
        }
        return value
    }
}

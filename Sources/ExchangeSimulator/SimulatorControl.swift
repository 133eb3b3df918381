import Foundation
import Synchronization

/// The simulator's control surface, shared by the in-process Swift API and the JSON control API.
public final class SimulatorControl: Sendable {
    let store: Store
    let faults = Mutex(FaultState())
    let listener: Mutex<(any ListenerControl)?> = Mutex(nil)
    /// The Graph front-end's app registrations and mailbox access (set by the server at start).
    let graphAuth: Mutex<GraphAuth?> = Mutex(nil)
    /// Mailboxes whose EWS requests answer 403 with `X-EWS-Policy-Reason` (Exchange Online's EWS block), by address.
    let ewsBlocked = Mutex<Set<String>>([])

    init(store: Store) { self.store = store }

    /// One mailbox's summary.
    public struct MailboxSummary: Codable, Sendable, Equatable {
        public var address: String
        public var contacts: Int
        public var calendar: Int
        public var tasks: Int
        public var deletedItems: Int
    }

    /// Errors of the control API.
    public struct ControlError: Error, CustomStringConvertible, Sendable {
        public var code: String
        public var detail: String
        public var description: String { "\(code): \(detail)" }
    }

    /// Creates a mailbox with the well-known folders; returns false when it already existed.
    @discardableResult
    public func createMailbox(_ address: String, displayName: String? = nil) -> Bool {
        store.withState { $0.createMailbox(address, displayName: displayName) }
    }

    public func mailboxes() -> [MailboxSummary] {
        store.withState { s in
            s.mailboxes.values.sorted { $0.address < $1.address }.map { m in
                MailboxSummary(
                    address: m.address, contacts: m.folders["contacts"]?.items.count ?? 0,
                    calendar: m.folders["calendar"]?.items.count ?? 0, tasks: m.folders["tasks"]?.items.count ?? 0,
                    deletedItems: m.folders["deleteditems"]?.items.count ?? 0)
            }
        }
    }

    /// Saves the current state of one mailbox (or every mailbox) under `name`.
    public func backup(name: String, mailbox: String? = nil) throws {
        try store.withState { s in
            if let mailbox {
                guard let m = s.mailbox(mailbox) else { throw ControlError(code: "NoSuchMailbox", detail: mailbox) }
                s.backups[name] = [m.address: m]
            } else {
                s.backups[name] = s.mailboxes
            }
            s.pending.backup(name)
        }
    }

    /// Names of the saved backups.
    public func backups() -> [String] { store.withState { $0.backups.keys.sorted() } }

    /// Rolls one mailbox (or every mailbox in the backup) back to backup `name`. Items get their older
    /// content and ChangeKeys; sync states issued after the backup become invalid
    /// (`ErrorInvalidSyncStateData`), states issued before it stay valid.
    public func restore(name: String, mailbox: String? = nil) throws {
        try store.withState { s in
            guard let backup = s.backups[name] else { throw ControlError(code: "NoSuchBackup", detail: name) }
            var targets = Array(backup.values)
            if let mailbox {
                guard let m = backup[StoreState.key(mailbox)] else {
                    throw ControlError(code: "NoSuchMailbox", detail: mailbox)
                }
                targets = [m]
            }
            for var m in targets {
                if let current = s.mailboxes[m.address], current.epoch == m.epoch {
                    m.invalidRanges = current.invalidRanges
                    if current.seq > m.seq {
                        // States issued after the backup name sequences in this range; states issued from
                        // now on get sequences above it, so they stay valid.
                        m.invalidRanges.append((m.seq + 1)...current.seq)
                        m.seq = current.seq + 1
                    }
                }
                s.mailboxes[m.address] = m
                s.pending.mailbox(m.address)
            }
        }
    }

    public func setFaults(_ config: FaultConfiguration) { faults.withLock { $0.config = config } }
    public func currentFaults() -> FaultConfiguration { faults.withLock { $0.config } }
    public func resetFaults() {
        faults.withLock {
            $0.config = FaultConfiguration(); $0.busyMatches = 0
        }
    }

    /// EWS requests received per operation since start or the last reset.
    public func counters() -> [String: Int] { faults.withLock { $0.counters } }
    public func resetCounters() { faults.withLock { $0.counters = [:] } }

    /// "Down": closes the EWS listening socket and every open connection (clients get connection
    /// refused) for `seconds`, or until `comeUp()` when nil.
    public func goDown(seconds: Double? = nil) async throws {
        guard let l = listener.withLock({ $0 }) else { return }
        try await l.goDown(seconds: seconds)
    }

    /// Reopens the EWS port after `goDown`.
    public func comeUp() async throws {
        guard let l = listener.withLock({ $0 }) else { return }
        try await l.comeUp()
    }
}

/// Implemented by the server so the control API can take the EWS port down and up.
protocol ListenerControl: Sendable {
    func goDown(seconds: Double?) async throws
    func comeUp() async throws
}

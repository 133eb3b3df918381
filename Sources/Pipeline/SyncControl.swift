import Logging
import SyncCore
import SyncStore

/// The administrator's changes of sync state outside runs: the sync switch (`snapsync sync enable|disable`) and
/// forgetting folder sync states (`snapsync mailbox reset-state`). `snapsync rerun` is ``SnapshotRunner/rerun(runID:stage:mailbox:kinds:allowMassDelete:options:onReset:)``.
public struct SyncControl: Sendable {
    public let database: any SyncStoreDatabase

    public init(database: any SyncStoreDatabase) { self.database = database }

    /// Switches sync on or off, globally (`mailbox` nil) or for one mailbox; the journal keeps `actor` and `note`.
    public func setEnabled(_ enabled: Bool, mailbox: String?, actor: String, note: String?) async throws {
        try await database.withConnection { store in
            try await store.setSyncEnabled(enabled, mailbox: mailbox, actor: actor, note: note)
        }
    }

    /// The mailboxes with a protocol of their own (lower-case address); the others follow `exchange_protocol`.
    public func mailboxProtocols() async throws -> [String: ExchangeProtocol] {
        try await database.withConnection { store in try await store.mailboxProtocols() }
    }

    /// Forgets the mailbox's sync states of `kinds`: live sync skips those folders until an inbound snapshot stores
    /// fresh ones. Returns how many states there were.
    public func resetFolderStates(mailbox: String, kinds: [ItemKind]) async throws -> Int {
        try await database.withConnection { store in try await store.resetFolderStates(mailbox: mailbox, kinds: kinds) }
    }
}

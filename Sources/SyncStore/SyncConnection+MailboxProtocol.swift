import Foundation
import Postgres
import SyncCore

// MARK: Protocol per mailbox

extension SyncConnection {
    public func mailboxProtocols() async throws -> [String: ExchangeProtocol] {
        try await MailboxProtocolStore.assignments(db: connection)
    }

    public func mailboxProtocolFacts(mailbox: String) async throws -> MailboxProtocolFacts {
        try await MailboxProtocolStore.facts(mailbox: mailbox, db: connection)
    }

    public func commitProtocolSwitch(_ commit: ProtocolSwitchCommit) async throws {
        try await MailboxProtocolStore.commit(commit, db: connection)
    }
}

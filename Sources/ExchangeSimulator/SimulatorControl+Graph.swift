import Foundation
import Synchronization

/// Control of the Graph front-end: app registrations, each app's mailbox scope (RBAC for Applications),
/// mailboxes without REST access, and expiring delta tokens.
extension SimulatorControl {
    private func withGraphAuth<T>(_ body: (inout GraphAuth.State) -> T) -> T? {
        guard let auth = graphAuth.withLock({ $0 }) else { return nil }
        return auth.state.withLock { body(&$0) }
    }

    /// Registers (or replaces) an app the token endpoint accepts.
    public func registerGraphApp(_ app: GraphApp) { _ = withGraphAuth { $0.apps[app.clientId] = app } }

    /// Limits `clientId` to `mailboxes` (nil: every mailbox); other mailboxes answer 403 `ErrorAccessDenied`.
    public func setGraphScope(clientId: String, mailboxes: [String]?) {
        _ = withGraphAuth { s in s.scopes[clientId] = mailboxes.map { Set($0.map { $0.lowercased() }) } }
    }

    /// Turns REST (Graph) access to `mailbox` off or on; off answers 404 `MailboxNotEnabledForRESTAPI`.
    public func setRESTEnabled(mailbox: String, _ enabled: Bool) {
        _ = withGraphAuth { s in
            if enabled {
                s.restDisabled.remove(mailbox.lowercased())
            } else {
                s.restDisabled.insert(mailbox.lowercased())
            }
        }
    }

    /// Blocks EWS for `mailbox` as Exchange Online's EWS retirement does (or lifts the block): its EWS requests
    /// answer 403 with `X-EWS-Policy-Reason`, while Graph still serves it.
    public func setEWSBlocked(mailbox: String, _ blocked: Bool) {
        ewsBlocked.withLock { set in
            if blocked { set.insert(mailbox.lowercased()) } else { set.remove(mailbox.lowercased()) }
        }
    }

    /// Whether EWS requests for `mailbox` are blocked.
    func isEWSBlocked(_ mailbox: String) -> Bool { ewsBlocked.withLock { $0.contains(mailbox.lowercased()) } }

    /// Invalidates every delta token (and EWS sync state) of `mailbox` issued so far: they answer 410
    /// `SyncStateNotFound` (EWS: `ErrorInvalidSyncStateData`), as after the service dropped its sync states.
    public func expireSyncStates(mailbox: String) throws {
        try store.withState { s in
            let k = StoreState.key(mailbox)
            guard var m = s.mailboxes[k] else { throw ControlError(code: "NoSuchMailbox", detail: mailbox) }
            m.invalidRanges.append(0...m.seq)
            m.seq += 1
            s.mailboxes[k] = m
            s.pending.mailbox(k)
        }
    }
}

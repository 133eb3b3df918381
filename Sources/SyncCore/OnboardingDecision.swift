import Foundation

/// A row of `sync.onboarding`: a mailbox to activate (link to its CRM user, switch sync on, optionally an
/// initial snapshot) or deactivate (switch its sync off).
public struct OnboardingRow: Sendable, Hashable {
    public var mailbox: String
    public var userLogin: String
    public var activate: Bool
    public var attempts: Int
    public var lastError: String?

    public init(mailbox: String, userLogin: String, activate: Bool = true, attempts: Int = 0, lastError: String? = nil)
    {
        self.mailbox = mailbox
        self.userLogin = userLogin
        self.activate = activate
        self.attempts = attempts
        self.lastError = lastError
    }
}

/// What bulk onboarding does with a row and how the mailbox gets linked to its CRM user. Pure.
public enum OnboardingDecision: Sendable, Hashable {
    /// Test the mailbox, link it, switch its sync on, optionally snapshot it; delete the row on success.
    case activate
    /// Switch the mailbox's sync off (journaled) and delete the row.
    case deactivate
    /// The row failed `attempts` times already: kept with its reason, not retried.
    case skip(attempts: Int, lastError: String?)

    /// The decision for a row, given the retry limit.
    public static func decide(_ row: OnboardingRow, maxAttempts: Int) -> OnboardingDecision {
        if row.attempts >= maxAttempts { return .skip(attempts: row.attempts, lastError: row.lastError) }
        return row.activate ? .activate : .deactivate
    }

    /// The CRM user a login names: its id and current mailbox.
    public struct CRMUser: Sendable, Hashable {
        public var id: UUID
        public var login: String
        public var mailbox: String?
        public init(id: UUID, login: String, mailbox: String?) {
            self.id = id
            self.login = login
            self.mailbox = mailbox
        }
    }

    /// How the mailbox gets linked to the user.
    public enum Link: Sendable, Hashable {
        /// Set `crm.users.mailbox` of this user (it has none).
        case setMailbox(userID: UUID)
        /// The user already has this mailbox.
        case alreadyLinked(userID: UUID)
        /// Cannot link: the reason, kept in the row's `last_error`.
        case refuse(String)
    }

    /// Links `mailbox` to the user with `login` (`user`, nil when there is none); `holder` is the user that
    /// already has the mailbox, if any.
    public static func link(mailbox: String, login: String, user: CRMUser?, holder: CRMUser?) -> Link {
        guard let user else { return .refuse("no CRM user has the login \(login)") }
        if let holder, holder.id != user.id {
            return .refuse("the mailbox \(mailbox) belongs to the CRM user \(holder.login)")
        }
        if let current = user.mailbox {
            if current.lowercased() == mailbox.lowercased() { return .alreadyLinked(userID: user.id) }
            return .refuse("the CRM user \(login) already has the mailbox \(current)")
        }
        return .setMailbox(userID: user.id)
    }

    /// The date window of an initial snapshot: `daysPast` days before `now` to `daysFuture` days after (each
    /// side open when nil); nil when neither is given (no initial snapshot).
    public static func window(now: Date, daysPast: Int?, daysFuture: Int?) -> SnapshotDateRange? {
        guard daysPast != nil || daysFuture != nil else { return nil }
        let today = now.timeIntervalSince1970 - now.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400)
        return SnapshotDateRange(
            from: daysPast.map { Date(timeIntervalSince1970: today - Double($0) * 86_400) },
            to: daysFuture.map { Date(timeIntervalSince1970: today + Double($0 + 1) * 86_400) })
    }
}

import Foundation
import Postgres
import SyncCore

/// The bulk onboarding staging table (`sql/0004_onboarding.sql`) and the CRM user links it sets.
public enum OnboardingStore {
    /// Every row, by mailbox.
    public static func rows(db: isolated PostgresConnection) throws(PostgresError) -> [OnboardingRow] {
        try db.query("SELECT mailbox, user_login, activate, attempts, last_error FROM sync.onboarding ORDER BY mailbox")
            .map { (row) throws(PostgresError) in
                OnboardingRow(
                    mailbox: try row.decode(at: 0), userLogin: try row.decode(at: 1), activate: try row.decode(at: 2),
                    attempts: try row.decode(at: 3), lastError: try row.decode(at: 4))
            }
    }

    /// Removes a row that was carried out.
    public static func delete(mailbox: String, db: isolated PostgresConnection) throws(PostgresError) {
        try db.execute("DELETE FROM sync.onboarding WHERE mailbox = $1", [mailbox])
    }

    /// Counts a failed attempt and keeps its reason.
    public static func recordFailure(
        mailbox: String, error: String, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            "UPDATE sync.onboarding SET attempts = attempts + 1, last_error = $2, updated_at = now() WHERE mailbox = $1",
            [mailbox, error])
    }

    /// The CRM user with this login, and the one that has this mailbox (case-insensitive), if any.
    public static func users(
        login: String, mailbox: String, db: isolated PostgresConnection
    ) throws(PostgresError)
        -> (user: OnboardingDecision.CRMUser?, holder: OnboardingDecision.CRMUser?)
    {
        func decode(_ row: PostgresRow) throws(PostgresError) -> OnboardingDecision.CRMUser {
            OnboardingDecision.CRMUser(
                id: try row.decode(at: 0), login: try row.decode(at: 1), mailbox: try row.decode(at: 2))
        }
        let user = try db.query("SELECT id, login, mailbox FROM crm.users WHERE login = $1", [login]).first.map(decode)
        let holder = try db.query(
            "SELECT id, login, mailbox FROM crm.users WHERE lower(mailbox) = lower($1)", [mailbox]
        ).first.map(decode)
        return (user, holder)
    }

    /// Sets the user's mailbox when it has none; false when it got one meanwhile.
    public static func setMailbox(
        _ mailbox: String, userID: UUID, db: isolated PostgresConnection
    ) throws(PostgresError) -> Bool {
        try db.execute("UPDATE crm.users SET mailbox = $1 WHERE id = $2 AND mailbox IS NULL", [mailbox, userID]) == 1
    }
}

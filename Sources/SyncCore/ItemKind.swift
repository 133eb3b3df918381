/// The kinds of item snapsync keeps in sync.
public enum ItemKind: String, Sendable, CaseIterable, Codable {
    /// CRM → Exchange only: a contact reaches every mailbox whose user covers it.
    case contacts
    /// Both ways; recurring series are synced as a master plus exceptions.
    case appointments
    /// Both ways.
    case tasks
}

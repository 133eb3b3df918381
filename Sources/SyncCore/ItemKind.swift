/// The kinds of item snapsync keeps in sync.
public enum ItemKind: String, Sendable, CaseIterable, Codable {
    /// CRM → Exchange only: a contact reaches every mailbox whose user covers it.
    case contacts
    /// Both ways; recurring series are synced as a master plus exceptions.
    case appointments
    /// Both ways.
    case tasks

    /// Whether Exchange's changes come back to the CRM (appointments, tasks), not only the CRM's go out (contacts).
    public var syncsBothWays: Bool { self != .contacts }
}

import Foundation

/// How inbound live sync resolves an item both sides changed since its last sync.
public enum ConflictPolicy: String, Sendable, Hashable, CaseIterable {
    case crmWins = "crm-wins"
    case exchangeWins = "exchange-wins"
    case newestWins = "newest-wins"

    /// True when the Exchange side should win.
    public func exchangeWins(crmUpdatedAt: Date, exchangeModifiedAt: Date?) -> Bool {
        switch self {
        case .crmWins: false
        case .exchangeWins: true
        case .newestWins: (exchangeModifiedAt ?? .distantPast) > crmUpdatedAt
        }
    }
}

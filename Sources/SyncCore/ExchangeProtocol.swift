/// How snapsync reaches a mailbox: EWS (Exchange Server on-premises) or Microsoft Graph (Exchange Online).
public enum ExchangeProtocol: String, Sendable, Hashable, Codable, CaseIterable {
    case ews
    case graph
}

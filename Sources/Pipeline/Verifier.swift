import Foundation
import Logging
import SyncCore
import SyncStore

/// One way a mailbox folder and the CRM disagree.
public struct VerifyDifference: Sendable, Hashable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable {
        /// The CRM row belongs in the mailbox but no item holds it.
        case missingInExchange
        /// The item has no CRM row (appointments, tasks; or a contact snapsync once synced).
        case missingInCRM
        /// Two items hold the same CRM row.
        case duplicateInExchange
        /// The mapped fields that differ (names only, never values).
        case fieldsDiffer([String])
        /// The item cannot be read or mapped (the source's code; an inbound run quarantines it).
        case unreadable(String)
    }

    public var mailbox: String
    public var kind: ItemKind
    public var crmID: UUID?
    public var itemID: String?
    public var problem: Problem

    public var description: String {
        let what: String =
            switch problem {
            case .missingInExchange: "missing in Exchange"
            case .missingInCRM: "missing in the CRM"
            case .duplicateInExchange: "duplicate item in Exchange"
            case .fieldsDiffer(let fields): "fields differ: \(fields.joined(separator: ", "))"
            case .unreadable(let code): "item unreadable in Exchange (\(code))"
            }
        let ids = [crmID.map { "crm \($0.lowercasedString)" }, itemID.map { "item \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
        return "\(mailbox) \(kind.rawValue): \(what) (\(ids))"
    }
}

/// Compares the CRM and the mailboxes field by mapped field (what "in sync" means in the recovery contract).
public struct Verifier: Sendable {
    public let source: any MailboxSource
    public let logger: Logger
    public var pageSize = 1000
    public var fetchBatchSize = 250

    public init(source: any MailboxSource, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    /// Every difference of the mailbox's folders of `kinds`; empty when in sync.
    public func verify(
        _ mailbox: MailboxOwner, kinds: [ItemKind] = ItemKind.allCases,
        store: any SyncStoreConnection
    ) async throws -> [VerifyDifference] {
        var differences: [VerifyDifference] = []
        for kind in kinds {
            let address = mailbox.smtpAddress
            let records = try await store.records(kind, mailbox: mailbox)
            let links = try await store.links(mailbox: address, kind: kind)
            var seen = Set<UUID>()
            var cursor: String?
            while true {
                let page = try await source.itemPage(in: mailbox, kind: kind, after: cursor, pageSize: pageSize)
                var results = page.items ?? []
                if page.items == nil {
                    var start = 0
                    while start < page.refs.count {
                        let refs = Array(page.refs[start..<min(start + fetchBatchSize, page.refs.count)])
                        start += refs.count
                        for (ref, result) in zip(refs, try await source.items(refs, in: mailbox, kind: kind)) {
                            // A failure names the item it is about.
                            results.append(
                                result.mapError {
                                    var e = $0; e.itemID = e.itemID ?? ref.id; return e
                                })
                        }
                    }
                }
                for result in results {
                    let item: MailboxItem
                    switch result {
                    case .success(let read): item = read
                    case .failure(let error) where error.kind == .notFound: continue
                    case .failure(let error):
                        // Named as what it is, not as its CRM row missing in Exchange.
                        let crmID = error.itemID.flatMap { links[$0]?.crmID }
                        if let crmID { seen.insert(crmID) }
                        differences.append(
                            VerifyDifference(
                                mailbox: address, kind: kind, crmID: crmID, itemID: error.itemID,
                                problem: .unreadable(error.code)))
                        continue
                    }
                    let crmID = links[item.ref.id]?.crmID ?? item.crmID
                    func report(_ problem: VerifyDifference.Problem) {
                        differences.append(
                            VerifyDifference(
                                mailbox: address, kind: kind, crmID: crmID, itemID: item.ref.id, problem: problem))
                    }
                    guard let crmID else {
                        if kind != .contacts { report(.missingInCRM) }  // a user's own contacts are not synced
                        continue
                    }
                    guard let record = records[crmID] else {
                        report(.missingInCRM)
                        continue
                    }
                    guard seen.insert(crmID).inserted else {
                        report(.duplicateInExchange)
                        continue
                    }
                    let difference = RecordDifference(record.record, item.record)
                    if !difference.isEmpty { report(.fieldsDiffer(difference.fields)) }
                }
                guard let next = page.nextCursor else { break }
                cursor = next
            }
            for (id, _) in records where !seen.contains(id) {
                differences.append(
                    VerifyDifference(mailbox: address, kind: kind, crmID: id, itemID: nil, problem: .missingInExchange))
            }
        }
        return differences.sorted {
            ($0.kind.rawValue, $0.crmID?.uuidString ?? "", $0.itemID ?? "") < (
                $1.kind.rawValue, $1.crmID?.uuidString ?? "", $1.itemID ?? ""
            )
        }
    }
}

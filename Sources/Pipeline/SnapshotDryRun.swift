import Foundation
import Logging
import SyncCore
import SyncStore

/// What a snapshot would change in one mailbox folder.
public struct DryRunLine: Sendable, Hashable, CustomStringConvertible {
    public var mailbox: String
    public var kind: ItemKind
    public var create: Int
    public var update: Int
    public var delete: Int
    public var description: String {
        "\(mailbox) \(kind.rawValue): \(create) to create, \(update) to update, \(delete) to delete"
    }
}

/// `--dry-run`: counts what a snapshot would create, update and delete, changing nothing on either side.
public struct SnapshotDryRun: Sendable {
    public let source: any MailboxSource
    public var pageSize = 1000

    public init(source: any MailboxSource) { self.source = source }

    /// The counts per mailbox and kind of `request`.
    public func plan(_ request: RunRequest, store: any SyncStoreConnection) async throws -> [DryRunLine] {
        let owners = try await store.mailboxOwners(request.mailboxes)
        var lines: [DryRunLine] = []
        for owner in owners {
            for kind in request.kinds {
                switch request.direction {
                case .outbound, .fullFromCRM:
                    let counts = try await store.outboundPending(mailbox: owner, kind: kind)
                    if request.direction == .outbound {
                        lines.append(
                            DryRunLine(
                                mailbox: owner.smtpAddress, kind: kind, create: counts.create, update: counts.update,
                                delete: counts.delete))
                    } else {
                        let rows = try await store.records(kind, mailbox: owner).count
                        let items = try await itemRefs(owner, kind).count
                        lines.append(
                            DryRunLine(mailbox: owner.smtpAddress, kind: kind, create: rows, update: 0, delete: items))
                    }
                case .inbound, .fullFromExchange:
                    let address = owner.smtpAddress
                    let links = try await store.links(mailbox: address, kind: kind)
                    let refs = try await itemRefs(owner, kind)
                    if request.direction == .fullFromExchange {
                        let rows = try await store.records(kind, mailbox: owner).count
                        lines.append(
                            DryRunLine(mailbox: address, kind: kind, create: refs.count, update: 0, delete: rows))
                        continue
                    }
                    var create = 0, update = 0
                    var present = Set<String>()
                    for ref in refs {
                        present.insert(ref.id)
                        if let link = links[ref.id] {
                            if link.changeKey != ref.changeKey { update += 1 }
                        } else {
                            create += 1
                        }
                    }
                    let delete = links.keys.filter { !present.contains($0) }.count
                    lines.append(
                        DryRunLine(mailbox: address, kind: kind, create: create, update: update, delete: delete))
                }
            }
        }
        return lines
    }

    func itemRefs(_ owner: MailboxOwner, _ kind: ItemKind) async throws -> [MailboxItemRef] {
        try await source.allItemRefs(in: owner, kind: kind, pageSize: pageSize)
    }
}

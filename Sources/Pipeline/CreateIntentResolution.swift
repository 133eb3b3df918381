import Foundation
import Logging
import SyncCore
import SyncStore

/// Resolves the creates of a mailbox folder whose outcome is unknown (``CreateIntentStore``) before anything is
/// created there again, whichever command runs: the CRM ids of the open intents are looked up by the id stamped on
/// the items, what Exchange holds is linked (at ``LinkStore/unknownVersion``, so the next write brings it up to the
/// CRM row: a series may have been created without its exceptions) and the intents are cleared, in one
/// transaction. When the look-up fails (Exchange unavailable), the error is thrown and nothing is created.
enum CreateIntentResolution {
    /// Call holding the folder's lock (``SyncStoreConnection/withFolderLock(mailbox:kind:_:)``). Returns the items
    /// found, by CRM id (empty when no intent was open: one query).
    static func resolve(
        _ owner: MailboxOwner, kind: ItemKind, source: any MailboxSource, store: any SyncStoreConnection,
        logger: Logger
    ) async throws -> [UUID: MailboxItemRef] {
        let address = owner.smtpAddress
        let intents = try await store.createIntents(mailbox: address, kind: kind)
        guard !intents.isEmpty else { return [:] }
        let ids = Array(Set(intents.flatMap(\.crmIDs)))
        let found = try await source.findItems(crmIDs: ids, in: owner, kind: kind)
        let links = found.map { LinkStore.Link(crmID: $0.key, ref: $0.value, version: LinkStore.unknownVersion) }
        try await store.resolveCreateIntents(intents.map(\.id), links: links, mailbox: address, kind: kind)
        logger.notice(
            "creates of unknown outcome resolved by their stamped CRM ids",
            metadata: [
                "mailbox": "\(address)", "item.kind": "\(kind.rawValue)", "intent.batches": "\(intents.count)",
                "intent.items": "\(ids.count)", "intent.found": "\(found.count)",
            ])
        return found
    }
}

extension MailboxSourceError {
    /// A failed create that may still have left its item in Exchange: a series whose exceptions were not applied is
    /// deleted again, and when that delete failed too it is there with its CRM id stamped. Its create intent stays
    /// open, so the next write links it instead of creating another.
    var mayHaveLeftAnItem: Bool { code == "ExceptionsNotApplied" }
}

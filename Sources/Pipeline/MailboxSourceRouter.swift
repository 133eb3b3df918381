import Foundation
import Synchronization
import SyncCore

/// One ``MailboxSource`` over the sources of several protocols (a hybrid deployment): each call goes to the source
/// of its mailbox's protocol, the one set for the mailbox (`snapsync mailbox set-protocol`) or else the
/// configuration's default. A mailbox whose protocol has no source (no settings) is refused with a
/// `ProtocolNotConfigured` error naming it, a configuration error: its stages fail once, its live-sync changes stay
/// queued until the protocol is configured, and the other mailboxes go on.
public final class MailboxSourceRouter: MailboxSource {
    /// The run-log event naming the protocol a mailbox of a run is reached by (its message is the protocol).
    public static let protocolEvent = "protocol"

    public let sources: [ExchangeProtocol: any MailboxSource]
    public let defaultProtocol: ExchangeProtocol
    private let assignments: Mutex<[String: ExchangeProtocol]>

    /// `assignments` by mailbox address (any case).
    public init(
        sources: [ExchangeProtocol: any MailboxSource], defaultProtocol: ExchangeProtocol,
        assignments: [String: ExchangeProtocol] = [:]
    ) {
        self.sources = sources
        self.defaultProtocol = defaultProtocol
        self.assignments = Mutex(Dictionary(assignments.map { ($0.key.lowercased(), $0.value) }) { _, last in last })
    }

    /// The protocols with a source.
    public var configured: Set<ExchangeProtocol> { Set(sources.keys) }

    /// The protocol the mailbox is reached by.
    public func protocolOf(_ mailbox: String) -> ExchangeProtocol {
        assignments.withLock { $0[mailbox.lowercased()] } ?? defaultProtocol
    }

    /// Routes the mailbox's later calls to `protocol`'s source.
    public func assign(_ protocol: ExchangeProtocol, to mailbox: String) {
        assignments.withLock { $0[mailbox.lowercased()] = `protocol` }
    }

    /// The source of `protocol`, or the error naming the mailbox when the protocol has no settings.
    public func source(
        _ protocol: ExchangeProtocol, for mailbox: String
    ) throws(MailboxSourceError) -> any MailboxSource {
        guard let source = sources[`protocol`] else {
            throw MailboxSourceError(
                kind: .mailboxRefused, code: "ProtocolNotConfigured",
                message:
                    "\(mailbox) is reached by \(`protocol`.rawValue), which has no settings: configure it or run "
                    + "snapsync mailbox set-protocol \(mailbox) \(configured.sorted { $0.rawValue < $1.rawValue }.first?.rawValue ?? "ews")"
            )
        }
        return source
    }

    func source(for mailbox: MailboxOwner) throws(MailboxSourceError) -> any MailboxSource {
        try source(protocolOf(mailbox.smtpAddress), for: mailbox.smtpAddress)
    }

    public func itemRefs(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        try await source(for: mailbox).itemRefs(in: mailbox, kind: kind, after: cursor, pageSize: pageSize)
    }

    public func itemPage(
        in mailbox: MailboxOwner, kind: ItemKind, after cursor: String?, pageSize: Int
    ) async throws(MailboxSourceError) -> MailboxPage {
        try await source(for: mailbox).itemPage(in: mailbox, kind: kind, after: cursor, pageSize: pageSize)
    }

    public func items(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [Result<MailboxItem, MailboxSourceError>] {
        try await source(for: mailbox).items(refs, in: mailbox, kind: kind)
    }

    public func create(
        _ records: [MailboxRecord], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>] {
        try await source(for: mailbox).create(records, in: mailbox)
    }

    public func update(
        _ updates: [MailboxUpdate], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>] {
        try await source(for: mailbox).update(updates, in: mailbox)
    }

    public func delete(
        _ refs: [MailboxItemRef], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [Result<Void, MailboxSourceError>] {
        try await source(for: mailbox).delete(refs, in: mailbox, kind: kind)
    }

    public func findItems(
        crmIDs: [UUID], in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: MailboxItemRef] {
        try await source(for: mailbox).findItems(crmIDs: crmIDs, in: mailbox, kind: kind)
    }

    public func stampedItems(
        in mailbox: MailboxOwner, kind: ItemKind
    ) async throws(MailboxSourceError) -> [UUID: [MailboxItemRef]] {
        try await source(for: mailbox).stampedItems(in: mailbox, kind: kind)
    }

    public func changes(
        in mailbox: MailboxOwner, kind: ItemKind, since syncState: String?, window: MailboxChangeWindow,
        maxChanges: Int
    ) async throws(MailboxSourceError) -> MailboxChanges {
        try await source(for: mailbox).changes(
            in: mailbox, kind: kind, since: syncState, window: window, maxChanges: maxChanges)
    }

    /// Ids of one protocol are answered as they are; between protocols, Graph's source translates.
    public func translateItemIDs(
        _ ids: [String], from: ExchangeProtocol, to: ExchangeProtocol, in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [String: String] {
        let translator = from == to ? from : .graph
        return try await source(translator, for: mailbox.smtpAddress).translateItemIDs(
            ids, from: from, to: to, in: mailbox)
    }

    public func carryOver(
        _ items: [(ref: MailboxItemRef, record: MailboxRecord)], in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [Result<MailboxItemRef, MailboxSourceError>] {
        try await source(for: mailbox).carryOver(items, in: mailbox)
    }
}

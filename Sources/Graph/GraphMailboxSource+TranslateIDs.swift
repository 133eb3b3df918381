import Foundation
import HTTP
import SyncCore

extension GraphMailboxSource {
    /// The id type `translateExchangeIds` names each protocol's ids by: EWS ids, and the immutable REST ids this
    /// source asks Graph for (`Prefer: IdType="ImmutableId"`).
    static func idType(_ protocol: ExchangeProtocol) -> String {
        switch `protocol` {
        case .ews: "ewsId"
        case .graph: "restImmutableEntryId"
        }
    }

    /// Translates ids between EWS and Graph with `translateExchangeIds` (at most 1,000 a call); ids Graph gives no
    /// target for are absent from the result.
    public func translateItemIDs(
        _ ids: [String], from: ExchangeProtocol, to: ExchangeProtocol, in mailbox: MailboxOwner
    ) async throws(MailboxSourceError) -> [String: String] {
        if from == to || ids.isEmpty { return Dictionary(ids.map { ($0, $0) }) { first, _ in first } }
        guard ids.count <= Self.maxTranslatedIDs else {
            throw MailboxSourceError(
                kind: .permanent, code: "TooManyIds",
                message: "translateExchangeIds takes at most \(Self.maxTranslatedIDs) ids, not \(ids.count)")
        }
        let body: GraphJSON = [
            "inputIds": .array(ids.map(GraphJSON.string)), "sourceIdType": .string(Self.idType(from)),
            "targetIdType": .string(Self.idType(to)),
        ]
        let answer = try await neutral { () async throws(GraphError) in
            try await client.send(
                GraphRequest(
                    .post, GraphClient.user(mailbox.smtpAddress) + "/translateExchangeIds", body: body,
                    operation: "POST translateExchangeIds", isIdempotent: true),
                mailbox: mailbox.smtpAddress)
        }
        guard let values = answer.body?["value"]?.array else {
            throw MailboxSourceError(
                kind: .permanent, code: "UndecodableResponse",
                message: "Graph translateExchangeIds for \(mailbox.smtpAddress) without value")
        }
        var result: [String: String] = [:]
        for value in values {
            if let source = value["sourceId"]?.string, let target = value["targetId"]?.string, !target.isEmpty {
                result[source] = target
            }
        }
        return result
    }
}

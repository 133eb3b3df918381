import Foundation
import SyncCore
import XML

/// Who a request is for and how it reaches the mailbox.
public struct EWSRequestContext: Sendable, Hashable {
    /// Primary SMTP address of the mailbox.
    public var mailbox: String
    public var access: MailboxAccess
    public var version: ExchangeVersion

    public init(mailbox: String, access: MailboxAccess = .impersonation, version: ExchangeVersion = .exchange2013SP1) {
        self.mailbox = mailbox
        self.access = access
        self.version = version
    }
}

/// A built SOAP request: the envelope bytes and what the client needs to send it.
public struct EWSSOAPRequest: Sendable {
    /// The operation name (GetItem, CreateItem, …), used in errors and logs.
    public var operation: String
    public var context: EWSRequestContext
    /// The SOAP envelope (UTF-8).
    public var body: [UInt8]
    /// False for requests that must not be blindly resent after an ambiguous failure (CreateItem).
    public var isIdempotent: Bool
}

/// A search filter for FindItem (`m:Restriction`).
public indirect enum EWSRestriction: Sendable, Hashable {
    case isEqualTo(EWSFieldURI, String)
    case isGreaterThanOrEqualTo(EWSFieldURI, String)
    case isLessThan(EWSFieldURI, String)
    case and([EWSRestriction])
    case or([EWSRestriction])

    func write(into writer: inout XMLWriter) {
        func comparison(_ element: String, _ field: EWSFieldURI, _ value: String, _ writer: inout XMLWriter) {
            writer.element(element) { w in
                field.write(into: &w)
                w.element("t:FieldURIOrConstant") { w in
                    w.startElement("t:Constant", attributes: ["Value": value])
                    w.endElement()
                }
            }
        }
        switch self {
        case .isEqualTo(let field, let value): comparison("t:IsEqualTo", field, value, &writer)
        case .isGreaterThanOrEqualTo(let field, let value):
            comparison("t:IsGreaterThanOrEqualTo", field, value, &writer)
        case .isLessThan(let field, let value): comparison("t:IsLessThan", field, value, &writer)
        case .and(let parts): writer.element("t:And") { w in for p in parts { p.write(into: &w) } }
        case .or(let parts): writer.element("t:Or") { w in for p in parts { p.write(into: &w) } }
        }
    }

    /// Items stamped with one of these CRM ids.
    public static func crmIDs(_ ids: [UUID]) -> EWSRestriction {
        let parts = ids.map { EWSRestriction.isEqualTo(.extended(.snapsyncCRMId), $0.lowercasedString) }
        return parts.count == 1 ? parts[0] : .or(parts)
    }
}

/// How DeleteItem disposes of items.
public enum EWSDeleteType: String, Sendable, Hashable {
    case hardDelete = "HardDelete", softDelete = "SoftDelete", moveToDeletedItems = "MoveToDeletedItems"
}

/// `ConflictResolution` of UpdateItem.
public enum EWSConflictResolution: String, Sendable, Hashable {
    /// Fail with ErrorIrresolvableConflict when the change key is stale.
    case neverOverwrite = "NeverOverwrite"
    case autoResolve = "AutoResolve"
}

/// What an UpdateItem change or a DeleteItem id addresses: an item, or one occurrence of a recurring
/// series through its master (`t:OccurrenceItemId`).
public enum EWSItemTarget: Sendable, Hashable {
    case item(ItemId)
    /// The occurrence at `instanceIndex` (1-based, counting the series' pattern, see
    /// `RecurrenceRule.occurrenceIndex(of:seriesStart:)`) of the series whose master is `master`; the
    /// master's change key, when given, is the version the change is based on.
    case occurrence(master: ItemId, instanceIndex: Int)

    func write(into w: inout XMLWriter) {
        switch self {
        case .item(let id):
            EWSRequests.itemId(id, into: &w)
        case .occurrence(let master, let index):
            w.startElement("t:OccurrenceItemId", attributes: ["RecurringMasterId": master.id])
            if let key = master.changeKey { w.attribute("ChangeKey", key) }
            w.attribute("InstanceIndex", String(index))
            w.endElement()
        }
    }
}

/// Builds the SOAP envelopes of the operations snapsync uses; every one validates against the official
/// schema (see the EWS tests).
public enum EWSRequests {
    /// GetFolder with the default shape (id, display name, total count).
    public static func getFolder(_ folders: [FolderReference], context: EWSRequestContext) -> EWSSOAPRequest {
        envelope("GetFolder", context) { w in
            w.element("m:GetFolder") { w in
                w.element("m:FolderShape") { $0.element("t:BaseShape", text: "Default") }
                w.element("m:FolderIds") { w in for f in folders { folder(f, context, into: &w) } }
            }
        }
    }

    /// FindItem, one IdOnly page (`IndexedPageItemView`, at most 1000 entries), optionally filtered.
    public static func findItem(
        in folderRef: FolderReference, offset: Int, maxEntries: Int, restriction: EWSRestriction? = nil,
        additionalProperties: [EWSFieldURI] = [], context: EWSRequestContext
    ) -> EWSSOAPRequest {
        envelope("FindItem", context) { w in
            w.startElement("m:FindItem", attributes: ["Traversal": "Shallow"])
            itemShape(additionalProperties, bodyType: false, into: &w)
            w.startElement(
                "m:IndexedPageItemView",
                attributes: [
                    "MaxEntriesReturned": String(min(max(maxEntries, 1), 1000)), "Offset": String(max(offset, 0)),
                    "BasePoint": "Beginning",
                ])
            w.endElement()
            if let restriction { w.element("m:Restriction") { restriction.write(into: &$0) } }
            w.element("m:ParentFolderIds") { folder(folderRef, context, into: &$0) }
            w.endElement()
        }
    }

    /// GetItem of a batch, with the mapped properties.
    public static func getItem(
        _ ids: [ItemId], additionalProperties: [EWSFieldURI], context: EWSRequestContext
    ) -> EWSSOAPRequest {
        envelope("GetItem", context) { w in
            w.startElement("m:GetItem")
            itemShape(additionalProperties, bodyType: true, into: &w)
            w.element("m:ItemIds") { w in for id in ids { itemId(ItemId(id.id), into: &w) } }
            w.endElement()
        }
    }

    /// CreateItem of many items (each written by `writeItem`), saved in `folder`; meeting invitations
    /// are never sent.
    public static func createItem(
        count: Int, in folderRef: FolderReference, context: EWSRequestContext,
        writeItem: (Int, inout XMLWriter) -> Void
    ) -> EWSSOAPRequest {
        var request = envelope("CreateItem", context) { w in
            w.startElement("m:CreateItem", attributes: ["SendMeetingInvitations": "SendToNone"])
            w.element("m:SavedItemFolderId") { folder(folderRef, context, into: &$0) }
            w.element("m:Items") { w in for i in 0..<count { writeItem(i, &w) } }
            w.endElement()
        }
        request.isIdempotent = false
        return request
    }

    /// UpdateItem of many items: each change is an item id (with change key) and its `Updates` content
    /// (SetItemField/DeleteItemField elements, see ``EWSMapping/updates(from:to:operation:mailbox:)``).
    public static func updateItem(
        _ changes: [(ItemId, [UInt8])], conflictResolution: EWSConflictResolution = .autoResolve,
        context: EWSRequestContext
    ) -> EWSSOAPRequest {
        updateItem(
            targets: changes.map { (.item($0.0), $0.1) }, conflictResolution: conflictResolution, context: context)
    }

    /// UpdateItem of items or occurrences of recurring series (an occurrence changed this way becomes a
    /// modified occurrence of its series).
    public static func updateItem(
        targets changes: [(EWSItemTarget, [UInt8])], conflictResolution: EWSConflictResolution = .autoResolve,
        context: EWSRequestContext
    ) -> EWSSOAPRequest {
        envelope("UpdateItem", context) { w in
            w.startElement(
                "m:UpdateItem",
                attributes: [
                    "ConflictResolution": conflictResolution.rawValue,
                    "SendMeetingInvitationsOrCancellations": "SendToNone",
                ])
            w.element("m:ItemChanges") { w in
                for (target, updates) in changes {
                    w.element("t:ItemChange") { w in
                        target.write(into: &w)
                        w.element("t:Updates") { $0.raw(updates) }
                    }
                }
            }
            w.endElement()
        }
    }

    /// DeleteItem of many items; no cancellations are sent and a recurring task goes as a whole.
    public static func deleteItem(
        _ ids: [ItemId], deleteType: EWSDeleteType = .hardDelete, context: EWSRequestContext
    ) -> EWSSOAPRequest {
        deleteItem(targets: ids.map { .item(ItemId($0.id)) }, deleteType: deleteType, context: context)
    }

    /// DeleteItem of items or occurrences of recurring series (a deleted occurrence becomes a deleted
    /// occurrence of its series).
    public static func deleteItem(
        targets: [EWSItemTarget], deleteType: EWSDeleteType = .hardDelete,
        context: EWSRequestContext
    ) -> EWSSOAPRequest {
        envelope("DeleteItem", context) { w in
            w.startElement(
                "m:DeleteItem",
                attributes: [
                    "DeleteType": deleteType.rawValue, "SendMeetingCancellations": "SendToNone",
                    "AffectedTaskOccurrences": "AllOccurrences",
                ])
            w.element("m:ItemIds") { w in for target in targets { target.write(into: &w) } }
            w.endElement()
        }
    }

    /// SyncFolderItems: up to `maxChanges` (≤ 512) changes since `syncState` (nil: from the start).
    public static func syncFolderItems(
        _ folderRef: FolderReference, syncState: String?, maxChanges: Int,
        context: EWSRequestContext
    ) -> EWSSOAPRequest {
        envelope("SyncFolderItems", context) { w in
            w.startElement("m:SyncFolderItems")
            w.element("m:ItemShape") { $0.element("t:BaseShape", text: "IdOnly") }
            w.element("m:SyncFolderId") { folder(folderRef, context, into: &$0) }
            if let syncState, !syncState.isEmpty { w.element("m:SyncState", text: syncState) }
            w.element("m:MaxChangesReturned", text: String(min(max(maxChanges, 1), 512)))
            w.endElement()
        }
    }

    /// ConvertId of ids in `sourceFormat` (e.g. `EwsLegacyId`, `EntryId`) to `EwsId`.
    public static func convertId(_ ids: [String], sourceFormat: String, context: EWSRequestContext) -> EWSSOAPRequest {
        envelope("ConvertId", context) { w in
            w.startElement("m:ConvertId", attributes: ["DestinationFormat": "EwsId"])
            w.element("m:SourceIds") { w in
                for id in ids {
                    w.startElement(
                        "t:AlternateId", attributes: ["Format": sourceFormat, "Id": id, "Mailbox": context.mailbox])
                    w.endElement()
                }
            }
            w.endElement()
        }
    }

    // MARK: parts

    static func envelope(
        _ operation: String, _ context: EWSRequestContext, _ body: (inout XMLWriter) -> Void
    ) -> EWSSOAPRequest {
        var w = XMLWriter(reservingCapacity: 8192)
        w.startElement(
            "soap:Envelope",
            attributes: [
                "xmlns:soap": EWSNamespace.soap, "xmlns:t": EWSNamespace.types, "xmlns:m": EWSNamespace.messages,
            ])
        w.element("soap:Header") { w in
            w.startElement("t:RequestServerVersion", attributes: ["Version": context.version.rawValue])
            w.endElement()
            if context.access == .impersonation {
                w.element("t:ExchangeImpersonation") { w in
                    w.element("t:ConnectingSID") { $0.element("t:PrimarySmtpAddress", text: context.mailbox) }
                }
            }
        }
        w.element("soap:Body") { body(&$0) }
        w.endElement()
        return EWSSOAPRequest(operation: operation, context: context, body: w.bytes, isIdempotent: true)
    }

    static func itemShape(_ additional: [EWSFieldURI], bodyType: Bool, into w: inout XMLWriter) {
        w.element("m:ItemShape") { w in
            w.element("t:BaseShape", text: "IdOnly")
            if bodyType { w.element("t:BodyType", text: "Text") }
            if !additional.isEmpty {
                w.element("t:AdditionalProperties") { w in for field in additional { field.write(into: &w) } }
            }
        }
    }

    static func folder(_ reference: FolderReference, _ context: EWSRequestContext, into w: inout XMLWriter) {
        switch reference {
        case .distinguished(let name):
            w.startElement("t:DistinguishedFolderId", attributes: ["Id": name.rawValue])
            if context.access == .delegate {
                w.element("t:Mailbox") { $0.element("t:EmailAddress", text: context.mailbox) }
            }
            w.endElement()
        case .id(let id):
            w.startElement("t:FolderId", attributes: ["Id": id.id])
            if let key = id.changeKey { w.attribute("ChangeKey", key) }
            w.endElement()
        }
    }

    static func itemId(_ id: ItemId, into w: inout XMLWriter) {
        w.startElement("t:ItemId", attributes: ["Id": id.id])
        if let key = id.changeKey { w.attribute("ChangeKey", key) }
        w.endElement()
    }
}

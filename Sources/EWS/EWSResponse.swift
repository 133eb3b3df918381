import Foundation

/// Paging information of a FindItem answer (`RootFolder` attributes).
public struct EWSPaging: Sendable, Hashable {
    public var indexedPagingOffset: Int?
    public var totalItemsInView: Int?
    public var includesLastItemInRange: Bool
}

/// One change of a SyncFolderItems answer.
public enum EWSSyncChange: Sendable, Hashable {
    case create(EWSItem)
    case update(EWSItem)
    case delete(ItemId)
    case readFlagChange(ItemId, isRead: Bool)
}

/// A SOAP fault (`s:Fault`), with Exchange's detail when present.
public struct SOAPFault: Sendable, Hashable {
    /// `faultcode` without its prefix (e.g. `ErrorServerBusy`, `Client`).
    public var faultCode: String
    public var faultString: String
    /// `detail/e:ResponseCode`.
    public var responseCode: String?
    /// `detail/e:Message`.
    public var message: String?
    /// `detail/t:MessageXml/t:Value[@Name=BackOffMilliseconds]`.
    public var backOffMilliseconds: Int?
}

/// One response message (`m:…ResponseMessage`): the result for one item, folder or call.
public struct EWSResponseMessage: Sendable, Hashable {
    /// `ResponseClass`: Success, Warning or Error.
    public var responseClass: String = "Success"
    /// `ResponseCode`, e.g. `NoError`, `ErrorItemNotFound`.
    public var responseCode: String = ""
    public var messageText: String?
    /// From `MessageXml` (ErrorServerBusy).
    public var backOffMilliseconds: Int?
    public var items: [EWSItem] = []
    public var folders: [EWSFolder] = []
    /// FindItem paging.
    public var paging: EWSPaging?
    /// SyncFolderItems.
    public var syncState: String?
    public var includesLastItemInRange: Bool?
    public var changes: [EWSSyncChange] = []
    /// UpdateItem `ConflictResults/Count`.
    public var conflictCount: Int?

    /// True unless the class is `Error`.
    public var isSuccess: Bool { responseClass != "Error" }

    /// The error this message stands for (nil when it succeeded).
    public func error(operation: String, mailbox: String?, itemID: String? = nil) -> EWSError? {
        guard !isSuccess else { return nil }
        let code: EWSError.Code
        switch responseCode {
        case "ErrorInvalidSyncStateData", "ErrorInvalidSyncStateDataException": code = .invalidSyncState
        case "ErrorServerBusy": code = .serverBusy(backOff: backOffMilliseconds.map { .milliseconds($0) })
        default: code = .responseCode(responseCode)
        }
        return EWSError(code: code, operation: operation, mailbox: mailbox, itemID: itemID, message: messageText ?? "")
    }
}

/// A decoded EWS response envelope.
public struct EWSResponse: Sendable, Hashable {
    public var serverVersion: ServerVersionInfo?
    public var fault: SOAPFault?
    public var messages: [EWSResponseMessage] = []

    /// The error a fault stands for, nil when there is none.
    public func faultError(operation: String, mailbox: String?) -> EWSError? {
        guard let fault else { return nil }
        let code = fault.responseCode ?? fault.faultCode
        let errorCode: EWSError.Code
        switch code {
        case "ErrorServerBusy": errorCode = .serverBusy(backOff: fault.backOffMilliseconds.map { .milliseconds($0) })
        case "ErrorInvalidSyncStateData": errorCode = .invalidSyncState
        default: errorCode = .soapFault(code)
        }
        return EWSError(
            code: errorCode, operation: operation, mailbox: mailbox, message: fault.message ?? fault.faultString)
    }
}

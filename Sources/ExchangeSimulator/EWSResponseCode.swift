/// An EWS error as Exchange reports it: a `ResponseCode`, its message text, and optional
/// `MessageXml` values (e.g. `BackOffMilliseconds`).
struct EWSFailure: Error, Sendable {
    var code: String
    var message: String
    var messageXml: [(String, String)] = []

    init(code: String, message: String, messageXml: [(String, String)] = []) {
        self.code = code; self.message = message; self.messageXml = messageXml
    }

    /// Any error as an EWS failure (unexpected ones become `ErrorInternalServerError`).
    init(_ error: any Error) {
        if let f = error as? EWSFailure { self = f; return }
        self.init(code: "ErrorInternalServerError", message: "An internal server error occurred. The operation failed.")
    }

    static func itemNotFound() -> EWSFailure {
        EWSFailure(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
    }
    static func folderNotFound() -> EWSFailure {
        EWSFailure(code: "ErrorFolderNotFound", message: "The specified folder could not be found in the store.")
    }
    static func idMalformed() -> EWSFailure {
        EWSFailure(code: "ErrorInvalidIdMalformed", message: "Id is malformed.")
    }
    static func nonExistentMailbox(_ address: String) -> EWSFailure {
        EWSFailure(code: "ErrorNonExistentMailbox", message: "The SMTP address has no mailbox associated with it.")
    }
    static func invalidRequest(_ detail: String = "The request is invalid.") -> EWSFailure {
        EWSFailure(code: "ErrorInvalidRequest", message: detail)
    }
    static func schemaValidation(_ detail: String) -> EWSFailure {
        EWSFailure(code: "ErrorSchemaValidation", message: "The request failed schema validation: \(detail)")
    }
    static func invalidSyncState() -> EWSFailure {
        EWSFailure(
            code: "ErrorInvalidSyncStateData", message: "Synchronization state data is corrupt or otherwise invalid.")
    }
    static func serverBusy(backOffMilliseconds: Int) -> EWSFailure {
        EWSFailure(
            code: "ErrorServerBusy",
            message: "The server cannot service this request right now. Try again later.",
            messageXml: [("BackOffMilliseconds", String(backOffMilliseconds))])
    }
    static func exceededConnectionCount() -> EWSFailure {
        EWSFailure(
            code: "ErrorExceededConnectionCount",
            message:
                "You have exceeded the maximum number of objects that can be returned for the find operation. Use paging to reduce the result size and try your request again."
        )
    }
    static func irresolvableConflict() -> EWSFailure {
        EWSFailure(
            code: "ErrorIrresolvableConflict",
            message:
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
        )
    }
    static func changeKeyRequired() -> EWSFailure {
        EWSFailure(code: "ErrorChangeKeyRequired", message: "ChangeKey is required for this operation.")
    }
    static func invalidPropertyRequest(_ what: String) -> EWSFailure {
        EWSFailure(code: "ErrorInvalidPropertyRequest", message: "The property request is invalid: \(what)")
    }
    static func invalidSmtpAddress() -> EWSFailure {
        EWSFailure(code: "ErrorInvalidSmtpAddress", message: "The SMTP address format is invalid.")
    }
}

import Foundation

/// Who is calling and on whose behalf.
struct EWSCaller: Sendable {
    /// The authenticated account (lower-cased user name as given in Basic auth).
    var account: String
    /// `X-AnchorMailbox`, if sent.
    var anchorMailbox: String?
}

/// A parsed SOAP request: operation element and headers.
struct EWSRequest: Sendable {
    var operation: String
    var body: XElement
    var header: XElement?
    /// Mailbox from `ExchangeImpersonation`, if any.
    var impersonated: String?

    /// Parses a SOAP 1.1 envelope. Throws the failure Exchange reports for malformed requests.
    static func parse(_ data: Data) throws(EWSFailure) -> EWSRequest {
        let root: XElement
        do { root = try XMLTreeParser.parse(data) } catch {
            throw EWSFailure.schemaValidation(
                "The request is not well-formed XML. \((error as? XMLTreeParser.Failure)?.message ?? "")")
        }
        guard root.ns == NS.soap, root.name == "Envelope" else {
            throw EWSFailure.schemaValidation("The root element is not a SOAP 1.1 Envelope.")
        }
        guard let body = root.child("Body"), let op = body.children.first else {
            throw EWSFailure.schemaValidation("The SOAP Body is missing or empty.")
        }
        guard op.ns == NS.messages else {
            throw EWSFailure.invalidRequest("The request is invalid: element '\(op.name)' is not an EWS operation.")
        }
        let header = root.child("Header")
        var imp: String?
        if let sid = header?.child("ExchangeImpersonation")?.child("ConnectingSID") {
            imp = (sid.child("PrimarySmtpAddress") ?? sid.child("SmtpAddress") ?? sid.child("PrincipalName"))?.value
        }
        return EWSRequest(operation: op.name, body: op, header: header, impersonated: imp)
    }
}

/// The result of one EWS call.
struct EWSReply: Sendable {
    var status: Int
    var body: [UInt8]
}

/// EWS operations over the store. Pure request-in, response-out: the HTTP layer handles transport,
/// authentication and faults.
struct EWSService: Sendable {
    let store: Store
    /// Clock (seconds since 1970); tests of the store may pin it.
    var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    /// Ordered views of large folders, reused across FindItem pages.
    let viewCache = ViewCache()

    /// Restricted accounts (lower-cased) and what they may open; see `refusal(_:caller:)`.
    let access: [String: AccountAccess]

    init(store: Store, access: [String: AccountAccess] = [:]) {
        self.store = store
        self.access = Dictionary(access.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
    }

    static let operations: Set<String> = [
        "GetFolder", "FindFolder", "ConvertId", "FindItem", "GetItem", "CreateItem", "UpdateItem", "DeleteItem",
        "SyncFolderItems",
    ]

    /// The mailbox a request acts on by default: impersonated, else anchor, else the caller's own.
    func defaultMailbox(_ req: EWSRequest, _ caller: EWSCaller) -> String {
        (req.impersonated ?? caller.anchorMailbox ?? caller.account).lowercased()
    }

    func handle(_ req: EWSRequest, caller: EWSCaller) -> EWSReply {
        if !access.isEmpty, let refused = refusal(req, caller: caller) { return refused }
        let mailbox = defaultMailbox(req, caller)
        let op = req.operation
        do {
            let body: [UInt8]
            switch op {
            case "GetFolder": body = try getFolder(req.body, mailbox: mailbox)
            case "FindFolder": body = try findFolder(req.body, mailbox: mailbox)
            case "ConvertId": body = convertId(req.body, mailbox: mailbox)
            case "FindItem": body = try findItem(req.body, mailbox: mailbox)
            case "GetItem": body = try getItem(req.body, mailbox: mailbox)
            case "CreateItem": body = try createItem(req.body, mailbox: mailbox)
            case "UpdateItem": body = try updateItem(req.body, mailbox: mailbox)
            case "DeleteItem": body = try deleteItem(req.body, mailbox: mailbox)
            case "SyncFolderItems": body = try syncFolderItems(req.body, mailbox: mailbox)
            default:
                return EWSReply(
                    status: 500,
                    body: SOAPEnvelope.fault(
                        .invalidRequest(
                            "The request is invalid. The operation '\(op)' is not supported by this server.")))
            }
            return EWSReply(status: 200, body: body)
        } catch {
            // Request-level problems (schema): a SOAP fault, as Exchange sends one.
            return EWSReply(status: 500, body: SOAPEnvelope.fault(EWSFailure(error)))
        }
    }

    /// A whole response in which every message is `failure` (throttling per message).
    static func failureResponse(operation: String, messages: Int, _ failure: EWSFailure) -> [UInt8] {
        SOAPEnvelope.response(operation) { w in
            for _ in 0..<max(1, messages) { SOAPEnvelope.error(&w, operation, failure) }
        }
    }

    /// Number of response messages a request will produce (one per id, item or change).
    static func messageCount(_ req: EWSRequest) -> Int {
        let b = req.body
        switch req.operation {
        case "GetItem", "DeleteItem": return b.child("ItemIds")?.children.count ?? 1
        case "CreateItem": return b.child("Items")?.children.count ?? 1
        case "UpdateItem": return b.child("ItemChanges")?.children.count ?? 1
        case "GetFolder": return b.child("FolderIds")?.children.count ?? 1
        case "FindItem", "FindFolder": return b.child("ParentFolderIds")?.children.count ?? 1
        case "ConvertId": return b.child("SourceIds")?.children.count ?? 1
        default: return 1
        }
    }

    /// The mailbox an operation targets, for throttling and connection accounting: the first
    /// `Mailbox` in a folder id, the mailbox an item id names, else the default.
    static func targetMailbox(_ req: EWSRequest, caller: EWSCaller) -> String {
        func scan(_ e: XElement, depth: Int) -> String? {
            if e.name == "DistinguishedFolderId", let m = e.path("Mailbox", "EmailAddress")?.value {
                return m.lowercased()
            }
            if e.name == "ItemId", let id = e.attr("Id"), let p = Identifier.parseItemId(id) { return p.mailbox }
            if e.name == "FolderId", let id = e.attr("Id"), let p = Identifier.parseFolderId(id) { return p.mailbox }
            guard depth < 4 else { return nil }
            for c in e.children { if let m = scan(c, depth: depth + 1) { return m } }
            return nil
        }
        return scan(req.body, depth: 0) ?? (req.impersonated ?? caller.anchorMailbox ?? caller.account).lowercased()
    }
}

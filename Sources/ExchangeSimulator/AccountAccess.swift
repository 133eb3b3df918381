import Foundation

/// What an account may open besides its own mailbox, as Exchange grants it: the ApplicationImpersonation role
/// (`ExchangeImpersonation` of any mailbox) and FullAccess on named mailboxes (delegate access).
public struct AccountAccess: Sendable, Equatable {
    /// Holds the ApplicationImpersonation role.
    public var impersonation: Bool
    /// Mailboxes (lower-cased addresses) it has FullAccess on.
    public var fullAccess: Set<String>

    public init(impersonation: Bool = false, fullAccess: Set<String> = []) {
        self.impersonation = impersonation
        self.fullAccess = Set(fullAccess.map { $0.lowercased() })
    }

    /// Parses the rights part of `--account user:password:RIGHTS`: `none`, or a comma-separated list of
    /// `impersonation` and `fullaccess=MAILBOX`; nil when it is not one.
    public init?(rights: String) {
        self.init()
        guard rights.lowercased() != "none" else { return }
        for part in rights.split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces)
            if p.lowercased() == "impersonation" {
                impersonation = true
            } else if p.lowercased().hasPrefix("fullaccess="), p.contains("@") {
                fullAccess.insert(String(p.dropFirst("fullaccess=".count)).lowercased())
            } else {
                return nil
            }
        }
    }
}

extension EWSFailure {
    static func accessDenied() -> EWSFailure {
        EWSFailure(code: "ErrorAccessDenied", message: "Access is denied. Check credentials and try again.")
    }
    static func impersonateUserDenied() -> EWSFailure {
        EWSFailure(
            code: "ErrorImpersonateUserDenied",
            message: "The account does not have permission to impersonate the requested user.")
    }
}

extension EWSService {
    /// The refusal Exchange sends when `caller` may not do `req`, nil when it may. Impersonation without the role is
    /// a SOAP fault (`ErrorImpersonateUserDenied`); opening a mailbox other than one's own without FullAccess fails
    /// every response message with `ErrorAccessDenied`. Accounts without an `AccountAccess` entry may open every
    /// mailbox (the demo account does).
    func refusal(_ req: EWSRequest, caller: EWSCaller) -> EWSReply? {
        guard let access = access[caller.account.lowercased()] else { return nil }
        if req.impersonated != nil {
            return access.impersonation
                ? nil : EWSReply(status: 500, body: SOAPEnvelope.fault(.impersonateUserDenied()))
        }
        let own = caller.account.lowercased()
        var opened: Set<String> = [defaultMailbox(req, caller)]
        Self.collectMailboxes(req.body, into: &opened)
        guard opened.allSatisfy({ $0 == own || access.fullAccess.contains($0) }) else {
            return EWSReply(
                status: 200,
                body: Self.failureResponse(operation: req.operation, messages: Self.messageCount(req), .accessDenied()))
        }
        return nil
    }

    /// Every mailbox a request names: folder ids with a Mailbox, and the owners of item, occurrence and folder ids.
    private static func collectMailboxes(_ e: XElement, into out: inout Set<String>) {
        switch e.name {
        case "DistinguishedFolderId":
            if let m = e.path("Mailbox", "EmailAddress")?.value { out.insert(m.lowercased()) }
        case "ItemId", "FolderId", "OccurrenceItemId", "RecurringMasterItemId":
            for id in [e.attr("Id"), e.attr("RecurringMasterId"), e.attr("OccurrenceId")].compactMap({ $0 }) {
                if let m = Identifier.parseItemId(id)?.mailbox ?? Identifier.parseOccurrenceId(id)?.mailbox
                    ?? Identifier.parseFolderId(id)?.mailbox
                {
                    out.insert(m.lowercased())
                }
            }
        default:
            for c in e.children { collectMailboxes(c, into: &out) }
        }
    }
}

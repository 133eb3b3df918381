import Foundation

/// The Exchange namespaces and version strings used in requests.
public enum EWSNamespace {
    public static let soap = "http://schemas.xmlsoap.org/soap/envelope/"
    public static let messages = "http://schemas.microsoft.com/exchange/services/2006/messages"
    public static let types = "http://schemas.microsoft.com/exchange/services/2006/types"
    public static let errors = "http://schemas.microsoft.com/exchange/services/2006/errors"
}

/// An item's id and the change key of the version it names.
public struct ItemId: Sendable, Hashable, Codable {
    public var id: String
    public var changeKey: String?
    public init(_ id: String, changeKey: String? = nil) { self.id = id; self.changeKey = changeKey }
}

/// A folder's id and change key.
public struct FolderId: Sendable, Hashable, Codable {
    public var id: String
    public var changeKey: String?
    public init(_ id: String, changeKey: String? = nil) { self.id = id; self.changeKey = changeKey }
}

/// The well-known folders snapsync uses (`DistinguishedFolderId`).
public enum DistinguishedFolder: String, Sendable, Hashable, Codable, CaseIterable {
    case contacts, calendar, tasks, inbox, deleteditems, msgfolderroot
}

/// A folder to address: a distinguished folder of the request's mailbox, or a folder by id.
public enum FolderReference: Sendable, Hashable {
    case distinguished(DistinguishedFolder)
    case id(FolderId)
}

/// A folder as GetFolder reports it.
public struct EWSFolder: Sendable, Hashable {
    public var folderId: FolderId
    public var displayName: String?
    public var totalCount: Int?
}

/// `ServerVersionInfo` from a response header.
public struct ServerVersionInfo: Sendable, Hashable {
    public var majorVersion: Int
    public var minorVersion: Int
    public var majorBuildNumber: Int
    public var minorBuildNumber: Int
    /// The schema version name (e.g. `V2_8`, `V2017_07_11`), absent on Exchange 2007.
    public var version: String?
}

/// The schema version a request asks for (`RequestServerVersion`).
public enum ExchangeVersion: String, Sendable, Hashable, Codable {
    case exchange2013SP1 = "Exchange2013_SP1"
    case exchange2016 = "Exchange2016"
}

/// How the service account reaches a user's mailbox.
public enum MailboxAccess: String, Sendable, Hashable, Codable {
    /// `ExchangeImpersonation` header with the mailbox's primary SMTP address (needs the
    /// ApplicationImpersonation role).
    case impersonation
    /// Delegate access: the mailbox is named in each `DistinguishedFolderId` (needs folder permissions).
    case delegate
}

/// A MAPI extended property addressed by property set and name (`ExtendedFieldURI`).
public struct ExtendedPropertyName: Sendable, Hashable {
    public var propertySetId: String
    public var propertyName: String
    /// `PropertyType`, e.g. `String`.
    public var propertyType: String

    public init(propertySetId: String, propertyName: String, propertyType: String = "String") {
        self.propertySetId = propertySetId
        self.propertyName = propertyName
        self.propertyType = propertyType
    }

    /// The property every item snapsync creates carries: the CRM record's id.
    public static let snapsyncCRMId = ExtendedPropertyName(
        propertySetId: "5C1B9E4A-3F0D-4C55-9B6E-5D7A2E8C1F30", propertyName: "SnapsyncCrmId")
}

/// A meeting attendee.
public struct EWSAttendee: Sendable, Hashable {
    public var name: String?
    public var emailAddress: String
    /// `ResponseType` (Unknown, Accept, Decline, …) when read from Exchange.
    public var responseType: String?
    public init(name: String? = nil, emailAddress: String, responseType: String? = nil) {
        self.name = name
        self.emailAddress = emailAddress
        self.responseType = responseType
    }
}

/// A modified occurrence of a recurring series (`ModifiedOccurrences/Occurrence`).
public struct EWSOccurrence: Sendable, Hashable {
    public var itemId: ItemId?
    public var start: Date?
    public var end: Date?
    public var originalStart: Date?
    /// The occurrence's Subject and Location, read from the occurrence (a master does not list them).
    public var subject: String?
    public var location: String?
    public init(
        itemId: ItemId? = nil, start: Date? = nil, end: Date? = nil, originalStart: Date? = nil,
        subject: String? = nil, location: String? = nil
    ) {
        self.itemId = itemId
        self.start = start
        self.end = end
        self.originalStart = originalStart
        self.subject = subject
        self.location = location
    }
}

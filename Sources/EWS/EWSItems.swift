import Foundation
import SyncCore

/// A postal address of a contact (`PhysicalAddresses/Entry`).
public struct EWSPhysicalAddress: Sendable, Hashable {
    public var street: String?
    public var city: String?
    public var state: String?
    public var countryOrRegion: String?
    public var postalCode: String?
    public init(
        street: String? = nil, city: String? = nil, state: String? = nil, countryOrRegion: String? = nil,
        postalCode: String? = nil
    ) {
        self.street = street
        self.city = city
        self.state = state
        self.countryOrRegion = countryOrRegion
        self.postalCode = postalCode
    }
    var isEmpty: Bool { street == nil && city == nil && state == nil && countryOrRegion == nil && postalCode == nil }
}

/// The fields every item kind shares.
public protocol EWSItemFields: Sendable, Hashable {
    /// Id and change key (nil for an item not created yet).
    var itemId: ItemId? { get set }
    /// The CRM id stamped on the item (``ExtendedPropertyName/snapsyncCRMId``).
    var crmID: UUID? { get set }
    /// `LastModifiedTime`.
    var lastModified: Date? { get set }
    /// The elements of the item whose value could not be read (an invalid date, number or recurrence): such an item
    /// is not mapped to a CRM record.
    var unreadableFields: [String] { get set }
    /// The element name of this kind in `t:` (Contact, CalendarItem, Task).
    static var elementName: String { get }
    init()
}

/// A contact (`t:Contact`), with the fields snapsync maps.
public struct EWSContact: EWSItemFields {
    public static let elementName = "Contact"
    public var unreadableFields: [String] = []
    public var itemId: ItemId?
    public var crmID: UUID?
    public var lastModified: Date?
    public var displayName: String?
    public var givenName: String?
    public var surname: String?
    public var companyName: String?
    public var jobTitle: String?
    /// Keyed `EmailAddress1`…`EmailAddress3`.
    public var emailAddresses: [String: String] = [:]
    /// Keyed `BusinessPhone`, `MobilePhone`, `HomePhone`, …
    public var phoneNumbers: [String: String] = [:]
    /// Keyed `Business`, `Home`, `Other`.
    public var physicalAddresses: [String: EWSPhysicalAddress] = [:]
    /// The `Business` address (the one the CRM's address columns map to).
    public var businessAddress: EWSPhysicalAddress {
        get { physicalAddresses["Business"] ?? EWSPhysicalAddress() }
        set { physicalAddresses["Business"] = newValue.isEmpty ? nil : newValue }
    }
    /// The item body (text), where Outlook shows a contact's notes.
    public var body: String?
    public var birthday: Date?
    public var categories: [String] = []
    public init() {}
}

/// A calendar item (`t:CalendarItem`): a single appointment or a recurring series master with its
/// recurrence, modified and deleted occurrences.
public struct EWSCalendarItem: EWSItemFields {
    public static let elementName = "CalendarItem"
    public var unreadableFields: [String] = []
    public var itemId: ItemId?
    public var crmID: UUID?
    public var lastModified: Date?
    public var subject: String?
    public var body: String?
    /// `Sensitivity`: Normal, Personal, Private, Confidential.
    public var sensitivity: String?
    public var categories: [String] = []
    public var uid: String?
    public var start: Date?
    public var end: Date?
    public var isAllDayEvent: Bool?
    public var location: String?
    /// `CalendarItemType`: Single, Occurrence, Exception, RecurringMaster.
    public var calendarItemType: String?
    public var requiredAttendees: [EWSAttendee] = []
    public var optionalAttendees: [EWSAttendee] = []
    public var resources: [EWSAttendee] = []
    public var recurrence: EWSRecurrence?
    public var modifiedOccurrences: [EWSOccurrence] = []
    /// Original starts of the deleted occurrences.
    public var deletedOccurrences: [Date] = []
    /// `StartTimeZone/@Id` (Windows time zone id).
    public var startTimeZoneId: String?
    public var reminderMinutesBeforeStart: Int?
    public init() {}
}

/// A task (`t:Task`).
public struct EWSTask: EWSItemFields {
    public static let elementName = "Task"
    public var unreadableFields: [String] = []
    public var itemId: ItemId?
    public var crmID: UUID?
    public var lastModified: Date?
    public var subject: String?
    public var body: String?
    public var categories: [String] = []
    /// `Importance`: Low, Normal, High.
    public var importance: String?
    public var completeDate: Date?
    public var dueDate: Date?
    public var percentComplete: Double?
    public var startDate: Date?
    /// `Status`: NotStarted, InProgress, Completed, WaitingOnOthers, Deferred.
    public var status: String?
    public init() {}
}

/// Any other item (messages in a SyncFolderItems or FindItem answer): its id, element name and subject.
public struct EWSGenericItem: Sendable, Hashable {
    public var elementName: String
    public var itemId: ItemId?
    public var subject: String?
}

/// An item decoded from a response.
public enum EWSItem: Sendable, Hashable {
    case contact(EWSContact)
    case calendarItem(EWSCalendarItem)
    case task(EWSTask)
    case other(EWSGenericItem)

    /// The item's id and change key.
    public var itemId: ItemId? {
        switch self {
        case .contact(let c): c.itemId
        case .calendarItem(let c): c.itemId
        case .task(let t): t.itemId
        case .other(let o): o.itemId
        }
    }

    /// The stamped CRM id, if any.
    public var crmID: UUID? {
        switch self {
        case .contact(let c): c.crmID
        case .calendarItem(let c): c.crmID
        case .task(let t): t.crmID
        case .other: nil
        }
    }

    /// The subject (for contacts: the display name).
    public var subject: String? {
        switch self {
        case .contact(let c): c.displayName
        case .calendarItem(let c): c.subject
        case .task(let t): t.subject
        case .other(let o): o.subject
        }
    }
}

import Foundation

// The CRM rows of the `crm` schema (issue 2, item 4), one property per column, same names in camelCase.
// Optional properties are nullable columns; `text[]` columns are `[String]`.

/// A row of `crm.users`: a CRM user and (when set) the SMTP address of their mailbox.
public struct CRMUser: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var login: String
    public var displayName: String
    /// SMTP address of the user's Exchange mailbox (`mailbox`, unique), nil when the user has none.
    public var mailbox: String?

    public init(id: UUID, login: String, displayName: String, mailbox: String? = nil) {
        self.id = id
        self.login = login
        self.displayName = displayName
        self.mailbox = mailbox
    }
}

/// A row of `crm.contacts`. Contacts sync CRM → Exchange, to every mailbox whose user covers them.
public struct CRMContact: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var givenName: String?
    public var surname: String?
    public var displayName: String
    public var company: String?
    public var jobTitle: String?
    public var email1: String?
    public var email2: String?
    public var email3: String?
    public var businessPhone: String?
    public var mobilePhone: String?
    public var homePhone: String?
    public var street: String?
    public var city: String?
    public var state: String?
    public var postalCode: String?
    public var country: String?
    public var notes: String?
    public var birthday: LocalDate?
    public var categories: [String]
    public var updatedAt: Date
    public var version: Int64

    public init(
        id: UUID, givenName: String? = nil, surname: String? = nil, displayName: String,
        company: String? = nil, jobTitle: String? = nil,
        email1: String? = nil, email2: String? = nil, email3: String? = nil,
        businessPhone: String? = nil, mobilePhone: String? = nil, homePhone: String? = nil,
        street: String? = nil, city: String? = nil, state: String? = nil, postalCode: String? = nil,
        country: String? = nil, notes: String? = nil, birthday: LocalDate? = nil, categories: [String] = [],
        updatedAt: Date, version: Int64
    ) {
        self.id = id
        self.givenName = givenName
        self.surname = surname
        self.displayName = displayName
        self.company = company
        self.jobTitle = jobTitle
        self.email1 = email1
        self.email2 = email2
        self.email3 = email3
        self.businessPhone = businessPhone
        self.mobilePhone = mobilePhone
        self.homePhone = homePhone
        self.street = street
        self.city = city
        self.state = state
        self.postalCode = postalCode
        self.country = country
        self.notes = notes
        self.birthday = birthday
        self.categories = categories
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// The role of an attendee (`crm.appointment_attendees.kind`).
public enum AttendeeKind: String, Sendable, Hashable, Codable, CaseIterable {
    case required, optional, resource
}

/// A row of `crm.appointment_attendees` (without the appointment id, implied by the owner record).
public struct CRMAttendee: Sendable, Hashable, Codable {
    public var email: String
    public var name: String?
    public var kind: AttendeeKind
    /// The CRM contact with this email, linked by the pipeline; nil when none.
    public var contactID: UUID?

    public init(email: String, name: String? = nil, kind: AttendeeKind, contactID: UUID? = nil) {
        self.email = email
        self.name = name
        self.kind = kind
        self.contactID = contactID
    }
}

/// A row of `crm.appointment_exceptions`: one occurrence of a series that was moved, changed or cancelled.
public struct CRMAppointmentException: Sendable, Hashable, Codable {
    /// The start the occurrence would have had without the exception (identifies the occurrence).
    public var originalStart: Date
    public var isCancelled: Bool
    public var subject: String?
    public var location: String?
    public var startsAt: Date?
    public var endsAt: Date?

    public init(
        originalStart: Date, isCancelled: Bool, subject: String? = nil, location: String? = nil,
        startsAt: Date? = nil, endsAt: Date? = nil
    ) {
        self.originalStart = originalStart
        self.isCancelled = isCancelled
        self.subject = subject
        self.location = location
        self.startsAt = startsAt
        self.endsAt = endsAt
    }
}

/// A row of `crm.appointments` with its exceptions and attendees. A recurring series is one record: the
/// master (with an RFC 5545 RRULE in ``recurrence``) plus its exceptions; occurrences are never expanded.
public struct CRMAppointment: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    /// The CRM user whose mailbox holds the appointment.
    public var ownerID: UUID
    public var subject: String
    public var location: String?
    public var body: String?
    public var startsAt: Date
    public var endsAt: Date
    public var isAllDay: Bool
    /// Time zone identifier (Windows or IANA, as the source gave it), nil for UTC/unspecified.
    public var timeZone: String?
    public var isPrivate: Bool
    public var categories: [String]
    public var icalUID: String?
    /// RFC 5545 RRULE value (without the `RRULE:` prefix) when this is a series master; see ``RecurrenceRule``.
    public var recurrence: String?
    public var updatedAt: Date
    public var version: Int64
    public var exceptions: [CRMAppointmentException]
    public var attendees: [CRMAttendee]

    public init(
        id: UUID, ownerID: UUID, subject: String, location: String? = nil, body: String? = nil,
        startsAt: Date, endsAt: Date, isAllDay: Bool = false, timeZone: String? = nil, isPrivate: Bool = false,
        categories: [String] = [], icalUID: String? = nil, recurrence: String? = nil,
        updatedAt: Date, version: Int64,
        exceptions: [CRMAppointmentException] = [], attendees: [CRMAttendee] = []
    ) {
        self.id = id
        self.ownerID = ownerID
        self.subject = subject
        self.location = location
        self.body = body
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.isAllDay = isAllDay
        self.timeZone = timeZone
        self.isPrivate = isPrivate
        self.categories = categories
        self.icalUID = icalUID
        self.recurrence = recurrence
        self.updatedAt = updatedAt
        self.version = version
        self.exceptions = exceptions
        self.attendees = attendees
    }
}

/// `crm.tasks.status`.
public enum TaskStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case notStarted = "not_started", inProgress = "in_progress", completed, waiting, deferred
}

/// `crm.tasks.importance`.
public enum TaskImportance: String, Sendable, Hashable, Codable, CaseIterable {
    case low, normal, high
}

/// A row of `crm.tasks`.
public struct CRMTask: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var ownerID: UUID
    public var subject: String
    public var body: String?
    public var startsOn: LocalDate?
    public var dueOn: LocalDate?
    public var status: TaskStatus
    /// 0...100.
    public var percentComplete: Int
    public var importance: TaskImportance
    public var completedAt: Date?
    public var categories: [String]
    public var updatedAt: Date
    public var version: Int64

    public init(
        id: UUID, ownerID: UUID, subject: String, body: String? = nil, startsOn: LocalDate? = nil,
        dueOn: LocalDate? = nil, status: TaskStatus = .notStarted, percentComplete: Int = 0,
        importance: TaskImportance = .normal, completedAt: Date? = nil, categories: [String] = [],
        updatedAt: Date, version: Int64
    ) {
        self.id = id
        self.ownerID = ownerID
        self.subject = subject
        self.body = body
        self.startsOn = startsOn
        self.dueOn = dueOn
        self.status = status
        self.percentComplete = percentComplete
        self.importance = importance
        self.completedAt = completedAt
        self.categories = categories
        self.updatedAt = updatedAt
        self.version = version
    }
}

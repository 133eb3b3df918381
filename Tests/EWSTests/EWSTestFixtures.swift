import Foundation
import SyncCore
import TestSupport
@testable import EWS

/// Paths and sample records shared by the EWS tests.
enum Fixtures {
    /// The shared EWS schema and samples (``SharedDirectory``).
    static var sharedDirectory: URL {
        get throws {
            let shared = SharedDirectory.url
            guard FileManager.default.fileExists(atPath: shared.appendingPathComponent("ews-schema/validate").path)
            else {
                throw MissingShared(path: shared.path)
            }
            return shared
        }
    }

    struct MissingShared: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "the EWS schema and samples (ews-schema/, ews-samples/) are missing at \(path): set SNAPSYNC_SHARED_DIR (docs/development.md says where to get them)"
        }
    }

    static func sample(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: try sharedDirectory.appendingPathComponent("ews-samples/\(name)")))
    }

    static let owner = UUID(uuidString: "0B7F3A5E-1C2D-4E5F-8A9B-0C1D2E3F4A5B")!

    static func date(_ text: String) -> Date { ISO8601.parseDateTime(text)! }

    static let contact = CRMContact(
        id: UUID(uuidString: "9A1F0C2B-3D4E-4F50-8162-738495A6B7C8")!, givenName: "Zoë", surname: "O'Brien & Söhne",
        displayName: "Zoë O'Brien <CEO>", company: "Acme \"Widgets\"", jobTitle: "CEO",
        email1: "zoe@example.com", email2: "zoe.private@example.org", email3: nil,
        businessPhone: "+49 30 1234", mobilePhone: "+49 170 5678", homePhone: nil,
        street: "Hauptstraße 1\nHinterhaus", city: "Berlin", state: nil, postalCode: "10115", country: "Germany",
        notes: "Met at fair.\r\nLikes tea 🍵", birthday: LocalDate(year: 1980, month: 5, day: 4),
        categories: ["VIP", "Berlin"],
        updatedAt: date("2024-01-01T00:00:00Z"), version: 3)

    static let appointment = CRMAppointment(
        id: UUID(uuidString: "1B2C3D4E-5F60-4172-8394-A5B6C7D8E9F0")!, ownerID: owner, subject: "Weekly sync",
        location: "Room 4", body: "Agenda: <none>", startsAt: date("2024-03-04T09:00:00Z"),
        endsAt: date("2024-03-04T09:30:00Z"),
        isAllDay: false, timeZone: "W. Europe Standard Time", isPrivate: true, categories: ["Team"],
        icalUID: "uid-123@example.com",
        recurrence: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240630", updatedAt: date("2024-01-01T00:00:00Z"), version: 1,
        attendees: [
            CRMAttendee(email: "anna@example.com", name: "Anna", kind: .required),
            CRMAttendee(email: "ben@example.com", name: nil, kind: .optional),
            CRMAttendee(email: "room4@example.com", name: "Room 4", kind: .resource),
        ])

    static let task = CRMTask(
        id: UUID(uuidString: "C0FFEE00-1234-4567-89AB-CDEF01234567")!, ownerID: owner, subject: "Send offer",
        body: "Draft first",
        startsOn: LocalDate(year: 2024, month: 3, day: 1), dueOn: LocalDate(year: 2024, month: 3, day: 8),
        status: .inProgress,
        percentComplete: 50, importance: .high, completedAt: nil, categories: ["Sales"],
        updatedAt: date("2024-01-01T00:00:00Z"), version: 2)

    static let context = EWSRequestContext(
        mailbox: "anna@example.com", access: .impersonation, version: .exchange2013SP1)
}

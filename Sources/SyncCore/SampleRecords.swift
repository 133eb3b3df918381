import Foundation

/// Deterministic CRM records for the demo, benchmarks and tests: the same seed gives the same records.
/// Appointments include recurring series (with a modified and a cancelled occurrence) and attendees.
public struct SampleRecords: Sendable {
    private var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }

    mutating func next() -> UInt64 { random.next() }

    /// A deterministic version-4 UUID.
    public mutating func uuid() -> UUID { random.uuid() }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }

    static let givenNames = [
        "Anna", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grete", "Hiro", "Inès", "Jonas", "Kai", "Lena",
    ]
    static let surnames = [
        "Meyer", "Okafor", "Nguyen", "Schmidt", "García", "Rossi", "Novák", "Smith", "Yilmaz", "Kowalski",
    ]
    static let companies = ["Acme GmbH", "Globex", "Initech", "Umbrella AG", "Stark & Söhne", nil]
    static let cities = ["Berlin", "Zürich", "Lyon", "Porto", "Wien", nil]
    static let subjects = [
        "Quarterly review", "Site visit", "Call with supplier", "Budget planning", "Onboarding", "Démo client",
    ]
    /// 2026-01-05 08:00 UTC, a Monday.
    public static let epoch = Date(timeIntervalSince1970: 1_767_600_000)

    /// A contact (`index` makes names and emails distinct).
    public mutating func contact(index: Int, updatedAt: Date = epoch) -> CRMContact {
        let given = pick(Self.givenNames), surname = pick(Self.surnames)
        let email =
            "\(given.lowercased().folding(options: .diacriticInsensitive, locale: nil)).\(surname.lowercased().folding(options: .diacriticInsensitive, locale: nil)).\(index)@example.org"
        return CRMContact(
            id: uuid(), givenName: given, surname: surname, displayName: "\(given) \(surname)",
            company: pick(Self.companies), jobTitle: next() % 2 == 0 ? "Manager" : nil, email1: email,
            businessPhone: "+49 30 \(100_000 + Int(next() % 900_000))", city: pick(Self.cities),
            notes: next() % 4 == 0 ? "Met at the fair.\nPrefers e-mail." : nil,
            birthday: next() % 3 == 0
                ? LocalDate(year: 1960 + Int(next() % 40), month: 1 + Int(next() % 12), day: 1 + Int(next() % 28))
                : nil,
            categories: next() % 2 == 0 ? ["Customer"] : [], updatedAt: updatedAt, version: 1)
    }

    /// An appointment owned by `ownerID`; every fifth is a weekly series with one moved and one cancelled
    /// occurrence. `attendeeEmails` are invited (some may be CRM contacts).
    public mutating func appointment(
        ownerID: UUID, index: Int, attendeeEmails: [String] = [], updatedAt: Date = epoch
    ) -> CRMAppointment {
        let start = Self.epoch.addingTimeInterval(Double(index % 200) * 86_400 + Double(next() % 8) * 3600)
        let end = start.addingTimeInterval(Double(1 + next() % 3) * 1800)
        var appointment = CRMAppointment(
            id: uuid(), ownerID: ownerID, subject: "\(pick(Self.subjects)) \(index)",
            location: next() % 2 == 0 ? "Room \(1 + next() % 9)" : nil,
            body: next() % 3 == 0 ? "Agenda:\n1. Status\n2. Next steps" : nil,
            startsAt: start, endsAt: end, timeZone: "UTC", categories: next() % 3 == 0 ? ["Sales"] : [],
            icalUID: "snapsync-sample-\(uuid().lowercasedString)", updatedAt: updatedAt, version: 1)
        if index % 5 == 0 {
            appointment.recurrence = "FREQ=WEEKLY;INTERVAL=1;BYDAY=\(Self.weekday(of: start));COUNT=10"
            appointment.exceptions = [
                CRMAppointmentException(
                    originalStart: start.addingTimeInterval(7 * 86_400), isCancelled: false,
                    subject: "\(appointment.subject) (moved)", startsAt: start.addingTimeInterval(7 * 86_400 + 3600),
                    endsAt: end.addingTimeInterval(7 * 86_400 + 3600)),
                CRMAppointmentException(originalStart: start.addingTimeInterval(14 * 86_400), isCancelled: true),
            ]
        }
        for (position, email) in attendeeEmails.enumerated() {
            appointment.attendees.append(
                CRMAttendee(email: email, name: nil, kind: position == 0 ? .required : .optional))
        }
        return appointment
    }

    /// A task owned by `ownerID`.
    public mutating func task(ownerID: UUID, index: Int, updatedAt: Date = epoch) -> CRMTask {
        let status = pick(TaskStatus.allCases)
        let start = LocalDate(daysSinceEpoch: Int(Self.epoch.timeIntervalSince1970 / 86_400) + index % 200)
        return CRMTask(
            id: uuid(), ownerID: ownerID, subject: "Follow up \(index)", body: next() % 2 == 0 ? "Call back." : nil,
            startsOn: start, dueOn: LocalDate(daysSinceEpoch: start.daysSinceEpoch + 7), status: status,
            percentComplete: status == .completed ? 100 : (status == .inProgress ? 50 : 0),
            importance: pick(TaskImportance.allCases),
            completedAt: status == .completed ? Self.epoch.addingTimeInterval(Double(index % 200) * 86_400) : nil,
            categories: next() % 4 == 0 ? ["Follow-up"] : [], updatedAt: updatedAt, version: 1)
    }

    /// Coverage of sample contacts: contact `i` is covered by `perContact` consecutive users from user `i`
    /// (wrapping), each user at most once per contact.
    public static func coverage(
        of contacts: [CRMContact], by users: [UUID], perContact: Int
    ) -> [(userID: UUID, contactID: UUID)] {
        let count = min(perContact, users.count)
        return contacts.enumerated().flatMap { index, contact in
            (0..<count).map { (userID: users[(index + $0) % users.count], contactID: contact.id) }
        }
    }

    static func weekday(of date: Date) -> String {
        let days = Int(floor(date.timeIntervalSince1970 / 86_400))
        return ["TH", "FR", "SA", "SU", "MO", "TU", "WE"][((days % 7) + 7) % 7]
    }
}

import Foundation

/// Text as Exchange stores it. EWS requests are XML 1.0, which cannot carry the C0 control characters other than
/// tab, LF and CR, nor U+FFFE and U+FFFF: a request drops them, so Exchange holds the text without them. Comparisons
/// of a CRM value with Exchange's use ``stored(_:)`` on the CRM side.
public enum ExchangeText {
    /// Whether Exchange can hold this character.
    public static func isStorable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: true
        case 0x00..<0x20, 0xFFFE, 0xFFFF: false
        default: true
        }
    }

    /// Whether `text` has a character Exchange cannot hold.
    public static func containsUnstorable(_ text: String) -> Bool {
        text.unicodeScalars.contains { !isStorable($0) }
    }

    /// `text` as Exchange stores it: without the characters it cannot hold.
    public static func stored(_ text: String) -> String {
        guard containsUnstorable(text) else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter(isStorable))
        return String(scalars)
    }
}

extension MailboxRecord {
    /// The mapped fields whose text has characters Exchange cannot hold (``ExchangeText``): writing the record drops
    /// them. Named as in the CRM (`subject`, `appointment_attendees`, ...).
    public var fieldsWithUnstorableText: [String] {
        func check(_ fields: [(String, [String?])]) -> [String] {
            fields.filter { $0.1.contains { $0.map(ExchangeText.containsUnstorable) ?? false } }.map(\.0)
        }
        switch self {
        case .contact(let c):
            return check([
                ("display_name", [c.displayName]), ("given_name", [c.givenName]), ("surname", [c.surname]),
                ("company", [c.company]),
                ("job_title", [c.jobTitle]), ("email1", [c.email1]), ("email2", [c.email2]), ("email3", [c.email3]),
                ("business_phone", [c.businessPhone]), ("mobile_phone", [c.mobilePhone]), ("home_phone", [c.homePhone]),
                ("street", [c.street]), ("city", [c.city]), ("state", [c.state]), ("postal_code", [c.postalCode]),
                ("country", [c.country]), ("notes", [c.notes]), ("categories", c.categories),
            ])
        case .appointment(let a):
            return check([
                ("subject", [a.subject]), ("location", [a.location]), ("body", [a.body]), ("time_zone", [a.timeZone]),
                ("ical_uid", [a.icalUID]), ("categories", a.categories),
                ("appointment_exceptions", a.exceptions.flatMap { [$0.subject, $0.location] }),
                ("appointment_attendees", a.attendees.flatMap { [$0.email, $0.name] }),
            ])
        case .task(let t):
            return check([("subject", [t.subject]), ("body", [t.body]), ("categories", t.categories)])
        }
    }
}

import Foundation
import Postgres
import SyncCore

#if canImport(Glibc)
    import Glibc
#endif

/// Deterministic contact-like rows (the columns of crm.contacts, about 700 bytes of COPY text each), with
/// non-ASCII text, tabs, newlines, backslashes and quotes in some of them so that escaping is exercised.
struct CopyBenchmarkRows: Sendable {
    struct Row: Sendable {
        var id: UUID
        var givenName: String
        var surname: String
        var displayName: String
        var company: String
        var jobTitle: String
        var email1: String
        var email2: String?
        var businessPhone: String
        var mobilePhone: String
        var homePhone: String?
        var street: String
        var city: String
        var state: String
        var postalCode: String
        var country: String
        var notes: String
        var birthday: PostgresDate?
        var categories: [String]
        var updatedAtMicroseconds: Int64
        var version: Int64

        var updatedAt: Date { Date(timeIntervalSince1970: Double(updatedAtMicroseconds) / 1_000_000) }
    }

    static let columns = [
        "id", "given_name", "surname", "display_name", "company", "job_title", "email1", "email2", "business_phone",
        "mobile_phone", "home_phone", "street", "city", "state", "postal_code", "country", "notes", "birthday",
        "categories", "updated_at", "version",
    ]

    static let tableDefinition = """
        id uuid primary key, given_name text, surname text, display_name text not null, company text, \
        job_title text, email1 text, email2 text, business_phone text, mobile_phone text, home_phone text, \
        street text, city text, state text, postal_code text, country text, notes text, birthday date, \
        categories text[] not null default '{}', updated_at timestamptz not null, version bigint not null
        """

    let rows: [Row]

    init(count: Int) {
        rows = (0..<count).map(Self.row)
    }

    private static let givenNames = [
        "Anna", "Bernd", "Chloé", "Dmitri", "Eva", "Fatima", "Giovanni", "Hana", "Ingrid",
        "Jürgen", "Kenji", "Lucía", "Mohammed", "Nora", "Olaf", "Priya", "Quentin", "Ruth",
    ]
    private static let surnames = [
        "Müller", "Schmidt", "O'Brien", "Nakamura", "García", "Kowalski", "Dubois", "Rossi",
        "Johansson", "Novák", "Smith", "Yılmaz", "Żukowski", "van der Berg", "Ng", "Costa",
    ]
    private static let companies = [
        "Acme GmbH", "Globex, Inc.", "Initech \"Solutions\"", "Umbrella AG", "Hooli", "東京商事",
        "Vandelay Industries", "Stark Industries", "Wayne Enterprises", "Tyrell Corp.",
    ]
    private static let cities = [
        ("Berlin", "BE", "Germany"), ("Zürich", "ZH", "Switzerland"), ("Lyon", "ARA", "France"),
        ("Kraków", "MA", "Poland"), ("Osaka", "27", "Japan"), ("Austin", "TX", "United States"),
    ]
    private static let words = [
        "meeting", "follow-up", "contract", "renewal", "pricing", "quarterly", "review",
        "shipment", "invoice", "support", "escalation", "workshop", "onboarding", "Straße",
        "café", "naïve", "résumé", "budget", "forecast", "pipeline", "prospect", "partner",
    ]
    private static let categoryNames = [
        "Customer", "Partner", "VIP", "Press", "Supplier, preferred", "Former \"gold\"",
        "back\\slash", "Ünïcödé",
    ]

    private static func row(_ index: Int) -> Row {
        var random = SplitMix64(seed: UInt64(index))
        let given = givenNames[random.below(givenNames.count)]
        let surname = surnames[random.below(surnames.count)]
        let company = companies[random.below(companies.count)]
        let (city, state, country) = cities[random.below(cities.count)]
        var notes = ""
        let noteWords = 35 + random.below(15)
        for n in 0..<noteWords {
            if n > 0 { notes += random.below(40) == 0 ? "\n" : (random.below(60) == 0 ? "\t" : " ") }
            notes += words[random.below(words.count)]
        }
        if index % 97 == 0 { notes += " path C:\\temp\\crm \"quoted\"" }
        let login = "\(given).\(surname)".lowercased().filter { $0.isLetter || $0 == "." }
        let categoryCount = random.below(3)
        let categories = (0..<categoryCount).map { _ in categoryNames[random.below(categoryNames.count)] }
        return Row(
            id: random.uuid(),
            givenName: given, surname: surname, displayName: "\(given) \(surname)",
            company: company, jobTitle: ["Sales Manager", "CTO", "Buyer", "Engineer", "Assistant"][random.below(5)],
            email1: "\(login)\(index)@example.com",
            email2: random.below(3) == 0 ? "\(login)@private.example.org" : nil,
            businessPhone: "+49 30 \(1_000_000 + random.below(8_999_999))",
            mobilePhone: "+49 170 \(1_000_000 + random.below(8_999_999))",
            homePhone: random.below(2) == 0 ? "+49 30 \(1_000_000 + random.below(8_999_999))" : nil,
            street:
                "\(random.below(200) + 1) \(["Hauptstraße", "Rue de la Paix", "Main Street", "Via Roma"][random.below(4)])",
            city: city, state: state, postalCode: String(10000 + random.below(89999)), country: country,
            notes: notes,
            birthday: random.below(4) == 0
                ? nil
                : PostgresDate(year: 1950 + random.below(55), month: 1 + random.below(12), day: 1 + random.below(28)),
            categories: categories,
            updatedAtMicroseconds: 1_700_000_000_000_000 + Int64(random.below(1 << 30)) * 1_000
                + Int64(random.below(1000)),
            version: Int64(random.below(1000) + 1))
    }

    // MARK: Through the module

    /// Appends every row to a COPY writer (the module encodes the typed values).
    func write(to writer: inout PostgresCopyWriter) throws {
        for row in rows {
            writer.append(row.id)
            writer.append(row.givenName)
            writer.append(row.surname)
            writer.append(row.displayName)
            writer.append(row.company)
            writer.append(row.jobTitle)
            writer.append(row.email1)
            writer.append(row.email2)
            writer.append(row.businessPhone)
            writer.append(row.mobilePhone)
            writer.append(row.homePhone)
            writer.append(row.street)
            writer.append(row.city)
            writer.append(row.state)
            writer.append(row.postalCode)
            writer.append(row.country)
            writer.append(row.notes)
            writer.append(row.birthday)
            writer.append(row.categories)
            writer.append(row.updatedAt)
            writer.append(row.version)
            try writer.endRow()
        }
    }

    // MARK: As a file for psql

    /// Writes the rows as COPY text (independent of the module's encoders) and returns the byte count.
    func writeCopyText(to url: URL) throws -> Int {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var total = 0
        for row in rows {
            let fields: [String?] = [
                row.id.lowercasedString, row.givenName, row.surname, row.displayName, row.company, row.jobTitle,
                row.email1, row.email2, row.businessPhone, row.mobilePhone, row.homePhone, row.street, row.city,
                row.state, row.postalCode, row.country, row.notes, row.birthday.map(Self.dateText),
                Self.arrayLiteral(row.categories), Self.timestampText(row.updatedAtMicroseconds), String(row.version),
            ]
            for (index, field) in fields.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: "\t")) }
                guard let field else {
                    buffer.append(contentsOf: "\\N".utf8)
                    continue
                }
                for byte in field.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): buffer.append(contentsOf: "\\\\".utf8)
                    case UInt8(ascii: "\t"): buffer.append(contentsOf: "\\t".utf8)
                    case UInt8(ascii: "\n"): buffer.append(contentsOf: "\\n".utf8)
                    case UInt8(ascii: "\r"): buffer.append(contentsOf: "\\r".utf8)
                    default: buffer.append(byte)
                    }
                }
            }
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 20 {
                try handle.write(contentsOf: buffer)
                total += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
        return total + buffer.count
    }

    private static func dateText(_ date: PostgresDate) -> String {
        "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))"
    }

    private static func timestampText(_ microseconds: Int64) -> String {
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2)) "
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
            + "\(pad(Int(microseconds % 1_000_000), 6))+00"
    }

    private static func arrayLiteral(_ values: [String]) -> String {
        "{"
            + values.map { value in
                "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }.joined(separator: ",") + "}"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

import EWS
import Foundation
import SyncCore
import XML

extension EWSDecodeBenchmark {
    /// A GetItem response page as Exchange 2016 sends it for snapsync's contact shape (IdOnly plus the
    /// mapped properties, elements in schema order, no indentation): one `GetItemResponseMessage` per
    /// contact, realistic ids and change keys, a multi-line body, non-ASCII names and escaped characters.
    /// Deterministic for a given seed, so runs compare.
    struct ContactPage {
        let bytes: [UInt8]
        let contacts: Int
        /// What the decoder must find in contact `i` (checked after every run).
        let expectedDisplayNames: [String]

        init(contacts: Int, seed: UInt64) {
            var random = SplitMix64(seed: seed)
            var names: [String] = []
            names.reserveCapacity(contacts)
            var w = XMLWriter(reservingCapacity: contacts * 2048)
            w.startElement("s:Envelope", attributes: ["xmlns:s": EWSNamespace.soap])
            w.element("s:Header") { w in
                w.startElement(
                    "h:ServerVersionInfo",
                    attributes: [
                        "MajorVersion": "15", "MinorVersion": "1", "MajorBuildNumber": "2507", "MinorBuildNumber": "6",
                        "Version": "V2017_07_11", "xmlns:h": EWSNamespace.types, "xmlns": EWSNamespace.types,
                        "xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
                        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                    ])
                w.endElement()
            }
            w.element("s:Body") { w in
                w.startElement(
                    "m:GetItemResponse", attributes: ["xmlns:m": EWSNamespace.messages, "xmlns:t": EWSNamespace.types])
                w.element("m:ResponseMessages") { w in
                    for index in 0..<contacts {
                        w.startElement("m:GetItemResponseMessage", attributes: ["ResponseClass": "Success"])
                        w.element("m:ResponseCode", text: "NoError")
                        w.element("m:Items") { w in names.append(Self.writeContact(index, &random, into: &w)) }
                        w.endElement()
                    }
                }
                w.endElement()
            }
            w.endElement()
            bytes = w.bytes
            self.contacts = contacts
            expectedDisplayNames = names
        }

        static let givenNames = [
            "Anna", "Zoë", "José", "Łukasz", "Søren", "Mei", "Oluwaseun", "François", "Ingrid", "Mateo",
            "Aiko", "Björn", "Chloé", "Dmitri", "Eşref", "Fatima",
        ]
        static let surnames = [
            "Müller", "O'Brien", "García", "Nowak", "Andersen", "Wang", "Adeyemi", "Dubois", "Lindqvist",
            "Rossi", "Yamada", "Kowalczyk", "van der Berg", "Öztürk", "Ivanova", "Smith",
        ]
        static let companies = [
            "Acme & Söhne GmbH", "Northwind Traders", "Contoso Ltd.", "Fabrikam, Inc.", "Tailspin <Toys>",
            "Wide World Importers", "Adventure Works", "Litware \"Labs\"",
        ]
        static let titles = [
            "Chief Executive Officer", "Head of Procurement", "Sales Manager EMEA", "Account Executive",
            "Software Engineer", "Office Manager",
        ]
        static let cities = [
            ("Berlin", "BE", "10115", "Germany"), ("München", "BY", "80331", "Germany"),
            ("Lyon", "ARA", "69002", "France"), ("Kraków", "MA", "30-001", "Poland"),
            ("Seattle", "WA", "98101", "United States"), ("Osaka", "27", "530-0001", "Japan"),
        ]
        static let categories = ["Customer", "VIP", "Supplier", "Press", "Partner", "Newsletter"]
        static let sentences = [
            "Met at the trade fair in Hannover; interested in the enterprise plan.",
            "Prefers calls in the morning, never on Fridays.",
            "Follow up on the quote from last quarter (ref. Q-2291) & send the revised price list.",
            "Assistant handles scheduling — cc them on every invitation.",
            "Speaks German, English and a little French.",
            "Renewal due in spring; budget approved <pending legal review>.",
            "Introduced by a mutual contact at the partner summit.",
            "Asked for a site visit after the migration is finished.",
        ]

        /// Writes contact `index` and returns its display name.
        static func writeContact(_ index: Int, _ random: inout SplitMix64, into w: inout XMLWriter) -> String {
            let given = givenNames[random.below(givenNames.count)]
            let surname = surnames[random.below(surnames.count)]
            let company = companies[random.below(companies.count)]
            let (city, state, postal, country) = cities[random.below(cities.count)]
            let display = "\(given) \(surname)"
            let login = "\(given).\(surname)".lowercased().filter { $0.isASCII && ($0.isLetter || $0 == ".") }
            w.element("t:Contact") { w in
                w.startElement(
                    "t:ItemId",
                    attributes: [
                        "Id":
                            "AAMkADk0N2E4ZjM1LTI1OGItNGFkNy05ZmI2LWU2ZmNhMmMwZDdlNwBGAAAAAAC1x3KGd9tURIpHN7yp0jKqBwCjh2"
                            + random.base64(64) + "AAA=",
                        "ChangeKey": "EQAAABYAAACjh2Ue" + random.base64(24),
                    ])
                w.endElement()
                var body: [String] = []
                for _ in 0..<(6 + random.below(5)) { body.append(sentences[random.below(sentences.count)]) }
                w.element("t:Body", attributes: ["BodyType": "Text"], text: body.joined(separator: "\r\n"))
                w.element("t:Categories") { w in
                    for c in 0..<(1 + random.below(3)) {
                        w.element("t:String", text: categories[(index + c) % categories.count])
                    }
                }
                w.element("t:ExtendedProperty") { w in
                    EWSFieldURI.extended(.snapsyncCRMId).write(into: &w)
                    w.element("t:Value", text: random.uuid().lowercasedString)
                }
                w.element(
                    "t:LastModifiedTime",
                    text:
                        "2024-0\(1 + random.below(9))-1\(random.below(10))T0\(random.below(10)):1\(random.below(10)):4\(random.below(10))Z"
                )
                w.element("t:DisplayName", text: display)
                w.element("t:GivenName", text: given)
                w.element("t:CompanyName", text: company)
                w.element("t:EmailAddresses") { w in
                    w.element(
                        "t:Entry", attributes: ["Key": "EmailAddress1"],
                        text: "\(login)@\(company.prefix(4).lowercased().filter(\.isLetter)).example.com")
                    w.element(
                        "t:Entry", attributes: ["Key": "EmailAddress2"], text: "\(login)\(index)@mail.example.org")
                }
                w.element("t:PhysicalAddresses") { w in
                    w.element("t:Entry", attributes: ["Key": "Business"]) { w in
                        w.element("t:Street", text: "Hauptstraße \(1 + random.below(200))\nGebäude \(random.below(9))")
                        w.element("t:City", text: city)
                        w.element("t:State", text: state)
                        w.element("t:CountryOrRegion", text: country)
                        w.element("t:PostalCode", text: postal)
                    }
                }
                w.element("t:PhoneNumbers") { w in
                    w.element("t:Entry", attributes: ["Key": "BusinessPhone"], text: "+49 30 \(random.digits(8))")
                    w.element("t:Entry", attributes: ["Key": "HomePhone"], text: "+49 30 \(random.digits(7))")
                    w.element("t:Entry", attributes: ["Key": "MobilePhone"], text: "+49 170 \(random.digits(7))")
                }
                w.element(
                    "t:Birthday",
                    text: "19\(60 + random.below(40))-0\(1 + random.below(9))-1\(random.below(10))T12:00:00Z")
                w.element("t:JobTitle", text: titles[random.below(titles.count)])
                w.element("t:Surname", text: surname)
            }
            return display
        }
    }
}

/// Seeded draws for the benchmark's pages (SyncCore's SplitMix64, so that pages are identical across runs).
extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    mutating func base64(_ count: Int) -> String { String((0..<count).map { _ in Self.alphabet[below(64)] }) }

    mutating func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(below(10))) }) }
}

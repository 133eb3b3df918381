import Foundation
import Testing
@testable import ExchangeSimulator

/// The Graph front-end's token endpoint, access rules, contacts and their errors, each response checked against
/// Microsoft's Graph v1.0 schema.
@Suite struct GraphContactsTests {
    static let alice = "alice@example.com"
    static let crmId = "String {c11ff724-aa03-4555-9952-8fa248a11c3e} Name CrmId"

    @Test func tokenEndpointIssuesTokensOnlyForRegisteredAppsAndGraphRejectsOthers() async throws {
        try await withSimulator({
            $0.mailboxes = [Self.alice]; $0.graphTokenSeconds = 2
        }) { sim, _ in
            var g = GraphClient(sim)
            let ok = try await g.requestToken()
            #expect(ok.status == 200 && ok.json["token_type"]?.string == "Bearer" && ok.json["expires_in"] == .int(2))
            let badSecret = try await g.requestToken(secret: "wrong")
            #expect(badSecret.status == 401 && badSecret.json["error"]?.string == "invalid_client")
            #expect(badSecret.json["error_codes"] == .array([.int(7000215)]))
            #expect(try await g.requestToken(clientId: "nobody").json["error"]?.string == "unauthorized_client")
            #expect(try await g.requestToken(secret: nil).json["error_codes"] == .array([.int(7000218)]))
            #expect(try await g.requestToken(scope: "Contacts.Read").json["error"]?.string == "invalid_scope")
            #expect(try await g.requestToken(grantType: "password").json["error"]?.string == "unsupported_grant_type")

            let none = try await g.call("GET", "/users/\(Self.alice)/contacts", auth: false)
            #expect(none.status == 401 && none.errorCode == "InvalidAuthenticationToken")
            #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            g.token = "not-a-token"
            #expect(try await g.get("/users/\(Self.alice)/contacts").errorCode == "InvalidAuthenticationToken")
            // A fresh token works until its lifetime (2 s here) is over. On a machine so loaded that the lifetime passed
            // before the request was answered, a refusal proves nothing, and a new token is tried.
            var fine: GraphReply?
            var received = ContinuousClock.now
            for _ in 0..<5 where fine == nil {
                let asked = ContinuousClock.now
                g.token = try #require(try await g.requestToken().json["access_token"]?.string)
                received = .now
                let reply = try await g.get(
                    "/users/\(Self.alice)/contacts",
                    headers: ["client-request-id": "c0ffee00-0000-4000-8000-000000000001"]
                )
                if reply.status == 200 { fine = reply; continue }
                #expect(ContinuousClock.now - asked >= .seconds(2), "a token was refused within its lifetime")
            }
            let answer = try #require(fine)
            #expect(answer.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001")
            #expect(answer.headers["request-id"]?.count == 36)
            // The token was issued before it was received, so it has expired 2 s after that.
            try await Task.sleep(until: received + .milliseconds(2100))
            let expired = try await g.get("/users/\(Self.alice)/contacts")
            #expect(expired.status == 401 && expired.errorCode == "InvalidAuthenticationToken")
            #expect(expired.json["error"]?["innerError"]?["request-id"]?.string == expired.headers["request-id"])
            try await g.expectSchemaValid()
        }
    }

    @Test func appScopeAndMailboxesWithoutRESTAreRefused() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice, "bob@example.com"] }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            sim.control.setGraphScope(clientId: GraphApp.demo.clientId, mailboxes: [Self.alice])
            #expect(try await g.get("/users/\(Self.alice)/contacts").status == 200)
            // A user by address or by id.
            let user = try await g.get("/users/\(Self.alice)")
            let userId = try #require(user.json["id"]?.string)
            #expect(user.json["userPrincipalName"]?.string == Self.alice && UUID(uuidString: userId) != nil)
            #expect(try await g.get("/users/\(userId)/contacts").status == 200)
            let denied = try await g.get("/users/bob@example.com/contacts")
            #expect(denied.status == 403 && denied.errorCode == "ErrorAccessDenied")
            #expect(denied.json["error"]?["message"]?.string == "Access to OData is disabled.")
            sim.control.setRESTEnabled(mailbox: Self.alice, false)
            let noREST = try await g.get("/users/\(Self.alice)/contacts")
            #expect(noREST.status == 404 && noREST.errorCode == "MailboxNotEnabledForRESTAPI")
            #expect(try await g.get("/users/nobody@example.com/contacts").status == 404)
            #expect(try await g.get("/me/contacts").status == 400)
            try await g.expectSchemaValid()
        }
    }

    @Test func contactsCreateReadPageUpdateDeleteAndFindByExtendedProperty() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let base = "/users/\(Self.alice)/contacts"
            var ids: [String] = []
            for n in 0..<23 {
                let r = try await g.post(
                    base,
                    json([
                        ("givenName", .string("Zoë\(n)")), ("surname", .string("Müller")),
                        ("companyName", .string("Contoso")),
                        (
                            "emailAddresses",
                            .array([
                                .object([("name", .string("Zoë \(n)")), ("address", .string("z\(n)@example.org"))])
                            ])
                        ),
                        ("businessPhones", .array([.string("+49 30 \(n)")])), ("mobilePhone", .string("+49 170 \(n)")),
                        (
                            "businessAddress",
                            .object([("street", .string("Hauptstraße \(n)")), ("city", .string("Berlin"))])
                        ),
                        ("birthday", .string("1980-05-0\(n % 9 + 1)T00:00:00Z")),
                        ("personalNotes", .string("Notes \(n) & \"more\"")),
                        ("categories", .array([.string("Customer")])),
                        (
                            "singleValueExtendedProperties",
                            .array([.object([("id", .string(Self.crmId)), ("value", .string("crm-\(n)"))])])
                        ),
                    ]))
                #expect(r.status == 201, "\(r.text)")
                #expect(r.json["displayName"]?.string == "Zoë\(n) Müller")
                #expect(r.json["singleValueExtendedProperties"] == nil)
                ids.append(try #require(r.json["id"]?.string))
            }
            // Default page size 10, absolute nextLinks, every contact once.
            let all = try await g.all(base)
            #expect(all.pages == 3 && Set(all.values.compactMap { $0["id"]?.string }) == Set(ids))
            let small = try await g.all(base + "?$select=givenName,surname", headers: ["Prefer": "odata.maxpagesize=5"])
            #expect(small.pages == 5 && small.values.allSatisfy { $0["companyName"] == nil && $0["givenName"] != nil })
            #expect(try await g.get(base + "?$top=7").values.count == 7)

            let one = try await g.get("\(base)/\(seg(ids[3]))")
            #expect(
                one.json["emailAddresses"]
                    == .array([.object([("name", .string("Zoë 3")), ("address", .string("z3@example.org"))])]))
            #expect(one.json["businessAddress"]?["city"]?.string == "Berlin" && one.json["homeAddress"] == .object([]))
            #expect(
                one.json["birthday"]?.string == "1980-05-04T00:00:00Z"
                    && one.json["personalNotes"]?.string == "Notes 3 & \"more\"")
            let key = one.json["changeKey"]?.string

            let patched = try await g.patch(
                "\(base)/\(seg(ids[3]))", json([("jobTitle", .string("Buyer")), ("mobilePhone", .null)]))
            #expect(
                patched.status == 200 && patched.json["jobTitle"]?.string == "Buyer"
                    && patched.json["mobilePhone"] == .null)
            #expect(patched.json["businessPhones"] == .array([.string("+49 30 3")]))
            #expect(patched.json["changeKey"]?.string != key)
            let stale = try await g.patch(
                "\(base)/\(seg(ids[3]))", json([("jobTitle", .string("x"))]), headers: ["If-Match": "W/\"\(key!)\""])
            #expect(stale.status == 412)

            let found = try await g.get(
                base + "?$filter="
                    + seg("singleValueExtendedProperties/Any(ep: ep/id eq '\(Self.crmId)' and ep/value eq 'crm-7')"))
            #expect(
                found.values.count == 1 && found.values.first?["id"]?.string == ids[7]
                    && found.values.first?["singleValueExtendedProperties"] == nil)
            let expanded = try await g.get(
                "\(base)/\(seg(ids[7]))?$expand=" + seg("singleValueExtendedProperties($filter=id eq '\(Self.crmId)')"))
            #expect(
                expanded.json["singleValueExtendedProperties"]
                    == .array([.object([("id", .string(Self.crmId)), ("value", .string("crm-7"))])]))
            let byName = try await g.get(base + "?$filter=" + seg("givenName eq 'Zoë12'") + "&$orderby=displayName")
            #expect(byName.values.map { $0["id"]?.string } == [ids[12]])

            #expect(try await g.delete("\(base)/\(seg(ids[0]))").status == 204)
            #expect(try await g.get("\(base)/\(seg(ids[0]))").errorCode == "ErrorItemNotFound")
            #expect(try await g.delete("\(base)/\(seg(ids[0]))").status == 404)
            #expect(sim.control.mailboxes().first { $0.address == Self.alice }?.deletedItems == 1)

            // Contact folders: the Contacts folder and one made below it.
            let folder = try await g.post(
                "/users/\(Self.alice)/contactFolders", json([("displayName", .string("Suppliers"))]))
            #expect(folder.status == 201)
            let fid = try #require(folder.json["id"]?.string)
            #expect(
                try await g.post(
                    "/users/\(Self.alice)/contactFolders/\(seg(fid))/contacts",
                    json([("givenName", .string("In a folder"))])
                ).status == 201)
            #expect(try await g.get("/users/\(Self.alice)/contactFolders/\(seg(fid))/contacts").values.count == 1)
            #expect(try await g.get("/users/\(Self.alice)/contactFolders").values.count == 1)
            try await g.expectSchemaValid()
        }
    }

    @Test func badInputGetsGraphsErrorsAndWritesNothing() async throws {
        try await withSimulator({
            $0.mailboxes = [Self.alice]; $0.maxRequestBytes = 64 * 1024
        }) { sim, _ in
            let g = try await GraphClient.signedIn(sim)
            let base = "/users/\(Self.alice)/contacts"
            let bad: [(String, String, Int, String)] = [
                ("malformed", "{\"givenName\": \"x\",", 400, "BadRequest"),
                ("not an object", "[1,2]", 400, "BadRequest"),
                ("duplicate member", "{\"givenName\":\"a\",\"givenName\":\"b\"}", 400, "BadRequest"),
                ("unknown property", "{\"givenName\":\"x\",\"shoeSize\":44}", 400, "RequestBodyRead"),
                ("wrong type", "{\"givenName\":42}", 400, "RequestBodyRead"),
                ("string for a collection", "{\"givenName\":\"x\",\"categories\":\"a\"}", 400, "RequestBodyRead"),
                (
                    "unknown member of a closed type",
                    "{\"emailAddresses\":[{\"address\":\"a@b.c\",\"kind\":\"work\"}]}", 400, "RequestBodyRead"
                ),
                ("bad date", "{\"givenName\":\"x\",\"birthday\":\"1980-02-30\"}", 400, "RequestBodyRead"),
                (
                    "bad extended property id",
                    "{\"singleValueExtendedProperties\":[{\"id\":\"Strin {x} Name\",\"value\":\"1\"}]}", 400,
                    "ErrorInvalidProperty"
                ),
            ]
            for (name, body, status, code) in bad {
                let r = try await g.post(base, body)
                #expect(r.status == status && r.errorCode == code, "\(name): \(r.status) \(r.text)")
            }
            let big = try await g.post(base, "{\"givenName\":\"" + String(repeating: "x", count: 70 * 1024) + "\"}")
            #expect(big.status == 413)
            #expect(try await g.get("\(base)/not-an-id").errorCode == "ErrorInvalidIdMalformed")
            #expect(try await g.get("\(base)/QUFNawEAAAAAAAAA_2FsaWNlQGV4YW1wbGUuY29t").status == 404)
            #expect(try await g.get(base + "?$select=givenName,shoeSize").status == 400)
            #expect(try await g.get(base + "?$search=foo").status == 400)
            #expect(try await g.get(base + "?$filter=" + seg("contains(givenName,'x')")).status == 400)
            #expect(try await g.get(base + "?$top=abc").status == 400)
            #expect(try await g.get(base + "?$orderby=shoeSize").status == 400)
            #expect(try await g.get(base + "?$expand=photo").status == 400)
            #expect(
                try await g.get(base, headers: ["Prefer": "outlook.timezone=\"Mars/Olympus\""]).errorCode
                    == "TimeZoneNotSupportedException")
            #expect(try await g.call("PUT", base).status == 405)
            // A PATCH with one bad property changes nothing.
            let c = try await g.post(base, json([("givenName", .string("Kept"))]))
            let id = try #require(c.json["id"]?.string)
            #expect(try await g.patch("\(base)/\(seg(id))", "{\"surname\":\"New\",\"categories\":7}").status == 400)
            let after = try await g.get("\(base)/\(seg(id))")
            #expect(after.json["surname"] == .null && after.json["changeKey"] == c.json["changeKey"])
            #expect(sim.control.mailboxes().first { $0.address == Self.alice }?.contacts == 1)
            try await g.expectSchemaValid()
        }
    }

    @Test func itemsWrittenThroughEWSReadBackThroughGraphAndTheReverse() async throws {
        try await withSimulator({ $0.mailboxes = [Self.alice] }) { sim, c in
            try sim.control.seed(SeedRequest(mailbox: Self.alice, seed: 11, contacts: 8, appointments: 0, tasks: 6))
            let g = try await GraphClient.signedIn(sim)
            // Seeded (EWS model) → Graph, field by field.
            let contacts = try await g.all("/users/\(Self.alice)/contacts").values
            let stored = sim.control.store.withState { s in
                Array(s.mailbox(Self.alice)!.folders["contacts"]!.items.values)
            }
            #expect(contacts.count == stored.count)
            for item in stored {
                let graphId = GraphIdentifier.id(mailbox: Self.alice, number: item.number, immutable: false)
                let j = try #require(contacts.first { $0["id"]?.string == graphId })
                #expect(j["givenName"]?.string == item.fields["GivenName"]?.text)
                #expect(j["surname"]?.string == item.fields["Surname"]?.text)
                #expect(j["displayName"]?.string == item.fields["DisplayName"]?.text)
                #expect(j["companyName"]?.string == item.fields["CompanyName"]?.text)
                #expect(j["personalNotes"]?.string == item.fields["Body"]?.text)
                #expect(
                    j["emailAddresses"]?.elements?.map { $0["address"]?.string }
                        == item.fields["EmailAddresses"]?.children.map(\.text))
                #expect(
                    j["businessAddress"]?["city"]?.string
                        == item.fields["PhysicalAddresses"]?.children.first { $0.attr("Key") == "Business" }?.child(
                            "City")?.text)
                #expect(
                    j["categories"]?.elements?.compactMap(\.string) ?? []
                        == (item.fields["Categories"]?.children.map(\.text) ?? []))
                #expect(j["birthday"]?.string == item.fields["Birthday"]?.value)
            }
            let tasks = try await g.all(try await g.defaultTasks(of: "/users/\(Self.alice)")).values
            #expect(tasks.count == 6)
            let storedTasks = sim.control.store.withState { s in
                Array(s.mailbox(Self.alice)!.folders["tasks"]!.items.values)
            }
            for item in storedTasks {
                let t = try #require(tasks.first { $0["title"]?.string == item.fields["Subject"]?.text })
                #expect(t["status"]?.string?.lowercased() == item.fields["Status"]?.value.lowercased())
                #expect(
                    t["dueDateTime"]?["dateTime"]?.string == String(item.fields["DueDate"]!.value.dropLast())
                        + ".0000000")
            }

            // EWS CreateItem with a named property → the same property through Graph, by filter.
            let created = try await c.ews(
                Req.createItem(Req.contact(4, crmId: "crm-ews-4"), folder: Req.folder("contacts", mailbox: Self.alice)))
            let ewsId = try #require(Scrape.all(created.text, attribute: "Id", of: "t:ItemId").first)
            let found = try await g.get(
                "/users/\(Self.alice)/contacts?$filter="
                    + seg(
                        "singleValueExtendedProperties/Any(ep: ep/id eq '\(GraphContactsTests.crmId)' and ep/value eq 'crm-ews-4')"
                    ))
            let j = try #require(found.values.first)
            #expect(found.values.count == 1 && j["id"]?.string == GraphIdentifier.rest(fromEWS: ewsId))
            #expect(
                j["givenName"]?.string == "Zoë4" && j["surname"]?.string == "Müller"
                    && j["mobilePhone"]?.string == "+49 170 4")
            #expect(
                j["businessAddress"]?["street"]?.string == "Hauptstraße 4"
                    && j["personalNotes"]?.string == "Notes 4 & more")

            // A PublicStrings named property through EWS is Graph's property of the PS_PUBLIC_STRINGS GUID.
            let publicURI =
                "<t:ExtendedFieldURI DistinguishedPropertySetId=\"PublicStrings\" PropertyName=\"SnapsyncId\" PropertyType=\"String\"/>"
            _ = try await c.ews(
                Req.createItem(
                    "<t:Contact><t:ExtendedProperty>\(publicURI)<t:Value>pub-1</t:Value></t:ExtendedProperty><t:GivenName>Public</t:GivenName></t:Contact>",
                    folder: Req.folder("contacts", mailbox: Self.alice)))
            let publicId = "String {00020329-0000-0000-C000-000000000046} Name SnapsyncId"
            let byPublic = try await g.get(
                "/users/\(Self.alice)/contacts?$filter="
                    + seg("singleValueExtendedProperties/Any(ep: ep/id eq '\(publicId)' and ep/value eq 'pub-1')")
                    + "&$expand=" + seg("singleValueExtendedProperties($filter=id eq '\(publicId)')"))
            #expect(byPublic.values.map { $0["givenName"]?.string } == ["Public"])
            #expect(
                byPublic.values.first?["singleValueExtendedProperties"]?.elements?.first?["value"]?.string == "pub-1")

            // Graph POST → EWS GetItem with the same content and property.
            let posted = try await g.post(
                "/users/\(Self.alice)/contacts",
                json([
                    ("givenName", .string("Łukasz")), ("surname", .string("Nowak")), ("jobTitle", .string("CFO")),
                    (
                        "emailAddresses",
                        .array([.object([("address", .string("l@example.pl")), ("name", .string("Łukasz Nowak"))])])
                    ),
                    (
                        "singleValueExtendedProperties",
                        .array([
                            .object([("id", .string(GraphContactsTests.crmId)), ("value", .string("crm-graph-1"))])
                        ])
                    ),
                ]))
            let graphId = try #require(posted.json["id"]?.string)
            let translated = try await g.post(
                "/users/\(Self.alice)/translateExchangeIds",
                json([
                    ("inputIds", .array([.string(graphId)])), ("sourceIdType", .string("restId")),
                    ("targetIdType", .string("ewsId")),
                ]))
            let back = try #require(translated.values.first?["targetId"]?.string)
            let immutable = try await g.post(
                "/users/\(Self.alice)/translateExchangeIds",
                json([
                    ("inputIds", .array([.string(back)])), ("sourceIdType", .string("ewsId")),
                    ("targetIdType", .string("restImmutableEntryId")),
                ]))
            let immutableId = try #require(immutable.values.first?["targetId"]?.string)
            #expect(
                try await g.get("/users/\(Self.alice)/contacts/\(seg(immutableId))").json["givenName"]?.string
                    == "Łukasz")
            let viaImmutable = try await g.get(
                "/users/\(Self.alice)/contacts/\(seg(graphId))", headers: ["Prefer": "IdType=\"ImmutableId\""])
            #expect(viaImmutable.json["id"]?.string == immutableId)
            let ews = try await c.ews(Req.getItem([back], additional: Req.crmIdURI))
            #expect(
                ews.text.contains("<t:GivenName>Łukasz</t:GivenName>")
                    && ews.text.contains("<t:JobTitle>CFO</t:JobTitle>"))
            #expect(ews.text.contains("l@example.pl") && ews.text.contains("<t:Value>crm-graph-1</t:Value>"))
            try await g.expectSchemaValid()
        }
    }

    /// An immutable id is the REST form (`/` as `-`, `+` as `_`) of the base64 of its tag, the item's number and the
    /// mailbox's address in lower case, and reads back as the same item, for an address in either case.
    @Test func anImmutableIdIsItsItemInRESTBase64() throws {
        for (mailbox, number) in [
            ("alice@example.com", UInt64(1)), ("Bob.O'Neil@Example.COM", 70_000), ("x@y.z", 1 << 40),
        ] {
            var bytes: [UInt8] = [0x41, 0x41, 0x6B, 0x41, 0x01]
            withUnsafeBytes(of: number.bigEndian) { bytes.append(contentsOf: $0) }
            bytes += Array(mailbox.lowercased().utf8)
            let rest = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "-")
                .replacingOccurrences(of: "+", with: "_")
            let id = GraphIdentifier.id(mailbox: mailbox, number: number, immutable: true)
            #expect(id == rest)
            #expect(GraphIdentifier.parse(id) == .item(mailbox: mailbox.lowercased(), number: number))
        }
    }
}

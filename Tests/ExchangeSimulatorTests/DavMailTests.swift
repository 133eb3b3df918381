import Foundation
import Testing
import TestSupport
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif
@testable import ExchangeSimulator

/// DavMail (Debian's `davmail-server`, installed by jobs/dev/install-deps.sh): a CalDAV/CardDAV gateway that speaks
/// EWS, written independently of snapsync. `SNAPSYNC_TEST_DAVMAIL` names its jar; without it the Debian package's is
/// used when installed. Missing in CI is a failure, never a silent skip.
enum DavMail {
    static let jar: String? = {
        let env = ProcessInfo.processInfo.environment
        if let j = env["SNAPSYNC_TEST_DAVMAIL"], !j.isEmpty { return j }
        let debian = "/usr/share/davmail/davmail.jar"
        return FileManager.default.fileExists(atPath: debian) ? debian : nil
    }()
    static var enabled: Bool { jar != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    /// A free loopback TCP port (bound and released; DavMail takes its ports from its properties file).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CancellationError() }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// DavMail in server mode, EWS mode, against `sim`'s EWS endpoint, CalDAV/CardDAV on a loopback port without
    /// TLS; its other listeners off. Runs `body` with the CalDAV base URL, then stops DavMail.
    static func withGateway<T>(
        _ sim: Simulator, _ body: (String) async throws -> T
    ) async throws -> T {
        guard let jar else {
            Issue.record(
                "DavMail is not installed and CI=true: run jobs/dev/install-deps.sh (it installs davmail-server).")
            throw CancellationError()
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("davmail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freePort()
        let properties = """
            davmail.server=true
            davmail.mode=EWS
            davmail.url=\(sim.endpoint)
            davmail.caldavPort=\(port)
            davmail.imapPort=
            davmail.ldapPort=
            davmail.popPort=
            davmail.smtpPort=
            davmail.bindAddress=127.0.0.1
            davmail.allowRemote=false
            davmail.ssl.nosecurecaldav=true
            davmail.enableKeepAlive=false
            davmail.disableUpdateCheck=true
            davmail.caldavPastDelay=0
            davmail.logFilePath=\(directory.path)/davmail.log
            log4j.rootLogger=WARN
            log4j.logger.davmail=INFO

            """
        let file = directory.appendingPathComponent("davmail.properties")
        try properties.write(to: file, atomically: true, encoding: .utf8)
        let process = try ChildProcess.start("/usr/bin/java", ["-Xshare:auto", "-jar", jar, "-server", file.path])
        do {
            let result = try await serve(process, port: port, directory: directory, body)
            _ = await process.terminate()
            return result
        } catch {
            _ = await process.terminate()
            throw error
        }
    }

    /// Waits for DavMail to listen, then runs `body` with its CalDAV base URL.
    static func serve<T>(
        _ process: ChildProcess, port: Int, directory: URL, _ body: (String) async throws -> T
    ) async throws -> T {
        let base = "http://127.0.0.1:\(port)"
        // Java starts in seconds on a loaded machine; DavMail listens once it has read its settings.
        let deadline = Date().addingTimeInterval(120)
        while true {
            if let r = try? await request("OPTIONS", base + "/users/"), r.status > 0 { break }
            guard process.isRunning, Date() < deadline else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("davmail.log"), encoding: .utf8))
                Issue.record("DavMail did not listen on port \(port): \(log?.suffix(3000) ?? "no log")")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        return try await body(base)
    }

    static let session = URLSession(configuration: .ephemeral)

    /// A CalDAV/CardDAV request as the service account (which DavMail passes on to EWS with Basic auth).
    static func request(
        _ method: String, _ url: String, body: String? = nil, depth: String? = nil
    ) async throws -> (status: Int, text: String) {
        var req = URLRequest(url: URL(string: url)!)
        req.httpMethod = method
        req.timeoutInterval = 120
        let account = SimulatorConfiguration.defaultAccount
        req.setValue(
            "Basic " + Data("\(account.user):\(account.password)".utf8).base64EncodedString(),
            forHTTPHeaderField: "Authorization")
        if let depth { req.setValue(depth, forHTTPHeaderField: "Depth") }
        if let body {
            req.setValue("text/xml; charset=utf-8", forHTTPHeaderField: "Content-Type")
            req.httpBody = Data(body.utf8)
        }
        let (data, response) = try await session.data(for: req)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The member hrefs of a collection (PROPFIND, depth 1), the collection itself left out.
    static func members(_ base: String, _ collection: String) async throws -> [String] {
        let query = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>"
        let r = try await request("PROPFIND", base + collection, body: query, depth: "1")
        #expect(r.status == 207, "PROPFIND \(collection): \(r.status) \(r.text.prefix(500))")
        return Scrape.texts(r.text, element: "D:href").filter { $0 != collection }
    }

    /// The value of the first content line `name` (parameters allowed) of a vCard or iCalendar text, unfolded.
    static func property(_ text: String, _ name: String) -> String? {
        let unfolded = text.replacingOccurrences(of: "\r\n ", with: "").replacingOccurrences(of: "\n ", with: "")
        for line in unfolded.split(whereSeparator: \.isNewline) {
            guard line.hasPrefix(name), let colon = line.firstIndex(of: ":") else { continue }
            let head = line[..<colon]
            guard head == name || head.hasPrefix(name + ";") else { continue }
            return String(line[line.index(after: colon)...])
        }
        return nil
    }

    /// Every value of content line `name`.
    static func properties(_ text: String, _ name: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let head = line[..<colon]
            guard head == name || head.hasPrefix(name + ";") else { return nil }
            return String(line[line.index(after: colon)...])
        }
    }
}

/// DavMail lists and reads a seeded mailbox through CardDAV and CalDAV against the simulator's EWS, as it does
/// against Exchange: every contact, every event but the private ones (DavMail hides those from a delegate), and
/// one contact's vCard and one event's iCalendar with the simulator's values.
@Suite(.enabled(if: DavMail.enabled), .serialized)
struct DavMailTests {
    static let mailbox = "alice@example.com"

    static func stored(_ sim: Simulator, _ folder: String) -> [StoredItem] {
        sim.control.store.withState { s in
            s.mailbox(mailbox)!.folders[folder]!.items.values.sorted { $0.number < $1.number }
        }
    }

    @Test func listsAndReadsASeededMailboxThroughCardDAVAndCalDAV() async throws {
        try await withSimulator { sim, _ in
            try sim.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 7, contacts: 25, appointments: 15))
            try await DavMail.withGateway(sim) { base in
                let user = "/users/\(Self.mailbox)"
                let contacts = Self.stored(sim, "contacts")
                let cards = try await DavMail.members(base, user + "/contacts/")
                #expect(contacts.count == 25)
                #expect(cards.count == contacts.count, "\(cards)")

                let appointments = Self.stored(sim, "calendar")
                let visible = appointments.filter { $0.fields["Sensitivity"]?.text != "Private" }
                #expect(visible.count < appointments.count, "the seed makes private appointments")
                let events = try await DavMail.members(base, user + "/calendar/")
                #expect(events.count == visible.count, "\(events)")

                // One contact's vCard: the contact is found by its e-mail address, its fields compared.
                let card = try await DavMail.request("GET", base + cards[0])
                #expect(card.status == 200, "\(card.text.prefix(500))")
                let email = try #require(DavMail.properties(card.text, "EMAIL").first, "\(card.text)")
                let contact = try #require(
                    contacts.first { c in
                        c.fields["EmailAddresses"]?.children.contains { $0.text == email } == true
                    }, "no contact with \(email)")
                func field(_ name: String) -> String? { contact.fields[name]?.text }
                #expect(DavMail.property(card.text, "FN") == field("DisplayName"), "\(card.text)")
                #expect(
                    DavMail.property(card.text, "N")?.hasPrefix("\(field("Surname") ?? "");\(field("GivenName") ?? "")")
                        == true)
                #expect(DavMail.property(card.text, "ORG")?.hasPrefix(field("CompanyName") ?? "-") == true)
                #expect(DavMail.property(card.text, "TITLE") == field("JobTitle"))
                let phones = contact.fields["PhoneNumbers"]?.children.map(\.text) ?? []
                #expect(!phones.isEmpty && Set(DavMail.properties(card.text, "TEL")) == Set(phones), "\(card.text)")
                if let city = contact.fields["PhysicalAddresses"]?.children.first?.child("City")?.text {
                    #expect(DavMail.properties(card.text, "ADR").contains { $0.contains(city) }, "\(card.text)")
                }

                // One event's iCalendar: DavMail names an event by its item id in base64url (`-` for `+`, `_` for
                // `/`) and, recognising the id by its shape, reads it with GetItem and its MimeContent.
                let href = try #require(events.first)
                let name = String(href.split(separator: "/").last ?? "").replacingOccurrences(of: ".EML", with: "")
                let ewsId = name.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                let id = try #require(Identifier.parseItemId(ewsId), "\(href) does not name an item")
                let appointment = try #require(appointments.first { $0.number == id.number })
                let ics = try await DavMail.request("GET", base + href)
                #expect(ics.status == 200, "\(ics.text.prefix(500))")
                #expect(DavMail.property(ics.text, "SUMMARY") == appointment.fields["Subject"]?.text, "\(ics.text)")
                if let location = appointment.fields["Location"]?.text {
                    #expect(DavMail.property(ics.text, "LOCATION") == location)
                }
                let start = try #require(appointment.fields["Start"]?.text)
                let compact = start.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
                #expect(
                    DavMail.property(ics.text, "DTSTART")?.hasPrefix(String(compact.prefix(13))) == true, "\(ics.text)")
            }
        }
    }
}

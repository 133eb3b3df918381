import ArgumentParser
import ExchangeSimulator
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Measures what the simulator serves over loopback HTTP, per kind of item (contacts, calendar items, tasks), with the
/// items and request sizes snapsync uses on each protocol: EWS CreateItem of 100 items (each with snapsync's CRM-id
/// extended property, events with their UID) and GetItem of 1,000; Graph POST in `$batch` requests of 20 (Graph's
/// most per request; events with a `transactionId`, To Do tasks with a linked resource and the task extension,
/// contacts and events with the extended properties), and GET of the collection in pages of 1,000 with snapsync's
/// `$select` and `$expand`. CPU per item is the process's user and system time per
/// phase (the client's share included, the same for both) and the simulator's event-loop threads' own.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print EWS CreateItem/GetItem and Graph POST/GET items/s and CPU per item.")

    @Option(help: "Batches per operation and kind.") var batches = 10
    @Option(help: "Items per batch (an EWS GetItem's, a Graph listing page's).") var batchSize = 1000
    @Option(help: "Items per EWS CreateItem (snapsync's batch size).") var createSize = 100
    @Option(help: "POSTs per Graph $batch (snapsync's batch size, and Graph's most).") var batchRequests = 20
    @Option(help: "Rounds of every measurement (alternating which front-end goes first); medians are printed.")
    var rounds = 1
    @Option(name: .customLong("kind"), help: "A kind of item to measure (repeatable).")
    var kinds: [Kind] = Kind.allCases
    @Option(name: .customLong("protocol"), help: "A front-end to measure (repeatable).")
    var protocols: [Front] = Front.allCases

    /// A front-end of the simulator.
    enum Front: String, CaseIterable, ExpressibleByArgument {
        case ews, graph
    }

    /// A kind of item as the bench writes it through each front-end.
    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case contacts, events, tasks

        var ewsFolder: String { ["contacts": "contacts", "events": "calendar", "tasks": "tasks"][rawValue]! }
        var ewsElement: String { ["contacts": "Contact", "events": "CalendarItem", "tasks": "Task"][rawValue]! }
    }

    static let crmId = "String {5c1b9e4a-3f0d-4c55-9b6e-5d7a2e8c1f30} Name SnapsyncCrmId"
    static let iCalUid = "String {5c1b9e4a-3f0d-4c55-9b6e-5d7a2e8c1f30} Name SnapsyncICalUid"
    static let taskExtension = "microsoft.graph.openTypeExtension.com.snapsync.task"

    static func ewsItem(_ kind: Kind, _ n: Int) -> String {
        // The body, then the CRM id as snapsync stamps it (Item's ExtendedProperty comes after Body in the schema).
        let body =
            "<t:Body BodyType=\"Text\">Notes for item \(n) — Zoë &amp; Łukasz</t:Body><t:ExtendedProperty>"
            + "<t:ExtendedFieldURI PropertySetId=\"5C1B9E4A-3F0D-4C55-9B6E-5D7A2E8C1F30\" PropertyName=\"SnapsyncCrmId\" "
            + "PropertyType=\"String\"/><t:Value>crm-\(n)</t:Value></t:ExtendedProperty>"
        switch kind {
        case .contacts:
            return "<t:Contact><t:Subject>Contact \(n)</t:Subject>\(body)"
                + "<t:GivenName>Given\(n)</t:GivenName><t:CompanyName>Contoso</t:CompanyName>"
                + "<t:EmailAddresses><t:Entry Key=\"EmailAddress1\">c\(n)@example.org</t:Entry></t:EmailAddresses>"
                + "<t:PhoneNumbers><t:Entry Key=\"BusinessPhone\">+1 555 \(n)</t:Entry></t:PhoneNumbers>"
                + "<t:JobTitle>Buyer</t:JobTitle><t:Surname>Surname\(n)</t:Surname></t:Contact>"
        case .events:
            let day = 1 + n % 28
            return "<t:CalendarItem><t:Subject>Meeting \(n)</t:Subject>\(body)<t:UID>uid-\(n)</t:UID>"
                + "<t:Start>2026-03-\(day < 10 ? "0" : "")\(day)T09:00:00Z</t:Start>"
                + "<t:End>2026-03-\(day < 10 ? "0" : "")\(day)T10:00:00Z</t:End><t:Location>Room \(n % 50)</t:Location>"
                + "<t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>Guest \(n)</t:Name>"
                + "<t:EmailAddress>g\(n)@example.org</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>"
                + "</t:CalendarItem>"
        case .tasks:
            return "<t:Task><t:Subject>Task \(n)</t:Subject>\(body)<t:DueDate>2026-03-20T00:00:00Z</t:DueDate>"
                + "<t:PercentComplete>\(n % 100)</t:PercentComplete><t:Status>InProgress</t:Status></t:Task>"
        }
    }

    static func graphItem(_ kind: Kind, _ n: Int) -> String {
        let stamp = "{\"id\":\"\(crmId)\",\"value\":\"crm-\(n)\"}"
        switch kind {
        case .contacts:
            return "{\"givenName\":\"Given\(n)\",\"surname\":\"Surname\(n)\",\"companyName\":\"Contoso\","
                + "\"jobTitle\":\"Buyer\",\"personalNotes\":\"Notes for item \(n) — Zoë & Łukasz\","
                + "\"emailAddresses\":[{\"address\":\"c\(n)@example.org\"}],\"businessPhones\":[\"+1 555 \(n)\"],"
                + "\"singleValueExtendedProperties\":[\(stamp)]}"
        case .events:
            let day = 1 + n % 28
            let date = "2026-03-\(day < 10 ? "0" : "")\(day)"
            return "{\"subject\":\"Meeting \(n)\",\"body\":{\"contentType\":\"text\","
                + "\"content\":\"Notes for item \(n) — Zoë & Łukasz\"},"
                + "\"start\":{\"dateTime\":\"\(date)T09:00:00\",\"timeZone\":\"UTC\"},"
                + "\"end\":{\"dateTime\":\"\(date)T10:00:00\",\"timeZone\":\"UTC\"},"
                + "\"location\":{\"displayName\":\"Room \(n % 50)\"},"
                + "\"attendees\":[{\"type\":\"required\",\"emailAddress\":{\"name\":\"Guest \(n)\","
                + "\"address\":\"g\(n)@example.org\"}}],"
                + "\"singleValueExtendedProperties\":[\(stamp),{\"id\":\"\(iCalUid)\",\"value\":\"uid-\(n)\"}],"
                + "\"transactionId\":\"00000000-0000-4000-8000-\(String(repeating: "0", count: max(0, 12 - String(n).count)))\(n)\"}"
        case .tasks:
            return "{\"title\":\"Task \(n)\",\"body\":{\"contentType\":\"text\","
                + "\"content\":\"Notes for item \(n) — Zoë & Łukasz\"},\"status\":\"inProgress\","
                + "\"dueDateTime\":{\"dateTime\":\"2026-03-20T00:00:00\",\"timeZone\":\"UTC\"},"
                + "\"linkedResources\":[{\"applicationName\":\"snapsync\",\"externalId\":\"crm-\(n)\","
                + "\"displayName\":\"CRM task\"}],"
                + "\"extensions\":[{\"@odata.type\":\"microsoft.graph.openTypeExtension\","
                + "\"extensionName\":\"com.snapsync.task\",\"percentComplete\":\(n % 100)}]}"
        }
    }

    /// The query snapsync reads a whole item of `kind` with.
    static func graphQuery(_ kind: Kind) -> [(String, String)] {
        switch kind {
        case .contacts:
            [
                (
                    "$select",
                    "givenName,surname,companyName,jobTitle,personalNotes,emailAddresses,businessPhones,changeKey"
                ),
                ("$expand", "singleValueExtendedProperties($filter=id eq '\(crmId)')"),
            ]
        case .events:
            [
                (
                    "$select",
                    "subject,body,start,end,location,attendees,isAllDay,originalStartTimeZone,recurrence,changeKey,type,"
                        + "cancelledOccurrences"
                ),
                (
                    "$expand",
                    "exceptionOccurrences,singleValueExtendedProperties($filter=id eq '\(crmId)' or id eq '\(iCalUid)')"
                ),
            ]
        case .tasks: [("$expand", "linkedResources,extensions($filter=id eq '\(taskExtension)')")]
        }
    }

    struct Measure {
        var items = 0
        var seconds = 0.0
        var cpu = 0.0
        var server: Double?
    }

    func validate() throws {
        guard rounds >= 1, batches >= 1, batchSize >= 1, createSize >= 1 else {
            throw ValidationError("--rounds, --batches, --batch-size and --create-size must be at least 1")
        }
        guard (1...Simulator.graphBatchLimit).contains(batchRequests) else {
            throw ValidationError("--batch-requests must be between 1 and \(Simulator.graphBatchLimit)")
        }
    }

    func run() async throws {
        var config = SimulatorConfiguration()
        config.mailboxes = ["bench@example.com"]
        let sim = try await Simulator.start(config)
        defer { Task { try? await sim.shutdown() } }
        let session = URLSession(configuration: .ephemeral)
        let graph = try await GraphClient(sim, session: session)
        print(
            "exchange-sim bench: \(batches * batchSize) items per kind over loopback HTTP; EWS CreateItem of "
                + "\(createSize), GetItem and Graph pages of \(batchSize), Graph POST in $batch of \(batchRequests)")
        // Each round measures every kind through both front-ends, EWS first in odd rounds and Graph first in even
        // ones, so that the two meet the same machine; the figures printed are the medians of the rounds.
        var measured: [(name: String, rounds: [Measure])] = []
        func record(_ name: String, _ m: Measure) {
            if let i = measured.firstIndex(where: { $0.name == name }) {
                measured[i].rounds.append(m)
            } else {
                measured.append((name, [m]))
            }
        }
        for round in 1...rounds {
            for kind in Kind.allCases where kinds.contains(kind) {
                let order: [Front] = round % 2 == 1 ? [.ews, .graph] : [.graph, .ews]
                for front in order where protocols.contains(front) {
                    switch front {
                    case .ews:
                        let (create, get) = try await ewsBench(sim, session: session, kind: kind)
                        record("EWS CreateItem (\(createSize) a request, \(kind.rawValue)):", create)
                        record("EWS GetItem (\(kind.rawValue)):", get)
                    case .graph:
                        let (post, list) = try await graph.bench(
                            kind, count: batches * batchSize, perBatch: batchRequests)
                        record("Graph POST ($batch of \(batchRequests), \(kind.rawValue)):", post)
                        record("Graph GET (pages of 1,000, \(kind.rawValue)):", list)
                    }
                }
            }
        }
        if rounds > 1 { print("medians of \(rounds) rounds, the simulator's range in brackets") }
        for (name, ms) in measured {
            func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted.count % 2 == 1
                    ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            }
            let items = ms.map { Double(max($0.items, 1)) }
            let rate = median(ms.map { Double($0.items) / $0.seconds })
            let cpu = median(zip(ms, items).map { $0.cpu * 1e6 / $1 })
            let servers = zip(ms, items).compactMap { m, n in m.server.map { $0 * 1e6 / n } }
            var simulator = "simulator's share not measured"
            if servers.count == ms.count {
                simulator = String(format: "%5.1f us in the simulator", median(servers))
                if servers.count > 1 {
                    simulator += String(format: " [%.1f-%.1f]", servers.min()!, servers.max()!)
                }
            }
            print(
                String(
                    format: "%@ %6.0f items/s (%d items a round), %5.1f us CPU per item (process), %@",
                    name.padding(toLength: 44, withPad: " ", startingAt: 0), rate, ms[0].items, cpu, simulator))
        }
        try await sim.shutdown()
    }

    /// Creates `batches` × `batchSize` items of `kind` through EWS CreateItem, `createSize` a request, then reads them
    /// back with GetItem, `batchSize` a request.
    func ewsBench(_ sim: Simulator, session: URLSession, kind: Kind) async throws -> (Measure, Measure) {
        let account = SimulatorConfiguration.defaultAccount
        let auth = "Basic " + Data("\(account.user):\(account.password)".utf8).base64EncodedString()
        func post(_ body: String) async throws -> Data {
            var req = URLRequest(url: URL(string: sim.endpoint)!)
            req.httpMethod = "POST"
            req.setValue("text/xml; charset=utf-8", forHTTPHeaderField: "Content-Type")
            req.setValue(auth, forHTTPHeaderField: "Authorization")
            req.httpBody = Data(body.utf8)
            let (data, response) = try await session.data(for: req)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                throw ValidationError("HTTP error from simulator")
            }
            return data
        }
        func envelope(_ op: String) -> String {
            """
            <?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header>\
            <t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>\(op)</s:Body></s:Envelope>
            """
        }
        var ids: [String] = []
        var create = Measure(), get = Measure()
        var cpu = CPUClock()
        let count = batches * batchSize
        for start in stride(from: 0, to: count, by: createSize) {
            let items = (start..<min(start + createSize, count)).map { Self.ewsItem(kind, $0) }.joined()
            let disposition = kind == .events ? " SendMeetingInvitations=\"SendToNone\"" : ""
            let body = envelope(
                "<m:CreateItem\(disposition)><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"\(kind.ewsFolder)\"/>"
                    + "</m:SavedItemFolderId><m:Items>\(items)</m:Items></m:CreateItem>")
            let t0 = Date()
            let data = try await post(body)
            create.seconds += Date().timeIntervalSince(t0)
            let bytes = Array(data)
            let created = Self.matches(data, "<t:ItemId Id=\"").map { start in
                String(
                    decoding: bytes[start..<(bytes[start...].firstIndex(of: UInt8(ascii: "\"")) ?? start)],
                    as: UTF8.self)
            }
            ids += created
            create.items += created.count
        }
        create.cpu = cpu.lap()
        create.server = cpu.server
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let batch = ids[start..<min(start + batchSize, ids.count)]
            let body = envelope(
                "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>"
                    + batch.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>")
            let t0 = Date()
            let data = try await post(body)
            get.seconds += Date().timeIntervalSince(t0)
            get.items += Self.count(data, "<t:\(kind.ewsElement)>")
        }
        get.cpu = cpu.lap()
        get.server = cpu.server
        return (create, get)
    }

    /// The simulator's Graph front-end with a token of its demo app.
    struct GraphClient {
        let sim: Simulator
        let session: URLSession
        let token: String

        init(_ sim: Simulator, session: URLSession) async throws {
            self.sim = sim
            self.session = session
            var tokenRequest = URLRequest(url: URL(string: sim.tokenEndpoint())!)
            tokenRequest.httpMethod = "POST"
            tokenRequest.httpBody = Data(
                "grant_type=client_credentials&client_id=\(GraphApp.demo.clientId)&client_secret=\(GraphApp.demo.secret)&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                    .utf8)
            let (tokenData, _) = try await session.data(for: tokenRequest)
            guard let tokenJSON = try JSONSerialization.jsonObject(with: tokenData) as? [String: Any],
                let token = tokenJSON["access_token"] as? String
            else {
                throw ValidationError("no token from the simulator")
            }
            self.token = token
        }

        func send(_ method: String, _ url: String, _ body: Data?) async throws -> Data {
            var req = URLRequest(url: URL(string: url)!)
            req.httpMethod = method
            req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            req.setValue("odata.maxpagesize=1000", forHTTPHeaderField: "Prefer")
            if body != nil { req.setValue("application/json", forHTTPHeaderField: "Content-Type") }
            req.httpBody = body
            let (data, response) = try await session.data(for: req)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                throw ValidationError("HTTP error from the simulator's Graph")
            }
            return data
        }

        /// The collection of `kind` (for tasks, the default To Do list's).
        func collection(_ kind: Kind) async throws -> String {
            let user = "/users/bench@example.com"
            switch kind {
            case .contacts: return user + "/contacts"
            case .events: return user + "/events"
            case .tasks:
                let lists = try await send("GET", sim.graphEndpoint + user + "/todo/lists", nil)
                guard let json = try JSONSerialization.jsonObject(with: lists) as? [String: Any],
                    let values = json["value"] as? [[String: Any]],
                    let list = values.first(where: { $0["wellknownListName"] as? String == "defaultList" }),
                    let id = list["id"] as? String
                else { throw ValidationError("no default To Do list") }
                return user + "/todo/lists/\(id)/tasks"
            }
        }

        /// Creates `count` items of `kind` in `$batch` requests of `perBatch`, then reads the collection in pages of
        /// 1,000.
        func bench(_ kind: Kind, count: Int, perBatch: Int) async throws -> (Measure, Measure) {
            let path = try await collection(kind)
            var post = Measure(), get = Measure()
            var cpu = CPUClock()
            for start in stride(from: 0, to: count, by: perBatch) {
                var requests: [String] = []
                for n in start..<min(start + perBatch, count) {
                    requests.append(
                        "{\"id\":\"\(n)\",\"method\":\"POST\",\"url\":\"\(path)\","
                            + "\"headers\":{\"Content-Type\":\"application/json\"},\"body\":\(Bench.graphItem(kind, n))}"
                    )
                }
                let t0 = Date()
                let data = try await send(
                    "POST", sim.graphEndpoint + "/$batch",
                    Data("{\"requests\":[\(requests.joined(separator: ","))]}".utf8))
                post.seconds += Date().timeIntervalSince(t0)
                post.items += Bench.count(data, "\"status\":201")
            }
            post.cpu = cpu.lap()
            post.server = cpu.server
            var components = URLComponents()
            components.queryItems = Bench.graphQuery(kind).map { URLQueryItem(name: $0.0, value: $0.1) }
            var next: String? = sim.graphEndpoint + path + "?" + (components.percentEncodedQuery ?? "")
            while let url = next {
                let t0 = Date()
                let data = try await send("GET", url, nil)
                get.seconds += Date().timeIntervalSince(t0)
                // The client's work kept as small as EWS's: count the items, find the next link.
                get.items += Bench.count(data, "\"@odata.etag\"")
                next = Bench.nextLink(data)
            }
            get.cpu = cpu.lap()
            get.server = cpu.server
            return (post, get)
        }
    }

    /// Where `needle` occurs in `data` (byte offsets of each match's end).
    static func matches(_ data: Data, _ needle: String) -> [Int] {
        let n = Array(needle.utf8)
        return data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> [Int] in
            var out: [Int] = [], i = 0
            while i + n.count <= b.count {
                if b[i] == n[0] {
                    var k = 1
                    while k < n.count, b[i + k] == n[k] { k += 1 }
                    if k == n.count { out.append(i + k); i += k; continue }
                }
                i += 1
            }
            return out
        }
    }

    static func count(_ data: Data, _ needle: String) -> Int { matches(data, needle).count }

    static func nextLink(_ data: Data) -> String? {
        guard let start = matches(data, "\"@odata.nextLink\":\"").first else { return nil }
        let bytes = Array(data)
        guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// CPU time (user and system) between laps: the whole process's, and the simulator's own (its event-loop threads,
/// `NIO-ELT-*`, read from /proc on Linux; nil elsewhere).
struct CPUClock {
    private var last = CPUClock.now()
    private var lastServer = CPUClock.serverNow()
    /// The simulator's share of the last lap.
    private(set) var server: Double?

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func serverNow() -> Double? {
        #if os(Linux)
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else {
                return nil
            }
            var total = 0.0
            for task in tasks {
                guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                    comm.hasPrefix("NIO-ELT"),
                    let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { continue }
                // Fields after the command: state is the 3rd field of the line, utime and stime the 14th and 15th.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
                    continue
                }
                total += (user + system) / ticks
            }
            return total
        #else
            return nil
        #endif
    }

    mutating func lap() -> Double {
        let t = Self.now(), s = Self.serverNow()
        defer { last = t; lastServer = s }
        if let s, let lastServer { server = s - lastServer } else { server = nil }
        return t - last
    }
}

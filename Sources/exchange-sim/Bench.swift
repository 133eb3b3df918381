import ArgumentParser
import ExchangeSimulator
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Measures what the simulator serves over loopback HTTP: EWS CreateItem and GetItem in 1,000-item batches, and the
/// same contacts through Graph: POST in `$batch` requests of 20 (Graph's most per request) and GET in pages of 1,000.
/// CPU per item is the process's user and system time per phase (the client's share included, the same for both).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print EWS CreateItem/GetItem and Graph POST/GET items/s and CPU per item.")

    @Option(help: "Batches per operation.") var batches = 10
    @Option(help: "Items per batch.") var batchSize = 1000

    func run() async throws {
        var config = SimulatorConfiguration()
        config.mailboxes = ["bench@example.com"]
        let sim = try await Simulator.start(config)
        defer { Task { try? await sim.shutdown() } }
        let account = SimulatorConfiguration.defaultAccount
        let auth = "Basic " + Data("\(account.user):\(account.password)".utf8).base64EncodedString()
        let session = URLSession(configuration: .ephemeral)
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
        var ids: [[String]] = []
        var createSeconds = 0.0
        var cpu = CPUClock()
        for b in 0..<batches {
            var items = ""
            for i in 0..<batchSize {
                let n = b * batchSize + i
                items +=
                    "<t:Contact><t:Subject>Contact \(n)</t:Subject><t:Body BodyType=\"Text\">Notes for contact \(n) — Zoë &amp; Łukasz</t:Body>"
                    + "<t:GivenName>Given\(n)</t:GivenName><t:CompanyName>Contoso</t:CompanyName>"
                    + "<t:EmailAddresses><t:Entry Key=\"EmailAddress1\">c\(n)@example.org</t:Entry></t:EmailAddresses>"
                    + "<t:PhoneNumbers><t:Entry Key=\"BusinessPhone\">+1 555 \(n)</t:Entry></t:PhoneNumbers>"
                    + "<t:JobTitle>Buyer</t:JobTitle><t:Surname>Surname\(n)</t:Surname></t:Contact>"
            }
            let body = envelope(
                "<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"contacts\"/></m:SavedItemFolderId><m:Items>\(items)</m:Items></m:CreateItem>"
            )
            let t0 = Date()
            let data = try await post(body)
            createSeconds += Date().timeIntervalSince(t0)
            let bytes = Array(data)
            ids.append(
                Self.matches(data, "<t:ItemId Id=\"").map { start in
                    String(
                        decoding: bytes[start..<(bytes[start...].firstIndex(of: UInt8(ascii: "\"")) ?? start)],
                        as: UTF8.self)
                })
        }
        let createCPU = cpu.lap(), createServer = cpu.server
        var getSeconds = 0.0
        var fetched = 0
        for batch in ids {
            let body = envelope(
                "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>"
                    + batch.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>")
            let t0 = Date()
            let data = try await post(body)
            getSeconds += Date().timeIntervalSince(t0)
            fetched += Self.count(data, "<t:Contact>")
        }
        let getCPU = cpu.lap(), getServer = cpu.server
        let created = batches * batchSize
        let graph = try await graphBench(sim, session: session, count: created)
        print("exchange-sim bench: \(batches) batches of \(batchSize) contacts over loopback HTTP")
        func line(_ name: String, _ items: Int, _ seconds: Double, _ cpuSeconds: Double, _ server: Double?) {
            let perItem = 1e6 / Double(max(items, 1))
            print(
                String(
                    format: "%@ %6.0f items/s (%d items in %.2f s), %5.1f us CPU per item (process), %@", name,
                    Double(items) / seconds, items,
                    seconds, cpuSeconds * perItem,
                    server.map { String(format: "%5.1f us in the simulator", $0 * perItem) }
                        ?? "simulator's share not measured"))
        }
        line("EWS CreateItem:               ", created, createSeconds, createCPU, createServer)
        line("EWS GetItem:                  ", fetched, getSeconds, getCPU, getServer)
        line("Graph POST ($batch of 20):    ", graph.posted, graph.postSeconds, graph.postCPU, graph.postServer)
        line("Graph GET (pages of 1,000):   ", graph.fetched, graph.getSeconds, graph.getCPU, graph.getServer)
        try await sim.shutdown()
    }

    /// Creates `count` contacts through Graph `$batch` requests of 20, then reads them in pages of 1,000.
    func graphBench(
        _ sim: Simulator, session: URLSession, count: Int
    ) async throws
        -> (
            posted: Int, postSeconds: Double, postCPU: Double, postServer: Double?, fetched: Int, getSeconds: Double,
            getCPU: Double, getServer: Double?
        )
    {
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
        let contacts = "/users/bench@example.com/contacts"
        var cpu = CPUClock()
        var postSeconds = 0.0, posted = 0
        for start in stride(from: 0, to: count, by: 20) {
            var requests: [String] = []
            for n in start..<min(start + 20, count) {
                let contact =
                    "{\"givenName\":\"Given\(n)\",\"surname\":\"Surname\(n)\",\"companyName\":\"Contoso\",\"jobTitle\":\"Buyer\","
                    + "\"personalNotes\":\"Notes for contact \(n) — Zoë & Łukasz\",\"emailAddresses\":[{\"address\":\"c\(n)@example.org\"}],"
                    + "\"businessPhones\":[\"+1 555 \(n)\"]}"
                requests.append(
                    "{\"id\":\"\(n)\",\"method\":\"POST\",\"url\":\"\(contacts)\",\"headers\":{\"Content-Type\":\"application/json\"},\"body\":\(contact)}"
                )
            }
            let t0 = Date()
            let data = try await send(
                "POST", sim.graphEndpoint + "/$batch", Data("{\"requests\":[\(requests.joined(separator: ","))]}".utf8))
            postSeconds += Date().timeIntervalSince(t0)
            posted += Self.count(data, "\"status\":201")
        }
        let postCPU = cpu.lap(), postServer = cpu.server
        var getSeconds = 0.0, fetched = 0
        var next: String? = sim.graphEndpoint + contacts
        while let url = next {
            let t0 = Date()
            let data = try await send("GET", url, nil)
            getSeconds += Date().timeIntervalSince(t0)
            // The client's work kept as small as EWS's: count the items, find the next link.
            fetched += Self.count(data, "\"@odata.etag\"")
            next = Self.nextLink(data)
        }
        let getCPU = cpu.lap()
        return (posted, postSeconds, postCPU, postServer, fetched, getSeconds, getCPU, cpu.server)
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

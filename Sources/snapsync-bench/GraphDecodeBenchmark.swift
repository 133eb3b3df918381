import ArgumentParser
import ChildProcesses
import Foundation
import Graph
import HTTP
import Logging
import SyncCore

#if canImport(Glibc)
    import Glibc
#endif

/// `snapsync-bench graph-decode`: one page of events as `exchange-sim` returns it to the Graph source (its `$select`
/// and `$expand` of the mapped fields, fetched once), then decoded in memory again and again with the Graph module's
/// decoder (``GraphJSON``, over JSONSerialization) and with Foundation's `JSONDecoder` into `Decodable` structs of the
/// same fields; prints CPU µs per event and MB per CPU second for each (and for JSONSerialization alone, the first's
/// parser).
struct GraphDecodeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-decode",
        abstract: "Decode a page of Graph events from exchange-sim with GraphJSON and with JSONDecoder.")

    @Option(help: "Events in the page (Graph pages hold at most 1000).") var events = 1000
    @Option(help: "Decodes of the page per round.") var iterations = 10
    @Option(help: "Rounds; the median round is reported (the decoders alternate, so noise hits all).") var rounds = 5
    @Option(help: "Directory with the exchange-sim binary (default: this binary's).") var binaries: String?
    @Option(help: "Also write the page to this file.") var writePage: String?

    func validate() throws {
        guard (1...1000).contains(events), iterations > 0, rounds > 0 else {
            throw ValidationError("--events must be 1 to 1000, --iterations and --rounds positive")
        }
    }

    func run() async throws {
        let page = try await fetchPage()
        if let writePage { try Data(page).write(to: URL(fileURLWithPath: writePage)) }
        let data = Data(page)
        let count = try GraphJSON.parse(page)["value"]?.array?.count ?? 0
        let decoded = try JSONDecoder().decode(GraphEventPage.self, from: data)
        guard count > 0, decoded.value.count == count else {
            throw BenchmarkFailure("the page holds \(count) events, JSONDecoder read \(decoded.value.count)")
        }
        let exceptions = decoded.value.reduce(0) { $0 + ($1.exceptionOccurrences?.count ?? 0) }
        say(
            "graph-decode: a page of \(count) events (\(exceptions) exception occurrences expanded), "
                + String(format: "%.2f MB", Double(page.count) / 1_000_000)
                + " (\(page.count / count) bytes an event); \(rounds) rounds of \(iterations) decodes")

        var graphJSON: [Double] = [], serialization: [Double] = [], decoder: [Double] = []
        for _ in 0..<rounds {
            graphJSON.append(try measure { _ = try GraphJSON.parse(page) })
            serialization.append(try measure { _ = try JSONSerialization.jsonObject(with: data) })
            decoder.append(try measure { _ = try JSONDecoder().decode(GraphEventPage.self, from: data) })
        }
        for (name, seconds) in [
            ("GraphJSON.parse (the Graph source's decoder)", graphJSON),
            ("Foundation JSONSerialization to Any objects", serialization),
            ("JSONDecoder into Decodable structs", decoder),
        ] {
            let perPage = Benchmark.median(seconds) / Double(iterations)
            say(
                "  " + name.padding(toLength: 46, withPad: " ", startingAt: 0)
                    + String(
                        format: " %8.1f µs/event %8.1f MB/s %9.1f ms/page", perPage * 1e6 / Double(count),
                        Double(page.count) / 1_000_000 / perPage, perPage * 1e3))
        }
        say(String(format: "  peak RSS %.1f MB", Benchmark.peakRSS()))
    }

    /// CPU seconds of this process for `iterations` runs of `body` (CPU, not wall time: on a shared machine the
    /// wall clock counts the other processes' turns too).
    func measure(_ body: () throws -> Void) throws -> Double {
        let start = Benchmark.cpuSeconds(.process)
        for _ in 0..<iterations { try body() }
        return Benchmark.cpuSeconds(.process) - start
    }

    /// Starts `exchange-sim serve`, seeds one mailbox with `events` appointments (the deterministic seed: series
    /// with exceptions, attendees), signs in as the simulator's default app and reads the first page of events
    /// with the Graph source's query for whole events.
    func fetchPage() async throws -> [UInt8] {
        let directory =
            binaries
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-bench-sim-\(getpid()).log")
            .path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let mailbox = "decode@example.com"
        let simulator = try ChildProcess.start(
            directory + "/exchange-sim", ["serve", "--port", "0", "--mailbox", mailbox],
            standardOutput: .file(log, append: false), standardError: .standardOutput)
        var root: String?
        for _ in 0..<600 where root == nil && simulator.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /EWS at (http:\/\/[^\/\s]+)\//) {
                root = String(match.output.1)
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let root else {
            await simulator.terminate()
            throw BenchmarkFailure("exchange-sim did not start:\n\(Benchmark.tail(of: log))")
        }
        var configuration = HTTPClient.Configuration()
        configuration.proxy = .direct
        let client = try HTTPClient(
            configuration: configuration, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            let page = try await fetchPage(client, root: root, mailbox: mailbox)
            client.shutdown()
            await simulator.terminate()
            return page
        } catch {
            client.shutdown()
            await simulator.terminate()
            throw error
        }
    }

    func fetchPage(_ client: HTTPClient, root: String, mailbox: String) async throws -> [UInt8] {
        func checked(_ response: HTTPResponse, _ what: String) throws -> HTTPResponse {
            guard response.status == 200 else {
                throw BenchmarkFailure(
                    "\(what): HTTP \(response.status) \(String(decoding: response.body.prefix(300), as: UTF8.self))")
            }
            return response
        }
        let seed = #"{"mailbox":"\#(mailbox)","seed":1,"appointments":\#(events),"tasks":0}"#
        _ = try checked(
            try await client.execute(
                HTTPRequest(
                    method: .post, url: root + "/sim/seed", headers: ["Content-Type": "application/json"],
                    body: Array(seed.utf8), timeout: .seconds(600))), "seeding")
        let form =
            "grant_type=client_credentials&client_id=snapsync-demo-app&client_secret=snapsync-demo-secret"
            + "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        let token = try checked(
            try await client.execute(
                HTTPRequest(
                    method: .post, url: root + "/bench.example/oauth2/v2.0/token",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(form.utf8))),
            "signing in")
        guard let accessToken = try GraphJSON.parse(token.body)["access_token"]?.string else {
            throw BenchmarkFailure("the token endpoint answered no access_token")
        }
        let url =
            root + "/v1.0" + GraphClient.user(mailbox) + "/events" + GraphMailboxSource.itemQuery(.appointments)
            + "&$top=\(events)"
        let response = try checked(
            try await client.execute(
                HTTPRequest(
                    method: .get, url: url,
                    headers: [
                        "Authorization": "Bearer \(accessToken)", "Prefer": "odata.maxpagesize=\(events)",
                    ], timeout: .seconds(600))), "reading events")
        return response.body
    }
}

/// A page of events as `JSONDecoder` reads it: the fields the Graph source selects and expands.
struct GraphEventPage: Decodable {
    var value: [GraphEvent]
    var nextLink: String?

    enum CodingKeys: String, CodingKey {
        case value
        case nextLink = "@odata.nextLink"
    }
}

struct GraphEvent: Decodable {
    struct Body: Decodable {
        var contentType: String?
        var content: String?
    }
    struct DateTimeTimeZone: Decodable {
        var dateTime: String
        var timeZone: String?
    }
    struct Location: Decodable {
        var displayName: String?
    }
    struct EmailAddress: Decodable {
        var name: String?
        var address: String?
    }
    struct ResponseStatus: Decodable {
        var response: String?
        var time: String?
    }
    struct Attendee: Decodable {
        var type: String?
        var status: ResponseStatus?
        var emailAddress: EmailAddress?
    }
    struct Pattern: Decodable {
        var type: String?
        var interval: Int?
        var month: Int?
        var dayOfMonth: Int?
        var daysOfWeek: [String]?
        var firstDayOfWeek: String?
        var index: String?
    }
    struct Range: Decodable {
        var type: String?
        var startDate: String?
        var endDate: String?
        var recurrenceTimeZone: String?
        var numberOfOccurrences: Int?
    }
    struct Recurrence: Decodable {
        var pattern: Pattern?
        var range: Range?
    }
    struct ExtendedProperty: Decodable {
        var id: String
        var value: String?
    }

    var id: String
    var changeKey: String?
    var lastModifiedDateTime: String?
    var subject: String?
    var body: Body?
    var categories: [String]?
    var location: Location?
    var start: DateTimeTimeZone?
    var end: DateTimeTimeZone?
    var originalStartTimeZone: String?
    var isAllDay: Bool?
    var sensitivity: String?
    var iCalUId: String?
    var attendees: [Attendee]?
    var recurrence: Recurrence?
    var type: String?
    var cancelledOccurrences: [String]?
    var exceptionOccurrences: [GraphEvent]?
    var singleValueExtendedProperties: [ExtendedProperty]?
}

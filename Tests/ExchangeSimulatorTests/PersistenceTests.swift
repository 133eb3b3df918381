import Foundation
import HTTP
import Logging
import Testing
import TestSupport
@testable import ExchangeSimulator

/// `--data DIR`: mailboxes, ChangeKeys, sync states and backups survive a restart, a clean one or a kill.
@Suite struct PersistenceTests {
    static let alice = "alice@example.com"

    static func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("sim-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// What a client can see of alice's contacts: ids with ChangeKeys and subjects, in order.
    static func view(_ c: SimClient) async throws -> [String] {
        let r = try await c.ews(
            Req.findItem(
                Req.folder("contacts", mailbox: alice), shape: "IdOnly",
                additional: "<t:FieldURI FieldURI=\"item:Subject\"/>"))
        #expect(r.status == 200)
        let ids = Scrape.all(r.text, attribute: "Id", of: "t:ItemId"),
            keys = Scrape.all(r.text, attribute: "ChangeKey", of: "t:ItemId")
        let subjects = r.text.components(separatedBy: "<t:Subject>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        return zip(zip(ids, keys), subjects).map { "\($0.0) \($0.1) \($1)" }
    }

    /// Seeds, creates, updates and deletes through EWS, takes a sync state and a backup; returns the state.
    static func makeHistory(_ sim: Simulator, _ c: SimClient) async throws -> String {
        try sim.control.seed(SeedRequest(mailbox: alice, seed: 11, contacts: 5, appointments: 3, tasks: 2))
        let created = try await c.ews(
            Req.createItem(Req.contact(1, crmId: "crm-77"), folder: Req.folder("contacts", mailbox: alice)))
        let id = try #require(Scrape.all(created.text, attribute: "Id", of: "t:ItemId").first)
        _ = try await c.ews(Req.setSubject(id: id, changeKey: nil, subject: "Updated before restart"))
        let first = try #require(
            Scrape.all(
                try await c.ews(Req.findItem(Req.folder("contacts", mailbox: alice))).text, attribute: "Id",
                of: "t:ItemId"
            ).first)
        _ = try await c.ews(Req.deleteItem([first]))
        try sim.control.backup(name: "before-restart")
        return try #require(
            Scrape.first(try await c.ews(Req.sync(Req.folder("contacts", mailbox: alice))).text, element: "m:SyncState")
        )
    }

    /// After a restart: same items and ChangeKeys, the old sync state still valid, backups kept, new ids fresh.
    static func expectSurvived(_ sim: Simulator, _ c: SimClient, view before: [String], state: String) async throws {
        #expect(try await view(c) == before)
        let sync = try await c.ews(Req.sync(Req.folder("contacts", mailbox: alice), state: state))
        #expect(FaultControlTests.responseCodes(sync) == ["NoError"])
        #expect(
            !sync.text.contains("<t:Create>") && !sync.text.contains("<t:Update>") && !sync.text.contains("<t:Delete>"))
        #expect(sim.control.backups() == ["before-restart"])
        #expect(
            sim.control.mailboxes().first { $0.address == alice }.map { [$0.contacts, $0.calendar, $0.tasks] } == [
                5, 3, 2,
            ])
        let more = try await c.ews(Req.createItem(Req.contact(2), folder: Req.folder("contacts", mailbox: alice)))
        let newId = try #require(Scrape.all(more.text, attribute: "Id", of: "t:ItemId").first)
        #expect(!before.contains { $0.hasPrefix(newId + " ") }, "item numbers continue, never reused")
        let after = try await c.ews(Req.sync(Req.folder("contacts", mailbox: alice), state: state))
        #expect(Scrape.count(after.text, "<t:Create>") == 1)
    }

    @Test func dataSurvivesACleanRestart() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, state) = try await withSimulator({ $0.dataDirectory = dir.path }) { sim, c in
            let state = try await Self.makeHistory(sim, c)
            return (try await Self.view(c), state)
        }
        #expect(before.count == 5)
        try await withSimulator({ $0.dataDirectory = dir.path }) { sim, c in
            try await Self.expectSurvived(sim, c, view: before, state: state)
        }
    }

    @Test func theJournalAloneRestoresEverythingAfterACrash() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withSimulator({ $0.dataDirectory = dir.path }) { sim, c in
            let state = try await Self.makeHistory(sim, c)
            let before = try await Self.view(c)
            // A second store opened on the directory now sees what a restart after `kill -9` would: the
            // snapshot from start plus the journal, never compacted by a shutdown.
            let journal = try Data(contentsOf: dir.appendingPathComponent("journal.jsonl"))
            #expect(!journal.isEmpty)
            let copy = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: copy) }
            for f in ["store.json", "journal.jsonl"] {
                try FileManager.default.copyItem(at: dir.appendingPathComponent(f), to: copy.appendingPathComponent(f))
            }
            // A torn last line (killed mid-write) is ignored.
            let handle = try FileHandle(forWritingTo: copy.appendingPathComponent("journal.jsonl"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"nextItem":99,"mailb"#.utf8))
            try handle.close()
            try await withSimulator({ $0.dataDirectory = copy.path }) { sim2, c2 in
                try await Self.expectSurvived(sim2, c2, view: before, state: state)
            }
            _ = sim
        }
    }

    @Test func killedExchangeSimServeWithDataAndTLSKeepsItsMailboxes() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        var config = HTTPClient.Configuration()
        config.caFile = ca.caFile
        config.authentication = .basic(
            username: SimulatorConfiguration.defaultAccount.user,
            password: SimulatorConfiguration.defaultAccount.password)
        config.proxy = .direct
        let client = try HTTPClient(configuration: config, logger: Logger(label: "test"))
        defer { client.shutdown() }
        let args = [
            "serve", "--port", "0", "--data", dir.path, "--tls-cert", ca.certificateFile, "--tls-key", ca.keyFile,
            "--mailbox", Self.alice,
        ]

        func ews(_ endpoint: String, _ op: String) async throws -> String {
            let r = try await client.execute(
                HTTPRequest(
                    method: .post, url: endpoint, headers: ["Content-Type": "text/xml; charset=utf-8"],
                    body: Array(SimClient.envelope(op).utf8)))
            #expect(r.status == 200)
            return String(decoding: r.body, as: UTF8.self)
        }

        let first = try await ExchangeSimProcess.start(args)
        #expect(first.endpoint.hasPrefix("https://127.0.0.1:"))
        let created = try await ews(
            first.endpoint,
            Req.createItem(Req.contact(1) + Req.contact(2), folder: Req.folder("contacts", mailbox: Self.alice)))
        let ids = Scrape.all(created, attribute: "Id", of: "t:ItemId"),
            keys = Scrape.all(created, attribute: "ChangeKey", of: "t:ItemId")
        #expect(ids.count == 2)
        let seeded = try await client.execute(
            HTTPRequest(
                method: .post, url: first.base + "/sim/seed",
                body: Array(#"{"mailbox":"alice@example.com","seed":9,"tasks":4}"#.utf8)))
        #expect(seeded.status == 200)
        await first.kill()

        let second = try await ExchangeSimProcess.start(args)
        // `kill -9` runs none of its code: the defer need not wait for the end (its own thread reaps it).
        defer { second.process.signal(SIGKILL) }
        let got = try await ews(second.endpoint, Req.getItem(ids, shape: "IdOnly"))
        #expect(Scrape.all(got, attribute: "ChangeKey", of: "t:ItemId") == keys)
        let tasks = try await ews(second.endpoint, Req.findItem(Req.folder("tasks", mailbox: Self.alice)))
        #expect(Scrape.all(tasks, attribute: "Id", of: "t:ItemId").count == 4)
        // Plain HTTP is not served on the TLS port.
        await #expect(throws: (any Error).self) {
            _ = try await client.execute(
                HTTPRequest(
                    method: .post, url: second.endpoint.replacingOccurrences(of: "https:", with: "http:"),
                    body: Array(SimClient.envelope(Req.getItem(ids)).utf8), timeout: .seconds(3)))
        }
    }
}

/// `exchange-sim serve` run as a child process, as the demo and a user run it.
struct ExchangeSimProcess {
    let process: ChildProcess
    let endpoint: String
    var base: String { String(endpoint.dropLast("/EWS/Exchange.asmx".count)) }

    /// The built `exchange-sim` next to the test binary (both are products of `swift build --build-tests`).
    static func executable() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
            Paths.packageRoot.appendingPathComponent(".build/debug"),
        ].map { $0.appendingPathComponent("exchange-sim") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            Issue.record("exchange-sim not built (looked at \(candidates.map(\.path))): run swift build --build-tests")
            throw CancellationError()
        }
        return found
    }

    /// Starts the process and waits for its "EWS at URL" line.
    static func start(_ arguments: [String]) async throws -> ExchangeSimProcess {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("exchange-sim-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: out) }
        let p = try ChildProcess.start(try executable().path, arguments, standardOutput: .file(out.path, append: false))
        for _ in 0..<300 {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if let r = text.range(of: "EWS at ") {
                let url = text[r.upperBound...].prefix { !$0.isWhitespace && $0 != "," }
                return ExchangeSimProcess(process: p, endpoint: String(url))
            }
            guard p.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        p.signal(SIGTERM)
        Issue.record("exchange-sim \(arguments.joined(separator: " ")) did not start")
        throw CancellationError()
    }

    /// `kill -9`: no shutdown, no final snapshot.
    func kill() async {
        await process.kill()
    }
}

import ExchangeSimulator
import Foundation
import HTTP
import Logging
import Synchronization
import Testing
import SyncCore
@testable import EWS

/// Sends through the real libcurl client and remembers when each request left.
final class TimestampingTransport: EWSTransport {
    let http: HTTPClient
    private let sent = Mutex<[(operation: String, at: ContinuousClock.Instant)]>([])

    init(_ http: HTTPClient) { self.http = http }

    var log: [(operation: String, at: ContinuousClock.Instant)] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let operation = request.headers["SOAPAction"]?.split(separator: "/").last.map { String($0.dropLast()) } ?? ""
        sent.withLock { $0.append((operation, ContinuousClock.now)) }
        return try await http.send(request)
    }
}

/// The EWS client against the in-process Exchange simulator over real HTTP on loopback.
@Suite(.serialized) struct EWSSimulatorTests {
    static let mailbox = "anna@example.com"

    func withSimulator(
        batchSize: Int = 100, _ body: (Simulator, EWSClient, TimestampingTransport) async throws -> Void
    ) async throws {
        var simConfiguration = SimulatorConfiguration()
        simConfiguration.mailboxes = [Self.mailbox]
        let sim = try await Simulator.start(simConfiguration)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.authentication = .basic(
            username: SimulatorConfiguration.defaultAccount.user,
            password: SimulatorConfiguration.defaultAccount.password)
        httpConfiguration.proxy = .direct
        let http = try HTTPClient(configuration: httpConfiguration, logger: Logger(label: "ews-sim-test"))
        let transport = TimestampingTransport(http)
        var configuration = EWSClient.Configuration(endpoint: sim.endpoint)
        configuration.batchSize = batchSize
        configuration.retry = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(50), maxDelay: .seconds(1))
        let client = EWSClient(
            configuration: configuration, transport: transport, logger: Logger(label: "ews-sim-test"))
        do {
            try await body(sim, client, transport)
        } catch {
            http.shutdown()
            try await sim.shutdown()
            throw error
        }
        http.shutdown()
        try await sim.shutdown()
    }

    func tasks(_ count: Int) -> [CRMTask] {
        (0..<count).map { i in
            var task = Fixtures.task
            task.id = UUID()
            task.subject = "Task \(i)"
            return task
        }
    }

    @Test func pagingA25000ItemFolderReturnsEachItemOnce() async throws {
        try await withSimulator { sim, client, _ in
            let seeded = try sim.control.seed(SeedRequest(mailbox: Self.mailbox, seed: 7, contacts: 25_000))
            #expect(seeded.contacts == 25_000)
            var ids = Set<String>()
            var returned = 0
            var offset = 0
            var pages = 0
            while true {
                let page = try await client.findItems(
                    in: .distinguished(.contacts), mailbox: Self.mailbox, offset: offset)
                pages += 1
                returned += page.items.count
                ids.formUnion(page.items.compactMap { $0.itemId?.id })
                #expect(page.paging.totalItemsInView == 25_000)
                guard let next = page.nextOffset else { break }
                #expect(next == offset + page.items.count)
                offset = next
            }
            #expect(returned == 25_000 && ids.count == 25_000)
            #expect(pages == 25)
        }
    }

    @Test func oneBadItemDoesNotFailItsBatch() async throws {
        try await withSimulator { _, client, _ in
            let created = try await client.createItems(tasks(3), mapping: EWSMappings.task, mailbox: Self.mailbox).map {
                try $0.get()
            }
            var changed = tasks(3)
            for i in changed.indices { changed[i].subject = "Renamed \(i)" }
            let bogus = ItemId("AAMkNoSuchItem", changeKey: "CQAAAA==")
            let results = try await client.updateItems(
                [
                    (created[0], nil, changed[0]), (bogus, nil, changed[1]), (created[2], nil, changed[2]),
                ], mapping: EWSMappings.task, mailbox: Self.mailbox)
            #expect((try? results[0].get()) != nil && (try? results[2].get()) != nil)
            guard case .failure(let error) = results[1] else { Issue.record("the bogus item should fail"); return }
            #expect(error.responseCode?.hasPrefix("Error") == true && error.itemID == bogus.id)
            let read = try await client.getItems(
                [created[0], created[2]], mapping: EWSMappings.task, mailbox: Self.mailbox)
            #expect(read.map { (try? $0.get())?.subject } == ["Renamed 0", "Renamed 2"])
        }
    }

    @Test(arguments: [false, true]) func serverBusyBackOffIsHonoured(asFault: Bool) async throws {
        try await withSimulator { sim, client, transport in
            sim.control.setFaults(
                FaultConfiguration(
                    serverBusy: .init(
                        everyNth: 2, backOffMilliseconds: 200, asFault: asFault,
                        operations: ["GetFolder"])))
            _ = try await client.getFolder(.contacts, mailbox: Self.mailbox)  // 1st: served
            let folder = try await client.getFolder(.contacts, mailbox: Self.mailbox)  // 2nd: busy, retried
            #expect(folder.totalCount == 0)
            #expect(sim.control.counters()["GetFolder"] == 3)
            let log = transport.log.filter { $0.operation == "GetFolder" }
            #expect(log.count == 3)
            if log.count == 3 {
                #expect(
                    log[2].at - log[1].at >= .milliseconds(200),
                    "the retry came \(log[2].at - log[1].at) after the busy answer")
            }
        }
    }

    @Test func droppedCreateResponseLeavesNoDuplicate() async throws {
        try await withSimulator { sim, client, transport in
            sim.control.setFaults(FaultConfiguration(dropAfterCommit: .init(operation: "CreateItem", count: 1)))
            let records = tasks(5)
            let results = try await client.createItems(records, mapping: EWSMappings.task, mailbox: Self.mailbox)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            #expect(transport.log.map(\.operation) == ["CreateItem", "FindItem"])
            #expect(sim.control.mailboxes().first { $0.address == Self.mailbox }?.tasks == 5)
            let found = try await client.findItems(byCRMIDs: records.map(\.id), in: .tasks, mailbox: Self.mailbox)
            #expect(Set(found.keys) == Set(records.map(\.id)))
            #expect(Set(found.values) == Set(results.map { try! $0.get() }))
        }
    }

    @Test func mappedItemsRoundTripThroughTheSimulator() async throws {
        try await withSimulator { _, client, _ in
            let contactID = try #require(
                try await client.createItems([Fixtures.contact], mapping: EWSMappings.contact, mailbox: Self.mailbox)
                    .first?.get())
            guard
                case .contact(let contact)? = try await client.getItems(
                    [contactID], mapping: EWSMappings.contact, mailbox: Self.mailbox
                ).first?.get()
            else {
                Issue.record("expected a contact"); return
            }
            var back = EWSMappings.contact.record(of: contact)
            back.updatedAt = Fixtures.contact.updatedAt
            back.version = Fixtures.contact.version
            #expect(MailboxRecord.contact(back).difference(from: .contact(Fixtures.contact)).fields == [])
        }
    }
}

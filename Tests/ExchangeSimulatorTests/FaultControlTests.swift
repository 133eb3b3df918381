import Foundation
import Testing
@testable import ExchangeSimulator

/// Every fault control, set through the JSON control API, does what the README says.
@Suite struct FaultControlTests {
    static let alice = "alice@example.com"

    /// A GetItem for one seeded contact of alice's (the request every fault test repeats).
    static func seededContact(_ sim: Simulator, _ c: SimClient) async throws -> String {
        try sim.control.seed(SeedRequest(mailbox: alice, seed: 1, contacts: 3))
        let r = try await c.ews(Req.findItem(Req.folder("contacts", mailbox: alice)))
        return try #require(Scrape.all(r.text, attribute: "Id", of: "t:ItemId").first)
    }

    static func responseCodes(_ r: SimResponse) -> [String] {
        let re = try! NSRegularExpression(pattern: "<(?:m|e):ResponseCode[^>]*>([^<]*)<")
        return re.matches(in: r.text, range: NSRange(r.text.startIndex..., in: r.text)).map {
            String(r.text[Range($0.range(at: 1), in: r.text)!])
        }
    }

    @Test func downRefusesConnectionsUntilUpAndComesBackAfterItsSeconds() async throws {
        try await withSimulator({ $0.controlPort = 0 }) { sim, c in
            let id = try await Self.seededContact(sim, c)
            let controlPort = try #require(sim.controlPort)
            let down = try await c.post(path: "/sim/down", port: controlPort, body: Data("{}".utf8), auth: false)
            #expect(down.status == 200)
            await #expect(throws: (any Error).self, "connection refused while down") {
                _ = try await SimClient(sim).ews(Req.getItem([id]))
            }
            // The control port stays up: a client can be told the server is back.
            let health = try await c.post(
                path: "/sim/health", port: controlPort, body: Data(), auth: false, method: "GET")
            #expect(health.status == 200)
            _ = try await c.post(path: "/sim/up", port: controlPort, body: Data(), auth: false)
            #expect(try await SimClient(sim).ews(Req.getItem([id])).status == 200)

            // Down for a while: refused, then served again on the same port without a call to /sim/up. The while is
            // long, and the return waited for, next to the stalls of a loaded machine (0.6 s seen).
            _ = try await c.post(path: "/sim/down", port: controlPort, body: Data(#"{"seconds":2}"#.utf8), auth: false)
            await #expect(throws: (any Error).self) { _ = try await SimClient(sim).ews(Req.getItem([id])) }
            #expect(try await Self.servedAgain { try await SimClient(sim).ews(Req.getItem([id])) }.status == 200)
        }
    }

    @Test func downOnTheEWSPortItselfAnswersThenRefuses() async throws {
        try await withSimulator { sim, c in
            let down = try await c.control("POST", "/sim/down", #"{"seconds":2}"#)
            #expect(down.status == 200 && down.text.contains("\"down\":true"))
            // The port closes once the answer is out (a task of its own, which a busy machine may run late).
            #expect(await Self.refusedSoon { try await SimClient(sim).control("GET", "/sim/health") }, "never refused")
            #expect(try await Self.servedAgain { try await SimClient(sim).control("GET", "/sim/health") }.status == 200)
        }
    }

    /// Whether `request` fails (connection refused) within `limit`, retried while it is still answered.
    static func refusedSoon(limit: Duration = .seconds(10), _ request: () async throws -> SimResponse) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            do { _ = try await request() } catch { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The first answer of `request`, retried while the connection is refused: the simulator coming back up by
    /// itself. Fails after `limit` (far longer than any down time here).
    static func servedAgain(
        limit: Duration = .seconds(20), _ request: () async throws -> SimResponse
    ) async throws -> SimResponse {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                return try await request()
            } catch  where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    @Test func unavailableAnswers503WithRetryAfterForTheNextNRequests() async throws {
        try await withSimulator { sim, c in
            let id = try await Self.seededContact(sim, c)
            let set = try await c.control("POST", "/sim/faults", #"{"unavailable":{"count":2,"retryAfterSeconds":7}}"#)
            #expect(set.status == 200)
            for _ in 0..<2 {
                let r = try await c.ews(Req.getItem([id]))
                #expect(r.status == 503)
                #expect(r.headers["retry-after"] == "7")
            }
            let ok = try await c.ews(Req.getItem([id]))
            #expect(ok.status == 200 && Self.responseCodes(ok) == ["NoError"])
            #expect(try await c.control("GET", "/sim/faults").text == "{}", "a used-up fault clears itself")
        }
    }

    @Test func serverBusyAsSOAPFaultEveryNthRequest() async throws {
        try await withSimulator { sim, c in
            let id = try await Self.seededContact(sim, c)
            _ = try await c.control(
                "POST", "/sim/faults", #"{"serverBusy":{"everyNth":3,"backOffMilliseconds":1500,"asFault":true}}"#)
            var busy: [Int] = []
            for n in 1...9 {
                let r = try await c.ews(Req.getItem([id]))
                if r.status == 500 {
                    busy.append(n)
                    #expect(r.headers["content-type"] == "text/xml; charset=utf-8")
                    #expect(
                        r.text.contains(
                            "<faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">a:ErrorServerBusy</faultcode>"
                        ))
                    #expect(Self.responseCodes(r) == ["ErrorServerBusy"])
                    #expect(r.text.contains("<t:Value Name=\"BackOffMilliseconds\">1500</t:Value>"))
                    #expect(r.text.contains("ServerVersionInfo"))
                } else {
                    #expect(r.status == 200 && Self.responseCodes(r) == ["NoError"])
                }
            }
            #expect(busy == [3, 6, 9])
        }
    }

    @Test func serverBusyPerMessageOnlyForTheNamedOperations() async throws {
        try await withSimulator { sim, c in
            let id = try await Self.seededContact(sim, c)
            _ = try await c.control(
                "POST", "/sim/faults",
                #"{"serverBusy":{"everyNth":2,"backOffMilliseconds":250,"asFault":false,"operations":["GetItem"]}}"#)
            let first = try await c.ews(Req.getItem([id, id, id]))
            #expect(Self.responseCodes(first) == ["NoError", "NoError", "NoError"])
            // FindItem is not named: never busy, and it does not count towards GetItem's every-2nd.
            #expect(
                Self.responseCodes(try await c.ews(Req.findItem(Req.folder("contacts", mailbox: Self.alice)))) == [
                    "NoError"
                ])
            let second = try await c.ews(Req.getItem([id, id, id]))
            #expect(second.status == 200)
            #expect(Self.responseCodes(second) == ["ErrorServerBusy", "ErrorServerBusy", "ErrorServerBusy"])
            #expect(Scrape.count(second.text, "<t:Value Name=\"BackOffMilliseconds\">250</t:Value>") == 3)
            #expect(Scrape.count(second.text, "ResponseClass=\"Error\"") == 3)
        }
    }

    @Test func serverBusyAtARate() {
        var state = FaultState()
        state.config.serverBusy = .init(rate: 0.25, backOffMilliseconds: 100)
        var busy = 0
        for i in 0..<100 {
            let d = state.admit(operation: "GetItem", mailbox: "a", random: Double(i) / 100)
            if d == .busyMessages(backOff: 100) { busy += 1 } else { state.finish(mailbox: "a") }
        }
        #expect(busy == 25)
    }

    @Test func exceededConnectionCountAboveNConcurrentRequestsPerMailbox() async throws {
        try await withSimulator({ $0.threads = 4 }) { sim, c in
            let id = try await Self.seededContact(sim, c)
            sim.control.createMailbox("bob@example.com")
            _ = try await c.control(
                "POST", "/sim/faults", #"{"maxConcurrentRequestsPerMailbox":2,"latencyMilliseconds":600}"#)
            let codes = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<5 { group.addTask { Self.responseCodes(try await SimClient(sim).ews(Req.getItem([id]))) } }
                // Another mailbox has its own allowance.
                group.addTask {
                    Self.responseCodes(
                        try await SimClient(sim).ews(Req.findItem(Req.folder("contacts", mailbox: "bob@example.com")))
                    )
                    .map { "bob:" + $0 }
                }
                var all: [String] = []
                for try await c in group { all += c }
                return all
            }
            #expect(codes.filter { $0 == "NoError" }.count == 2, "\(codes)")
            #expect(codes.filter { $0 == "ErrorExceededConnectionCount" }.count == 3, "\(codes)")
            #expect(codes.contains("bob:NoError"))
            // Once the requests finished, the slots are free again.
            #expect(Self.responseCodes(try await c.ews(Req.getItem([id]))) == ["NoError"])
        }
    }

    /// The latency is long next to the scheduling noise of a loaded machine running the suites in parallel (an
    /// undelayed request was seen to take 0.6 s there), so "not delayed" cannot be mistaken for "delayed".
    @Test func latencyDelaysEveryResponse() async throws {
        let latency = Duration.seconds(4)
        try await withSimulator { sim, c in
            let id = try await Self.seededContact(sim, c)
            _ = try await c.control("POST", "/sim/faults", #"{"latencyMilliseconds":4000}"#)
            let t0 = ContinuousClock.now
            let delayed = Task { try await c.ews(Req.getItem([id])) }
            // The latency is cleared while the first request waits out its own: the next one is answered first.
            while sim.control.counters()["GetItem", default: 0] < 1 { try await Task.sleep(for: .milliseconds(10)) }
            _ = try await c.control("DELETE", "/sim/faults")
            #expect(try await c.control("GET", "/sim/faults").text == "{}")
            #expect(try await c.ews(Req.getItem([id])).status == 200)
            let undelayedDone = ContinuousClock.now
            #expect(try await delayed.value.status == 200)
            let delayedDone = ContinuousClock.now
            #expect(delayedDone - t0 >= latency)
            #expect(undelayedDone < delayedDone, "answered without the cleared latency")
        }
    }

    @Test func dropAfterCommitAppliesTheChangeButBreaksTheConnection() async throws {
        try await withSimulator { sim, c in
            sim.control.createMailbox(Self.alice)
            _ = try await c.control("POST", "/sim/faults", #"{"dropAfterCommit":{"operation":"CreateItem","count":1}}"#)
            let create = Req.createItem(
                Req.contact(1, crmId: "crm-dropped"), folder: Req.folder("contacts", mailbox: Self.alice))
            await #expect(throws: (any Error).self, "the client sees a broken connection") {
                _ = try await SimClient(sim).ews(create)
            }
            // ... but the item was created.
            let find = try await c.ews(
                Req.findItem(Req.folder("contacts", mailbox: Self.alice), shape: "IdOnly", additional: Req.crmIdURI))
            #expect(Scrape.count(find.text, "crm-dropped") == 1)
            // Only the next `count` requests are dropped.
            let again = try await c.ews(
                Req.createItem(Req.contact(2), folder: Req.folder("contacts", mailbox: Self.alice)))
            #expect(again.status == 200 && Self.responseCodes(again) == ["NoError"])
            #expect(sim.control.mailboxes().first { $0.address == Self.alice }?.contacts == 2)
        }
    }

    @Test func requestCountersPerOperation() async throws {
        try await withSimulator { sim, c in
            let id = try await Self.seededContact(sim, c)  // one FindItem
            for _ in 0..<3 { _ = try await c.ews(Req.getItem([id])) }
            _ = try await c.ews(Req.sync(Req.folder("contacts", mailbox: Self.alice)))
            let counters = try JSONDecoder().decode(
                [String: Int].self, from: try await c.control("GET", "/sim/counters").body)
            #expect(counters == ["FindItem": 1, "GetItem": 3, "SyncFolderItems": 1])
            _ = try await c.control("DELETE", "/sim/counters")
            _ = try await c.ews(Req.getItem([id]))
            #expect(try await c.control("GET", "/sim/counters").text == #"{"GetItem":1}"#)
        }
    }
}

import Foundation
import HTTP
import Logging
import Synchronization
import Testing
import SyncCore
import TestSupport
@testable import EWS

/// A transport that answers from a script and records what it was sent.
final class ScriptedTransport: EWSTransport {
    enum Step: Sendable {
        case respond(HTTPResponse)
        case fail(HTTPError)
    }
    private let state: Mutex<(steps: [Step], requests: [HTTPRequest])>

    init(_ steps: [Step]) { state = Mutex((steps, [])) }

    var requests: [HTTPRequest] { state.withLock { $0.requests } }
    var operations: [String] {
        requests.map { $0.headers["SOAPAction"]?.split(separator: "/").last.map { String($0.dropLast()) } ?? "" }
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let step: Step = state.withLock { state in
            state.requests.append(request)
            return state.steps.isEmpty
                ? .fail(HTTPError(code: .couldNotConnect, message: "script exhausted")) : state.steps.removeFirst()
        }
        switch step {
        case .respond(let response): return response
        case .fail(let error): throw error
        }
    }

    static func xml(_ body: [UInt8], status: Int = 200) -> Step {
        .respond(HTTPResponse(status: status, headers: ["Content-Type": "text/xml; charset=utf-8"], body: body))
    }
}

/// Records waits instead of sleeping.
final class RecordingSleeper: EWSSleeper {
    private let waits = Mutex<[Duration]>([])
    var recorded: [Duration] { waits.withLock { $0 } }
    func sleep(for duration: Duration) async throws { waits.withLock { $0.append(duration) } }
}

/// Builds response envelopes for scripted answers.
enum Responses {
    static func envelope(_ operation: String, _ messages: [String]) -> [UInt8] {
        Array(
            ("""
            <?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>\
            <m:\(operation)Response xmlns:m="\(EWSNamespace.messages)" xmlns:t="\(EWSNamespace.types)"><m:ResponseMessages>
            """ + messages.map { "<m:\(operation)ResponseMessage \($0)</m:\(operation)ResponseMessage>" }.joined()
                + "</m:ResponseMessages></m:\(operation)Response></s:Body></s:Envelope>").utf8)
    }

    static func created(_ id: String, kind: String = "Task") -> String {
        #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:\#(kind)><t:ItemId Id="\#(id)" ChangeKey="ck"/></t:\#(kind)></m:Items>"#
    }

    static func error(_ code: String) -> String {
        #"ResponseClass="Error"><m:MessageText>failed</m:MessageText><m:ResponseCode>\#(code)</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"#
    }

    static func found(_ pairs: [(String, UUID)]) -> [UInt8] {
        let items = pairs.map { id, crm in
            #"<t:Task><t:ItemId Id="\#(id)" ChangeKey="ck"/><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="\#(ExtendedPropertyName.snapsyncCRMId.propertySetId)" PropertyName="SnapsyncCrmId" PropertyType="String"/><t:Value>\#(crm.uuidString.lowercased())</t:Value></t:ExtendedProperty></t:Task>"#
        }.joined()
        return envelope(
            "FindItem",
            [
                #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="\#(pairs.count)" TotalItemsInView="\#(pairs.count)" IncludesLastItemInRange="true"><t:Items>\#(items)</t:Items></m:RootFolder>"#
            ])
    }
}

@Suite struct EWSClientTests {
    func client(
        _ transport: ScriptedTransport, sleeper: RecordingSleeper = RecordingSleeper(), batchSize: Int = 100
    ) -> EWSClient {
        var configuration = EWSClient.Configuration(endpoint: "http://127.0.0.1:1/EWS/Exchange.asmx")
        configuration.batchSize = batchSize
        return EWSClient(
            configuration: configuration, transport: transport, logger: Logger(label: "test"), sleeper: sleeper,
            random: { 0.5 })
    }

    @Test func serverBusyMessageWaitsBackOffThenSucceeds() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(try Fixtures.sample("08_SyncFolderItems_ErrorServerBusy_BackOff_response.xml")),
            ScriptedTransport.xml(try Fixtures.sample("06_SyncFolderItems_changes_response.xml")),
        ])
        let sleeper = RecordingSleeper()
        let page = try await client(transport, sleeper: sleeper).syncFolderItems(
            .distinguished(.calendar), mailbox: "anna@example.com", syncState: nil)
        #expect(sleeper.recorded == [.milliseconds(5000)])
        #expect(page.syncState == "H4sIAAAAAAAEAO29B2AcSZY==" && page.changes.count == 5)
        #expect(transport.requests.allSatisfy { $0.headers["X-AnchorMailbox"] == "anna@example.com" })
    }

    @Test func serverBusyFaultBeyondTheLimitFailsWithTheBackOff() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(try Fixtures.sample("09_Fault_ErrorServerBusy_BackOffMilliseconds.xml"), status: 500)
        ])
        let sleeper = RecordingSleeper()
        do {
            _ = try await client(transport, sleeper: sleeper).getFolder(.contacts, mailbox: "anna@example.com")
            Issue.record("expected ErrorServerBusy")
        } catch {
            #expect(error.code == .serverBusy(backOff: .milliseconds(297_749)))  // longer than maxServerBackOff (120 s)
            #expect(error.operation == "GetFolder" && error.mailbox == "anna@example.com")
        }
        #expect(sleeper.recorded.isEmpty)
    }

    @Test func unavailableWaitsRetryAfterAndConnectionErrorsBackOff() async throws {
        let ok = Responses.envelope(
            "GetFolder",
            [
                #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:ContactsFolder><t:FolderId Id="F1" ChangeKey="c"/><t:DisplayName>Contacts</t:DisplayName><t:TotalCount>7</t:TotalCount></t:ContactsFolder></m:Folders>"#
            ])
        let transport = ScriptedTransport([
            .respond(HTTPResponse(status: 503, headers: ["Retry-After": "3"])),
            .fail(HTTPError(code: .couldNotConnect)),
            .respond(HTTPResponse(status: 502)),
            ScriptedTransport.xml(ok),
        ])
        let sleeper = RecordingSleeper()
        let folder = try await client(transport, sleeper: sleeper).getFolder(.contacts, mailbox: "anna@example.com")
        #expect(folder == EWSFolder(folderId: FolderId("F1", changeKey: "c"), displayName: "Contacts", totalCount: 7))
        // Retry-After 3 s; then exponential 500 ms·2^(n-1) with jitter factor 0.75.
        #expect(sleeper.recorded == [.seconds(3), .milliseconds(750), .milliseconds(1500)])
    }

    @Test func unusableResponsesAreClearErrors() async throws {
        let good = Responses.envelope("GetFolder", [Responses.error("ErrorFolderNotFound")])
        let cases: [(ScriptedTransport.Step, (EWSError.Code) -> Bool)] = [
            (
                .respond(
                    HTTPResponse(status: 200, headers: ["Content-Type": "text/html"], body: Array("<html/>".utf8))),
                { if case .decoding(let what) = $0 { what.contains("content type text/html") } else { false } }
            ),
            (
                ScriptedTransport.xml(Array(good.prefix(good.count / 2))),
                { if case .decoding(let what) = $0 { what.contains("truncated") } else { false } }
            ),
            (
                ScriptedTransport.xml(
                    Array("<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\u{FF}".utf8).map { $0 == 0xC3 ? 0xFF : $0 }
                        + Array("</a>".utf8)),
                { if case .decoding(let what) = $0 { what.contains("invalid UTF-8") } else { false } }
            ),
            (.respond(HTTPResponse(status: 401)), { $0 == .unauthorized(status: 401) }),
            (.fail(HTTPError(code: .responseTooLarge)), { $0 == .responseTooLarge(limit: 64 << 20) }),
        ]
        for (step, matches) in cases {
            do {
                _ = try await client(ScriptedTransport([step])).getFolder(.contacts, mailbox: "anna@example.com")
                Issue.record("expected an error")
            } catch {
                #expect(matches(error.code), "\(error)")
                #expect(error.description.hasPrefix("EWS GetFolder for anna@example.com failed"))
            }
        }
    }

    @Test func oneFailedItemNeverFailsItsBatch() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(
                Responses.envelope(
                    "DeleteItem",
                    [
                        #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>"#,
                        Responses.error("ErrorItemNotFound"),
                        #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>"#,
                    ]))
        ])
        let results = try await client(transport).deleteItems(
            [ItemId("a"), ItemId("b"), ItemId("c")], mailbox: "anna@example.com")
        #expect(results.count == 3)
        #expect((try? results[0].get()) != nil && (try? results[2].get()) != nil)
        guard case .failure(let error) = results[1] else { Issue.record("expected a failure"); return }
        #expect(error.code == .responseCode("ErrorItemNotFound") && error.itemID == "b")
        #expect(EWSMailboxSource.neutral(error).kind == .notFound)
    }

    @Test func lostCreateResponseIsRecoveredWithoutDuplicates() async throws {
        var second = Fixtures.task
        second.id = UUID()
        second.subject = "Second"
        // The first CreateItem is applied by the server but its response is lost; the lookup finds
        // the first task only, so only the second is created again.
        let transport = ScriptedTransport([
            .fail(HTTPError(code: .connectionLost)),
            ScriptedTransport.xml(Responses.found([("T1", Fixtures.task.id)])),
            ScriptedTransport.xml(Responses.envelope("CreateItem", [Responses.created("T2")])),
        ])
        let results = try await client(transport).createItems(
            [Fixtures.task, second], mapping: EWSMappings.task, mailbox: "anna@example.com")
        #expect(try results.map { try $0.get().id } == ["T1", "T2"])
        #expect(transport.operations == ["CreateItem", "FindItem", "CreateItem"])
        let retried = String(decoding: transport.requests[2].body, as: UTF8.self)
        #expect(retried.contains("Second") && !retried.contains(Fixtures.task.subject))
    }

    @Test func batchesRespectTheBatchSize() async throws {
        let records = (0..<5).map { i -> CRMTask in
            var t = Fixtures.task; t.id = UUID(); t.subject = "T\(i)"; return t
        }
        let transport = ScriptedTransport([
            ScriptedTransport.xml(Responses.envelope("CreateItem", [Responses.created("1"), Responses.created("2")])),
            ScriptedTransport.xml(
                Responses.envelope("CreateItem", [Responses.created("3"), Responses.error("ErrorQuotaExceeded")])),
            ScriptedTransport.xml(Responses.envelope("CreateItem", [Responses.created("5")])),
        ])
        let results = try await client(transport, batchSize: 2).createItems(
            records, mapping: EWSMappings.task, mailbox: "anna@example.com")
        #expect(results.map { (try? $0.get())?.id } == ["1", "2", "3", nil, "5"])
        #expect(transport.requests.count == 3)
    }

    @Test func invalidSyncStateIsItsOwnError() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(try Fixtures.sample("07_SyncFolderItems_ErrorInvalidSyncStateData_response.xml"))
        ])
        await #expect {
            try await client(transport).syncFolderItems(
                .distinguished(.tasks), mailbox: "anna@example.com", syncState: "old")
        } throws: {
            ($0 as? EWSError)?.code == .invalidSyncState
                && EWSMailboxSource.neutral($0 as! EWSError).kind == .invalidSyncState
        }
    }
}

@Suite struct EWSRetryPolicyTests {
    let policy = RetryPolicy(
        maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .seconds(1), maxServerBackOff: .seconds(10))
    func error(_ code: EWSError.Code) -> EWSError { EWSError(code: code, operation: "GetItem", message: "") }

    @Test func serverBackOffsAreHonouredExactly() {
        #expect(
            policy.decide(error(.serverBusy(backOff: .milliseconds(200))), attempt: 1, isIdempotent: true, random: 0)
                == .retry(after: .milliseconds(200), reason: "ErrorServerBusy"))
        #expect(
            policy.decide(
                error(.http(status: 429, retryAfter: .seconds(2))), attempt: 1, isIdempotent: true, random: 0.9)
                == .retry(after: .seconds(2), reason: "HTTP 429 Retry-After"))
        #expect(
            policy.decide(error(.serverBusy(backOff: .seconds(11))), attempt: 1, isIdempotent: true, random: 0) == .fail
        )
    }

    @Test func exponentialWithJitterAndCap() {
        let lost = error(.transport("couldNotConnect", ambiguous: false))
        #expect(
            policy.decide(lost, attempt: 1, isIdempotent: true, random: 0)
                == .retry(after: .milliseconds(50), reason: "transport couldNotConnect"))
        #expect(
            policy.decide(lost, attempt: 3, isIdempotent: true, random: 1)
                == .retry(after: .milliseconds(400), reason: "transport couldNotConnect"))
        #expect(
            policy.decide(error(.http(status: 503, retryAfter: nil)), attempt: 3, isIdempotent: true, random: 0.5)
                == .retry(after: .milliseconds(300), reason: "HTTP 503"))
        let capped = RetryPolicy(maxAttempts: 30, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(
            capped.decide(lost, attempt: 20, isIdempotent: true, random: 1)
                == .retry(after: .seconds(1), reason: "transport couldNotConnect"))
        #expect(policy.decide(lost, attempt: 4, isIdempotent: true, random: 0) == .fail)
    }

    @Test func nonRetryableFailuresFailAtOnce() {
        for code: EWSError.Code in [
            .responseCode("ErrorItemNotFound"), .invalidSyncState, .unauthorized(status: 401),
            .http(status: 400, retryAfter: nil),
            .decoding("x"), .soapFault("ErrorSchemaValidation"),
        ] {
            #expect(policy.decide(error(code), attempt: 1, isIdempotent: true, random: 0) == .fail)
        }
        #expect(
            policy.decide(
                error(.transport("connectionLost", ambiguous: true)), attempt: 1, isIdempotent: false, random: 0)
                == .fail)
        #expect(
            policy.decide(
                error(.transport("connectionLost", ambiguous: true)), attempt: 1, isIdempotent: true, random: 0)
                != .fail)
    }
}

@Suite struct EWSConcurrencyLimiterTests {
    @Test func capsPerMailboxAndOverall() async {
        let limiter = EWSConcurrencyLimiter(maxPerMailbox: 2, maxTotal: 3)
        final class Peak: Sendable { let value = Mutex<(total: Int, perMailbox: [String: Int])>((0, [:])) }
        let peak = Peak()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                let mailbox = i % 4 == 0 ? "b@example.com" : "a@example.com"
                group.addTask {
                    await limiter.withSlot(mailbox) {
                        let now = await limiter.inFlight
                        peak.value.withLock { p in
                            p.total = max(p.total, now.total)
                            for (k, v) in now.perMailbox { p.perMailbox[k] = max(p.perMailbox[k, default: 0], v) }
                        }
                        try? await Task.sleep(for: .milliseconds(2))
                    }
                }
            }
        }
        let observed = peak.value.withLock { $0 }
        #expect(observed.total <= 3 && observed.perMailbox.values.allSatisfy { $0 <= 2 })
        #expect(observed.perMailbox["b@example.com"] ?? 0 >= 1)
        #expect(await limiter.inFlight.total == 0)
    }
}

@Suite struct EWSCredentialsTests {
    @Test func readsPasswordFileAndAuthKind() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try Data("s3cret\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(
            try EWSCredentials.authentication(from: [
                "SNAPSYNC_EWS_USER": "svc", "SNAPSYNC_EWS_PASSWORD_FILE": file.path,
            ]) == .basic(username: "svc", password: "s3cret"))
        #expect(
            try EWSCredentials.authentication(from: [
                "SNAPSYNC_EWS_USER": "D\\svc", "SNAPSYNC_EWS_PASSWORD": "p", "SNAPSYNC_EWS_AUTH": "NTLM",
            ]) == .ntlm(username: "D\\svc", password: "p"))
        #expect(try EWSCredentials.authentication(from: ["SNAPSYNC_EWS_TOKEN": "tok"]) == .bearer(token: "tok"))
        #expect(try EWSCredentials.authentication(from: [:]) == HTTPAuthentication.none)
    }

    @Test func errorsNeverContainTheSecret() {
        do {
            _ = try EWSCredentials.authentication(from: [
                "SNAPSYNC_EWS_USER": "svc", "SNAPSYNC_EWS_PASSWORD": "hunter2", "SNAPSYNC_EWS_AUTH": "kerberos",
            ])
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
        #expect(throws: EWSError.self) {
            try EWSCredentials.authentication(from: [
                "SNAPSYNC_EWS_USER": "svc", "SNAPSYNC_EWS_PASSWORD_FILE": "/nonexistent/pw",
            ])
        }
    }
}

/// Waits, access modes and limits as a user sees them: in the log, in the request headers, in errors.
@Suite struct EWSClientWaitsAndAccessTests {
    static let mailbox = "anna@example.com"
    static let folderOK = Responses.envelope(
        "GetFolder",
        [
            #"ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:ContactsFolder><t:FolderId Id="F1" ChangeKey="c"/><t:DisplayName>Contacts</t:DisplayName><t:TotalCount>7</t:TotalCount></t:ContactsFolder></m:Folders>"#
        ])
    static let folderBusy = Responses.envelope(
        "GetFolder",
        [
            #"ResponseClass="Error"><m:MessageText>The server cannot service this request right now. Try again later.</m:MessageText><m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:MessageXml><t:Value Name="BackOffMilliseconds">200</t:Value></m:MessageXml>"#
        ])

    func client(
        _ transport: any EWSTransport, logs: CapturedLogs = CapturedLogs(),
        sleeper: any EWSSleeper = RecordingSleeper(),
        _ configure: (inout EWSClient.Configuration) -> Void = { _ in }
    ) -> EWSClient {
        var configuration = EWSClient.Configuration(endpoint: "http://127.0.0.1:1/EWS/Exchange.asmx")
        configure(&configuration)
        return EWSClient(
            configuration: configuration, transport: transport, logger: logs.logger(), sleeper: sleeper, random: { 0.5 }
        )
    }

    @Test func everyRetryWaitIsLoggedWithItsReason() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(Self.folderBusy),
            .respond(HTTPResponse(status: 429, headers: ["Retry-After": "2"])),
            .fail(HTTPError(code: .couldNotConnect)),
            .respond(HTTPResponse(status: 502)),
            ScriptedTransport.xml(Self.folderOK),
        ])
        let logs = CapturedLogs()
        let sleeper = RecordingSleeper()
        _ = try await client(transport, logs: logs, sleeper: sleeper).getFolder(.contacts, mailbox: Self.mailbox)
        let waits = logs.entries.filter { $0.message == "EWS request waits before retrying" }
        #expect(
            waits.map { $0.metadata["ews.reason"] } == [
                "ErrorServerBusy", "HTTP 429 Retry-After", "transport couldNotConnect", "HTTP 502",
            ])
        #expect(waits.map { $0.metadata["ews.wait_ms"] } == ["200", "2000", "1500", "3000"])
        #expect(sleeper.recorded == [.milliseconds(200), .seconds(2), .milliseconds(1500), .seconds(3)])
        #expect(
            waits.allSatisfy {
                $0.level == .info && $0.metadata["ews.mailbox"] == Self.mailbox
                    && $0.metadata["ews.operation"] == "GetFolder"
            })
    }

    /// Answers after a pause, so that concurrent requests overlap.
    struct SlowTransport: EWSTransport {
        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            try await Task.sleep(for: .milliseconds(50))
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "text/xml; charset=utf-8"],
                body: EWSClientWaitsAndAccessTests.folderOK)
        }
    }

    @Test(arguments: [false, true]) func slotWaitsAreLoggedWithTheCap(sameMailbox: Bool) async throws {
        let logs = CapturedLogs()
        let client = client(SlowTransport(), logs: logs) { configuration in
            configuration.maxConcurrentRequestsPerMailbox = 1
            configuration.maxConcurrentRequests = sameMailbox ? 10 : 1
        }
        async let first = client.getFolder(.contacts, mailbox: Self.mailbox)
        async let second = client.getFolder(.contacts, mailbox: sameMailbox ? Self.mailbox : "ben@example.com")
        _ = try await (first, second)
        let waits = logs.entries.filter { $0.message == "EWS request waited for a connection slot" }
        #expect(waits.count == 1)
        #expect(
            waits.first?.metadata["ews.reason"]
                == (sameMailbox ? "per-mailbox concurrency cap" : "global concurrency cap"))
        #expect(waits.first?.level == .info && waits.first?.metadata["ews.wait_ms"] != nil)
    }

    @Test(arguments: [MailboxAccess.impersonation, .delegate]) func accessModesAddressTheMailbox(
        access: MailboxAccess
    ) async throws {
        let transport = ScriptedTransport([ScriptedTransport.xml(Self.folderOK)])
        _ = try await client(transport) { $0.access = access }.getFolder(.contacts, mailbox: Self.mailbox)
        let request = try #require(transport.requests.first)
        #expect(request.headers["X-AnchorMailbox"] == Self.mailbox)
        #expect(
            request.headers["SOAPAction"]
                == "\"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder\"")
        #expect(request.headers["Content-Type"] == "text/xml; charset=utf-8")
        let body = String(decoding: request.body, as: UTF8.self)
        let impersonation =
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>\(Self.mailbox)</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
        let delegateFolder =
            #"<t:DistinguishedFolderId Id="contacts"><t:Mailbox><t:EmailAddress>\#(Self.mailbox)</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"#
        #expect(body.contains(impersonation) == (access == .impersonation))
        #expect(body.contains(delegateFolder) == (access == .delegate))
        #expect(body.contains(#"<t:DistinguishedFolderId Id="contacts"/>"#) == (access == .impersonation))
    }

    @Test func aResponseOverTheLimitNamesOperationAndMailbox() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(try Fixtures.sample("06_SyncFolderItems_changes_response.xml"))
        ])
        do {
            _ = try await client(transport) { $0.maxResponseBytes = 4096 }
                .syncFolderItems(.distinguished(.calendar), mailbox: Self.mailbox, syncState: nil)
            Issue.record("expected responseTooLarge")
        } catch {
            #expect(error.code == .responseTooLarge(limit: 4096))
            #expect(
                error.description == "EWS SyncFolderItems for anna@example.com failed: response larger than 4096 bytes")
            #expect(EWSMailboxSource.neutral(error).kind == .permanent)
        }
        #expect(transport.requests.count == 1)  // not retried: the same request gets the same answer
    }

    static let invalidSyncStateFault = Array(
        """
        <?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>\
        <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInvalidSyncStateData</faultcode>\
        <faultstring xml:lang="en-US">Synchronization state data is corrupt or otherwise invalid.</faultstring><detail>\
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorInvalidSyncStateData</e:ResponseCode>\
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">Synchronization state data is corrupt or otherwise invalid.</e:Message>\
        </detail></s:Fault></s:Body></s:Envelope>
        """.utf8)

    @Test(arguments: [false, true]) func invalidSyncStateReachesThePipelineAsItsOwnKind(asFault: Bool) async throws {
        let answer =
            asFault
            ? ScriptedTransport.xml(Self.invalidSyncStateFault, status: 500)
            : ScriptedTransport.xml(try Fixtures.sample("07_SyncFolderItems_ErrorInvalidSyncStateData_response.xml"))
        let transport = ScriptedTransport([answer])
        let source = EWSMailboxSource(client: client(transport))
        let owner = MailboxOwner(smtpAddress: Self.mailbox, userID: Fixtures.owner)
        do {
            _ = try await source.changes(
                in: owner, kind: .appointments, since: "H4sIAAAA", window: .rolling(around: Date()), maxChanges: 512)
            Issue.record("expected invalidSyncState")
        } catch {
            #expect(error.kind == .invalidSyncState)
            #expect(error.code == "ErrorInvalidSyncStateData")
            #expect(
                error.message.hasPrefix("EWS SyncFolderItems for anna@example.com failed: ErrorInvalidSyncStateData"))
        }
        #expect(transport.requests.count == 1)  // never retried: only a snapshot helps
    }
}

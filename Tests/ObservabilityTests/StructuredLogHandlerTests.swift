import Foundation
import Logging
import Observability
import Testing

@Suite struct StructuredLogHandlerTests {
    /// 2026-11-25T12:11:53.123Z.
    static let fixedDate = Date(timeIntervalSince1970: 1_795_608_713.123)

    private func logger(_ format: LogFormat, sink: CollectingSink, level: Logger.Level = .trace) -> Logger {
        Logger(label: "snapsync.pipeline") { label in
            StructuredLogHandler(
                label: label, format: format, level: level, sink: sink,
                clock: { StructuredLogHandlerTests.fixedDate })
        }
    }

    private func objects(_ lines: [String]) throws -> [[String: Any]] {
        try lines.map { line in
            #expect(!line.contains("\n"))
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try #require(object as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test func jsonLinesCarryTimestampLevelLabelMessageAndContextInEveryLine() throws {
        let sink = CollectingSink()
        var log = logger(.json, sink: sink)
        log[metadataKey: "run.id"] = "42"
        log[metadataKey: "stage.name"] = "appointments"
        log[metadataKey: "mailbox"] = "anna@example.com"
        log.trace("paging")
        log.debug("batch committed", metadata: ["batch.items": "500"])
        log.info("stage finished", metadata: ["stage.items": .stringConvertible(25_000)])
        log.notice("window ends soon")
        log.warning("item quarantined", metadata: ["item.id": "AAMk=", "mailbox": "bob@example.com"])
        log.error("line one\nline \"two\"\t\u{1}")
        log.critical("giving up", metadata: ["error.codes": ["a", "b"], "detail": ["nested": "x"]])

        let lines = try objects(sink.lines)
        #expect(lines.count == 7)
        for line in lines {
            for key in ["timestamp", "level", "label", "message", "source", "run.id", "stage.name", "mailbox"] {
                #expect(line[key] != nil, "missing \(key)")
            }
            #expect(line["timestamp"] as? String == "2026-11-25T12:11:53.123Z")
            #expect(line["label"] as? String == "snapsync.pipeline")
            #expect(line["run.id"] as? String == "42")
            #expect(line["stage.name"] as? String == "appointments")
        }
        #expect(
            lines.map { $0["level"] as? String } == [
                "trace", "debug", "info", "notice", "warning", "error", "critical",
            ])
        #expect(lines[1]["batch.items"] as? String == "500")
        #expect(lines[2]["stage.items"] as? Int == 25_000)
        #expect(lines[0]["mailbox"] as? String == "anna@example.com")
        #expect(lines[4]["mailbox"] as? String == "bob@example.com")  // the event's metadata wins
        #expect(lines[5]["message"] as? String == "line one\nline \"two\"\t\u{1}")
        #expect(lines[6]["error.codes"] as? [String] == ["a", "b"])
        #expect((lines[6]["detail"] as? [String: Any])?["nested"] as? String == "x")
    }

    @Test func secretsAreRedactedInBothFormats() throws {
        for format in [LogFormat.json, .text] {
            let sink = CollectingSink()
            var log = logger(format, sink: sink)
            log[metadataKey: "ews.password"] = "hunter2-handler"
            log.info(
                "connecting to postgresql://crm:hunter2-url@db.example.com:5432/crm",
                metadata: [
                    "http.authorization": "Basic aHVudGVyMg==",
                    "oauth.accessToken": "eyJ-token-value",
                    "client_secret": .stringConvertible(1234567),
                    "settings": ["database.password": "hunter2-nested", "user": "crm"],
                    "conninfo": "host=db user=crm password='hunter2 quoted' dbname=crm",
                    "database.url": "postgresql://crm:hunter2-meta@db/crm?sslmode=require",
                    "ews.user": "svc-sync",
                ])
            let output = sink.lines.joined(separator: "\n")
            for secret in ["hunter2", "aHVudGVyMg", "eyJ-token", "1234567"] {
                #expect(!output.contains(secret), "\(format) output leaks \(secret): \(output)")
            }
            #expect(output.contains("svc-sync"))
            #expect(output.contains("db.example.com"))
            #expect(output.contains(LogRedaction.marker))
            if format == .json {
                let line = try #require(try objects(sink.lines).first)
                #expect(line["ews.password"] as? String == LogRedaction.marker)
                #expect(line["http.authorization"] as? String == LogRedaction.marker)
                #expect(line["oauth.accessToken"] as? String == LogRedaction.marker)
                #expect(line["client_secret"] as? String == LogRedaction.marker)
                #expect((line["settings"] as? [String: Any])?["database.password"] as? String == LogRedaction.marker)
                #expect(line["database.url"] as? String == "postgresql://crm:[REDACTED]@db/crm?sslmode=require")
                #expect(line["conninfo"] as? String == "host=db user=crm password=[REDACTED] dbname=crm")
                #expect(
                    line["message"] as? String
                        == "connecting to postgresql://crm:[REDACTED]@db.example.com:5432/crm")
            }
        }
    }

    @Test func textLinePutsRunStageAndMailboxFirstAndQuotesWhereNeeded() {
        let sink = CollectingSink()
        var log = logger(.text, sink: sink)
        log[metadataKey: "mailbox"] = "anna@example.com"
        log[metadataKey: "stage.name"] = "tasks"
        log[metadataKey: "run.id"] = "7"
        log.warning("item quarantined\nsecond line", metadata: ["item.subject": "Board meeting", "a": "1"])
        #expect(
            sink.lines == [
                "2026-11-25T12:11:53.123Z warning snapsync.pipeline: item quarantined\\nsecond line"
                    + " run.id=7 stage.name=tasks mailbox=anna@example.com a=1 item.subject=\"Board meeting\""
            ])
    }

    @Test func reservedKeysDoNotOverwriteTheLineFields() throws {
        let sink = CollectingSink()
        let log = logger(.json, sink: sink)
        log.info("real", metadata: ["message": "fake", "level": "fake"])
        let line = try #require(try objects(sink.lines).first)
        #expect(line["message"] as? String == "real")
        #expect(line["level"] as? String == "info")
        #expect(line["metadata.message"] as? String == "fake")
    }

    @Test func levelFilterAndMetadataProvider() throws {
        let sink = CollectingSink()
        let provider = Logger.MetadataProvider { ["run.id": "from-provider"] }
        let log = Logger(label: "snapsync") { label in
            StructuredLogHandler(label: label, format: .json, level: .info, sink: sink, metadataProvider: provider)
        }
        log.debug("hidden")
        log.info("shown")
        let lines = try objects(sink.lines)
        #expect(lines.count == 1)
        #expect(lines[0]["run.id"] as? String == "from-provider")
    }

    @Test func autoFormatIsTextOnATerminalAndJSONOtherwise() {
        #expect(LogFormat.auto.resolved(isTerminal: true) == .text)
        #expect(LogFormat.auto.resolved(isTerminal: false) == .json)
        #expect(LogFormat.json.resolved(isTerminal: true) == .json)
        #expect(LogFormat.text.resolved(isTerminal: false) == .text)
        #expect(LogFormat(rawValue: "yaml") == nil)
    }

    @Test func concurrentLoggingWritesWholeLines() async throws {
        let pipe = Pipe()
        let sink = FileDescriptorLogSink(descriptor: pipe.fileHandleForWriting.fileDescriptor)
        let log = Logger(label: "snapsync") { StructuredLogHandler(label: $0, format: .json, sink: sink) }
        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        let padding = String(repeating: "x", count: 10_000)  // longer than PIPE_BUF
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<50 {
                        log.info("line", metadata: ["task": "\(task)", "i": "\(index)", "pad": "\(padding)"])
                    }
                }
            }
        }
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: await reader.value, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 400)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        }
    }
}

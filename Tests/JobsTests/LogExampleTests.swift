import Foundation
import TestSupport
import Testing

/// The log-line examples in docs/operations.md are lines the real binary writes: the same label, level, message
/// and source, and the same metadata keys in the same order, in both formats.
@Suite struct LogExampleTests {
    static let operationsPage = JobScriptRunner.repositoryRoot.appendingPathComponent("docs/operations.md")

    /// The first line of `text` that contains `needle`.
    private func line(containing needle: String, in text: String) throws -> String {
        try #require(
            text.split(separator: "\n").first { $0.contains(needle) }.map(String.init),
            "no line with \(needle)")
    }

    /// The keys of a JSON Lines object in the order written (every value snapsync writes is a string or number).
    private func jsonKeys(_ line: String) -> [String] {
        line.matches(of: /"([^"]+)":/).map { String($0.output.1) }
    }

    /// `timestamp level label: message` and the metadata keys of a text line, in order.
    private func textShape(_ line: String, message: String) throws -> (head: String, keys: [String]) {
        let parts = line.split(separator: " ", maxSplits: 1)
        let rest = try #require(parts.last.map(String.init))
        let end = try #require(rest.range(of: message)).upperBound
        return (String(rest[..<end]), rest[end...].matches(of: /(?:^| )([A-Za-z0-9_.]+)=/).map { String($0.output.1) })
    }

    @Test func theDocumentedStageDoneLinesAreWhatSnapsyncWrites() async throws {
        let page = try String(contentsOf: Self.operationsPage, encoding: .utf8)
        let message = "stage done"
        let documentedJSON = try line(containing: #""message":"\#(message)""#, in: page)
        let documentedText = try line(containing: " info snapsync: \(message) ", in: page)

        var written: [String: String] = [:]
        for format in ["json", "text"] {
            let run = try await ChildProcess.run(
                try CLIObservabilityTests.snapsyncBinary(),
                [
                    "demo", "--mailboxes", "1", "--items", "2", "--contacts", "2", "--log-format", format,
                ])
            #expect(run.status == 0, "\(run.stderr)")
            written[format] = try line(
                containing: format == "json" ? #""message":"\#(message)""# : " \(message) ",
                in: run.stderr)
        }

        let realJSON = try #require(written["json"])
        #expect(jsonKeys(realJSON) == jsonKeys(documentedJSON), "\(realJSON)")
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(realJSON.utf8)) as? [String: Any])
        let documentedFields = try #require(
            try JSONSerialization.jsonObject(with: Data(documentedJSON.utf8)) as? [String: Any])
        for key in ["level", "label", "message", "source"] {
            #expect(fields[key] as? String == documentedFields[key] as? String, "\(key)")
        }

        let real = try textShape(try #require(written["text"]), message: message)
        let documented = try textShape(documentedText, message: message)
        #expect(real.head == documented.head)
        #expect(real.keys == documented.keys, "\(written["text"] ?? "")")
    }
}

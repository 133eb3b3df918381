import ArgumentParser
import ChildProcesses
import EWS
import Foundation
import SyncCore

#if canImport(Glibc)
    import Glibc
#endif

/// `snapsync-bench ews-decode`: decodes an in-memory GetItem page of contacts with the EWS decoder
/// (no network) and prints contacts/s and MB/s next to `xmllint --stream` on the same bytes, measured in
/// the same run, and the peak RSS.
struct EWSDecodeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ews-decode",
        abstract: "Decode GetItem pages of contacts (in memory) and compare with xmllint --stream on the same bytes.")

    @Option(help: "Contacts in the page (Exchange pages hold at most 1000).")
    var contacts = 1000

    @Option(help: "Decodes of the page per round.")
    var iterations = 40

    @Option(help: "Rounds; the median round is reported (decoder and baseline alternate, so noise hits both).")
    var rounds = 5

    @Option(help: "Seed of the generated page.")
    var seed: UInt64 = 2024

    @Option(help: "The xmllint executable of the baseline.")
    var xmllint = "/usr/bin/xmllint"

    @Option(help: "Also write the page to this file (e.g. to check it with ews-schema/validate).")
    var writePage: String?

    func validate() throws {
        guard contacts > 0, iterations > 0, rounds > 0 else {
            throw ValidationError("contacts, iterations and rounds must be positive")
        }
    }

    func run() throws {
        let page = ContactPage(contacts: contacts, seed: seed)
        let megabytes = Double(page.bytes.count) / 1_000_000
        if let writePage { try Data(page.bytes).write(to: URL(fileURLWithPath: writePage)) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-bench-getitem-\(getpid()).xml")
        try Data(page.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        print(
            "ews-decode: GetItem page of \(contacts) contacts, \(String(format: "%.2f", megabytes)) MB "
                + "(\(page.bytes.count / contacts) bytes a contact); \(rounds) rounds of \(iterations) decodes")
        try check(try EWSResponseDecoder.decode(page.bytes), page)  // warm-up, and the decoder must be right

        var decode: [Double] = [], decodeAndMap: [Double] = [], baseline: [Double] = []
        for _ in 0..<rounds {
            decode.append(try measure { _ = try decodePage(page) })
            decodeAndMap.append(
                try measure {
                    var mapped = 0
                    for message in try decodePage(page).messages {
                        if case .contact(let contact)? = message.items.first {
                            mapped += EWSMappings.contact.record(of: contact).displayName.isEmpty ? 0 : 1
                        }
                    }
                    guard mapped == contacts else { throw BenchmarkFailure("mapped \(mapped) of \(contacts) contacts") }
                })
            baseline.append(try xmllintSeconds(file))
        }

        func row(_ name: String, _ seconds: [Double]) {
            let perPage = seconds.sorted()[seconds.count / 2] / Double(iterations)
            let label = name.padding(toLength: 40, withPad: " ", startingAt: 0)
            print(
                "  \(label)"
                    + String(
                        format: "%9.0f contacts/s %8.1f MB/s  (%.2f ms a page)",
                        Double(contacts) / perPage, megabytes / perPage, perPage * 1000))
        }
        row("EWS decoder (EWSResponseDecoder, SAX2)", decode)
        row("EWS decoder + mapping to CRMContact", decodeAndMap)
        row("xmllint --stream --noout (same bytes)", baseline)
        let decodeMedian = decode.sorted()[decode.count / 2], baselineMedian = baseline.sorted()[baseline.count / 2]
        print(
            String(
                format: "  EWS decoder at %.2fx xmllint --stream; target ~120000 contacts/s (performance-notes.md)",
                baselineMedian / decodeMedian))
        // Only this process: a child's ru_maxrss on Linux includes the parent's pages at spawn time.
        print(String(format: "  peak RSS of the benchmark process: %.1f MB", Benchmark.peakRSS()))
    }

    /// Decodes the page once and checks that it held every contact.
    func decodePage(_ page: ContactPage) throws -> EWSResponse {
        let response = try EWSResponseDecoder.decode(page.bytes)
        guard response.messages.count == page.contacts else {
            throw BenchmarkFailure("decoded \(response.messages.count) of \(page.contacts) response messages")
        }
        return response
    }

    /// Checks every decoded contact against what the page was built with.
    func check(_ response: EWSResponse, _ page: ContactPage) throws {
        let decoded = response.messages.compactMap { message -> EWSContact? in
            if case .contact(let contact)? = message.items.first { contact } else { nil }
        }
        guard decoded.map(\.displayName) == page.expectedDisplayNames,
            decoded.allSatisfy({
                $0.crmID != nil && $0.itemId != nil && $0.lastModified != nil && $0.birthday != nil
                    && $0.body?.isEmpty == false && $0.emailAddresses.count == 2 && $0.phoneNumbers.count == 3
                    && $0.businessAddress.city != nil
            })
        else { throw BenchmarkFailure("the decoder did not return the contacts of the page") }
    }

    /// Seconds for `iterations` runs of `body`.
    func measure(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        return Benchmark.seconds(ContinuousClock.now - start)
    }

    /// Seconds xmllint needs for `iterations` stream parses of `file`: one process given the file
    /// `iterations + 1` times, minus one process given it once (process start-up cancels out).
    func xmllintSeconds(_ file: URL) throws -> Double {
        let once = try runXmllint(Array(repeating: file.path, count: 1))
        let many = try runXmllint(Array(repeating: file.path, count: iterations + 1))
        return max(many - once, 0)
    }

    func runXmllint(_ files: [String]) throws -> Double {
        let start = ContinuousClock.now
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.runBlocking(URL(fileURLWithPath: xmllint), ["--stream", "--noout"] + files)
        } catch {
            throw BenchmarkFailure("cannot run \(xmllint): \(error) (apt-get install libxml2-utils)")
        }
        let elapsed = Benchmark.seconds(ContinuousClock.now - start)
        guard result.status == 0, result.stderr.isEmpty else {
            throw BenchmarkFailure("xmllint failed (\(result.status)): \(result.stderr.prefix(500))")
        }
        return elapsed
    }
}

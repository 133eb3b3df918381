#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import Observability
import Testing

/// The status area at the bottom of a terminal: log lines go above it whole, the area is erased and drawn again
/// around each, and its lines never wrap.
@Suite struct TerminalStatusAreaTests {
    /// What `body` writes through an area on a pipe 40 columns wide.
    func written(_ body: (TerminalStatusArea) -> Void) throws -> String {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let area = TerminalStatusArea(descriptor: fds[1], width: { 40 })
        body(area)
        close(fds[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        close(fds[0])
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func logLinesGoAboveTheStatusWhichIsRedrawnInPlace() throws {
        let erase2 = "\r\u{1B}[2A\u{1B}[J"
        let text = try written { area in
            area.write(line: "before the status")
            area.update(["status 1", "in flight: a"])
            area.write(line: "2026-12-06T03:30:04.341Z info snapsync: stage done")
            area.update(["status 2", "in flight: b"])
            area.clear()
            area.write(line: "after the status")
        }
        #expect(
            text == "before the status\n" + "status 1\nin flight: a\n"
                + erase2 + "2026-12-06T03:30:04.341Z info snapsync: stage done\n" + "status 1\nin flight: a\n"
                + erase2 + "status 2\nin flight: b\n"
                + erase2 + "after the status\n")
    }

    @Test func statusLinesAreCutToTheWidthWithoutControlCharacters() throws {
        let text = try written { area in area.update([String(repeating: "x", count: 60) + "\u{1B}[2J"]) }
        #expect(text == String(repeating: "x", count: 38) + "…\n")
        #expect(TerminalStatusArea.fitted("short", to: 39) == "short")
    }
}

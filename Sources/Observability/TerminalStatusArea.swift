#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import Synchronization

/// A status area at the bottom of a terminal, redrawn in place, with log lines printed above it: the log sink of a
/// command showing live progress. Every write to the terminal goes through one lock, so a log line is never broken
/// by the status text nor the status by a log line: the area is erased (cursor up over its lines, erase to the end
/// of the screen), the log line written, the area drawn again below it.
///
/// Status lines are cut to the terminal's width so none wraps (a wrapped line would take two rows and the erase
/// would miss one). While no status is shown, or after ``clear()``, log lines go out as they are.
public final class TerminalStatusArea: LogLineSink, Sendable {
    /// The status lines on the screen, and whether the area is shown.
    private struct Screen {
        var shown: [String] = []
        var active = false

        /// The bytes that take the cursor back to the area's first line and erase to the end of the screen.
        func erase() -> [UInt8] {
            guard active, !shown.isEmpty else { return [] }
            return Array("\r\u{1B}[\(shown.count)A\u{1B}[J".utf8)
        }

        func draw() -> [UInt8] {
            guard active else { return [] }
            return Array(shown.map { $0 + "\n" }.joined().utf8)
        }
    }

    private let descriptor: Int32
    private let screen = Mutex(Screen())
    private let width: @Sendable () -> Int

    /// An area on `descriptor` (standard error by default); `width` gives the terminal's columns (read from the
    /// terminal by default, 80 when it does not say).
    public init(descriptor: Int32 = STDERR_FILENO, width: (@Sendable () -> Int)? = nil) {
        self.descriptor = descriptor
        self.width = width ?? { Self.columns(of: descriptor) }
    }

    /// The columns of the terminal on `descriptor`, 80 when it is none or does not say.
    public static func columns(of descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// A log line, above the status area.
    public func write(line: String) {
        screen.withLock { screen in
            var bytes = screen.erase()
            bytes += Array(line.utf8)
            bytes.append(0x0A)
            bytes += screen.draw()
            _ = writeFully(descriptor, bytes)
        }
    }

    /// Replaces the status area's lines (starting it if it was not shown).
    public func update(_ lines: [String]) {
        let fitted = lines.map { Self.fitted($0, to: width() - 1) }
        screen.withLock { screen in
            screen.active = true
            var bytes = screen.erase()
            screen.shown = fitted
            bytes += screen.draw()
            _ = writeFully(descriptor, bytes)
        }
    }

    /// Removes the status area from the screen; log lines go out as they are until the next ``update(_:)``.
    public func clear() {
        screen.withLock { screen in
            let bytes = screen.erase()
            screen.shown = []
            screen.active = false
            if !bytes.isEmpty { _ = writeFully(descriptor, bytes) }
        }
    }

    /// `line` cut to `columns` characters (the cut marked with an ellipsis), control characters removed.
    public static func fitted(_ line: String, to columns: Int) -> String {
        let clean = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        guard clean.count > columns else { return clean }
        return columns < 1 ? "" : String(clean.prefix(columns - 1)) + "…"
    }
}

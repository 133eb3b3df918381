#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import Synchronization

/// Where formatted log lines go. Receives whole lines without the trailing newline; must be safe to call from
/// any thread.
public protocol LogLineSink: Sendable {
    /// Writes one line (the sink appends the line break).
    func write(line: String)
}

/// Writes lines to a file descriptor (standard error by default) with one `write(2)` per line, serialized within
/// the process, so lines from concurrent tasks never interleave.
public struct FileDescriptorLogSink: LogLineSink {
    private let descriptor: Int32
    private static let lock = Mutex(())

    /// A sink writing to `descriptor`; the caller keeps it open for the life of the process.
    public init(descriptor: Int32 = STDERR_FILENO) {
        self.descriptor = descriptor
    }

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        Self.lock.withLock { _ in
            _ = writeFully(descriptor, bytes)  // nowhere left to report a failing stderr
        }
    }
}

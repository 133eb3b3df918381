#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// A metrics file for node_exporter's textfile collector (`--metrics-file PATH`, e.g.
/// `/var/lib/node_exporter/textfile/snapsync-inbound.prom`).
///
/// Writes are atomic: the text goes to a temporary file in the same directory (a dot file not ending in `.prom`,
/// so the collector never reads it), is flushed to disk, made world-readable (0644) and renamed over `path`. The
/// collector therefore sees the old file or the new one, never a partial one. ``update(_:)`` holds an exclusive
/// `flock` on a sidecar `.NAME.lock` while it reads, merges and replaces, so processes sharing a file do not lose
/// each other's samples.
public struct MetricsTextfile: Sendable {
    /// The file's path.
    public let path: String

    /// A metrics file at `path`; its directory must exist.
    public init(path: String) {
        self.path = path
    }

    private var directory: String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    private var baseName: String { (path as NSString).lastPathComponent }

    /// The families in the file; none when it does not exist.
    public func read() throws -> [MetricFamily] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch CocoaError.fileReadNoSuchFile {
            return []
        } catch {
            throw ObservabilityError(code: .io, name: path, message: "cannot read the metrics file")
        }
        return try PrometheusText.parse(String(decoding: data, as: UTF8.self))
    }

    /// Replaces the file with `families`, atomically.
    public func write(_ families: [MetricFamily]) throws {
        try writeAtomically(PrometheusText.render(families))
    }

    /// Reads the file, passes its families to `merge` and writes what it returns, under the file's lock.
    public func update(_ merge: ([MetricFamily]) throws -> [MetricFamily]) throws {
        let lockPath = directory + "/." + baseName + ".lock"
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw ioError("cannot open the lock file") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ioError("cannot lock the metrics file") }
        }
        try write(merge(read()))
    }

    private func writeAtomically(_ text: String) throws {
        let temporary = directory + "/." + baseName + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ioError("cannot create the temporary file") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            guard writeFully(descriptor, Array(text.utf8)) else { throw ioError("cannot write the temporary file") }
            // The umask may have narrowed the mode; the collector may run as another user.
            guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 else {
                throw ioError("cannot flush the temporary file")
            }
        }
        guard rename(temporary, path) == 0 else { throw ioError("cannot rename the temporary file over the file") }
        renamed = true
    }

    private func ioError(_ message: String) -> ObservabilityError {
        ObservabilityError(code: .io, name: path, errno: errno, message: message)
    }
}

import Foundation
import Observability

/// A log sink that keeps the lines written to it.
final class CollectingSink: LogLineSink, @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    func write(line: String) {
        lock.withLock { collected.append(line) }
    }

    var lines: [String] { lock.withLock { collected } }
}

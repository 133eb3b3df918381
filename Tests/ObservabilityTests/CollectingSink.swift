import Foundation
import Observability
import Synchronization

/// A log sink that keeps the lines written to it.
final class CollectingSink: LogLineSink, Sendable {
    private let collected = Mutex<[String]>([])

    func write(line: String) {
        collected.withLock { $0.append(line) }
    }

    var lines: [String] { collected.withLock { $0 } }
}

import Dispatch
import Foundation
import Synchronization

/// Set by SIGTERM or SIGINT, so a looping command stops cleanly between passes.
// `sources` is never changed after init; Dispatch's sources are not marked Sendable
final class StopSignal: @unchecked Sendable {
    private let stopRequested = Mutex(false)
    /// Kept for the life of the object: a signal source that is released stops delivering.
    private let sources: [any DispatchSourceSignal]

    init() {
        sources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        }
        for source in sources {
            source.setEventHandler { [weak self] in self?.stopRequested.withLock { $0 = true } }
            source.resume()
        }
    }

    var isSet: Bool { stopRequested.withLock { $0 } }
}

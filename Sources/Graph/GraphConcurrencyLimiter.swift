/// At most ``maxPerMailbox`` Graph requests in flight per mailbox across every worker of the process (Exchange
/// Online answers a fifth concurrent request for a mailbox with 429 `ApplicationThrottled`). Waiters are served
/// first come, first served.
public actor GraphConcurrencyLimiter {
    public let maxPerMailbox: Int
    private var inFlight: [String: Int] = [:]
    private var waiters: [(mailbox: String, continuation: CheckedContinuation<Void, Never>)] = []

    public init(maxPerMailbox: Int = 4) {
        precondition(maxPerMailbox >= 1)
        self.maxPerMailbox = maxPerMailbox
    }

    func acquire(_ mailbox: String) async {
        if inFlight[mailbox, default: 0] < maxPerMailbox, !waiters.contains(where: { $0.mailbox == mailbox }) {
            inFlight[mailbox, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiters.append((mailbox, $0)) }
    }

    func release(_ mailbox: String) {
        inFlight[mailbox, default: 1] -= 1
        if let index = waiters.firstIndex(where: { $0.mailbox == mailbox }) {
            let waiter = waiters.remove(at: index)
            inFlight[mailbox, default: 0] += 1
            waiter.continuation.resume()
        } else if inFlight[mailbox] == 0 {
            inFlight[mailbox] = nil
        }
    }

    /// Requests of `mailbox` in flight (for tests).
    public func count(_ mailbox: String) -> Int { inFlight[mailbox.lowercased(), default: 0] }

    /// Runs `body` holding one of the mailbox's slots.
    public nonisolated func withSlot<T: Sendable, E: Error>(
        _ mailbox: String, _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        let key = mailbox.lowercased()
        await acquire(key)
        do {
            let result = try await body()
            await release(key)
            return result
        } catch {
            await release(key)
            throw error
        }
    }
}

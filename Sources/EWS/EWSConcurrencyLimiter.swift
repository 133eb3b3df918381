/// Caps requests in flight per mailbox and overall (Exchange answers `ErrorExceededConnectionCount`
/// beyond its own per-user limit). Waiters are served first come, first served among those that fit, so
/// a busy mailbox cannot starve the others.
public actor EWSConcurrencyLimiter {
    public let maxPerMailbox: Int
    public let maxTotal: Int
    private var total = 0
    private var perMailbox: [String: Int] = [:]
    private var waiters: [(mailbox: String, continuation: CheckedContinuation<Void, Never>)] = []

    public init(maxPerMailbox: Int = 4, maxTotal: Int = 10) {
        precondition(maxPerMailbox >= 1 && maxTotal >= 1)
        self.maxPerMailbox = maxPerMailbox
        self.maxTotal = maxTotal
    }

    /// Why a request had to wait for its slot.
    public enum WaitReason: String, Sendable, Hashable {
        /// The mailbox already had ``maxPerMailbox`` requests in flight.
        case mailboxCap = "per-mailbox concurrency cap"
        /// ``maxTotal`` requests were in flight, or earlier waiters were queued.
        case globalCap = "global concurrency cap"
    }

    /// Waits for a slot for `mailbox`; returns why it had to wait (nil when a slot was free). Every
    /// acquire must be followed by one ``release(_:)``.
    @discardableResult
    public func acquire(_ mailbox: String) async -> WaitReason? {
        let key = mailbox.lowercased()
        if waiters.isEmpty, fits(key) {
            take(key)
            return nil
        }
        let reason: WaitReason = perMailbox[key, default: 0] >= maxPerMailbox ? .mailboxCap : .globalCap
        await withCheckedContinuation { waiters.append((key, $0)) }
        return reason
    }

    /// Frees a slot of `mailbox` and hands it to the first waiter that fits.
    public func release(_ mailbox: String) {
        let key = mailbox.lowercased()
        total -= 1
        perMailbox[key, default: 1] -= 1
        if perMailbox[key] == 0 { perMailbox[key] = nil }
        var index = 0
        while index < waiters.count {
            if fits(waiters[index].mailbox) {
                let waiter = waiters.remove(at: index)
                take(waiter.mailbox)
                waiter.continuation.resume()
            } else {
                index += 1
            }
        }
    }

    /// Requests in flight (for tests and diagnostics).
    public var inFlight: (total: Int, perMailbox: [String: Int]) { (total, perMailbox) }

    /// Runs `body` holding a slot of `mailbox`; `waited` is called (before `body`) when the slot was
    /// not free at once, with the reason and how long the wait took.
    public nonisolated func withSlot<T: Sendable, E: Error>(
        _ mailbox: String, waited: (WaitReason, Duration) -> Void = { _, _ in }, _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        let start = ContinuousClock.now
        if let reason = await acquire(mailbox) { waited(reason, ContinuousClock.now - start) }
        do {
            let result = try await body()
            await release(mailbox)
            return result
        } catch {
            await release(mailbox)
            throw error
        }
    }

    private func fits(_ key: String) -> Bool { total < maxTotal && perMailbox[key, default: 0] < maxPerMailbox }

    private func take(_ key: String) {
        total += 1
        perMailbox[key, default: 0] += 1
    }
}

/// Exchange Online's request budget of an app on one mailbox: at most `requests` (each request of a `$batch`
/// counts) in any `window`; beyond it, Graph answers 429 until the window has room again.
public struct GraphRequestBudget: Sendable, Hashable {
    public var requests: Int
    public var window: Duration

    /// Exchange Online's limit: 10,000 requests per 10 minutes per app and mailbox.
    public static let exchangeOnline = GraphRequestBudget(requests: 10_000, window: .seconds(600))

    public init(requests: Int, window: Duration) {
        precondition(requests >= 1 && window > .zero)
        self.requests = requests
        self.window = window
    }
}

/// At most ``maxPerMailbox`` Graph requests in flight per mailbox across every worker of the process (Exchange
/// Online answers a fifth concurrent request for a mailbox with 429 `ApplicationThrottled`), waiters served first
/// come, first served; and each mailbox's ``GraphRequestBudget`` kept, so a long run paces itself instead of being
/// throttled.
public actor GraphConcurrencyLimiter {
    public let maxPerMailbox: Int
    public let budget: GraphRequestBudget?
    private var inFlight: [String: Int] = [:]
    private var waiters: [(mailbox: String, continuation: CheckedContinuation<Void, Never>)] = []
    /// Per mailbox, the start times (ascending, some maybe ahead) of the requests within the budget's window.
    private var starts: [String: [ContinuousClock.Instant]] = [:]

    public init(maxPerMailbox: Int = 4, budget: GraphRequestBudget? = .exchangeOnline) {
        precondition(maxPerMailbox >= 1)
        self.maxPerMailbox = maxPerMailbox
        self.budget = budget
    }

    /// Books `requests` requests of `mailbox` against its budget and returns how long to wait before sending them:
    /// zero while the window has room, else until enough earlier requests have left it.
    public func reserve(_ requests: Int, for mailbox: String, now: ContinuousClock.Instant = .now) -> Duration {
        guard let budget else { return .zero }
        let key = mailbox.lowercased()
        var times = starts[key, default: []]
        let kept = times.firstIndex { $0 > now - budget.window } ?? times.endIndex
        times.removeFirst(kept)
        let cost = min(max(requests, 1), budget.requests)
        var start = max(now, times.last ?? now)
        let over = times.count + cost - budget.requests
        if over > 0 { start = max(start, times[over - 1] + budget.window) }
        times.append(contentsOf: repeatElement(start, count: cost))
        starts[key] = times
        return start - now
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

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
    /// Per mailbox, the requests within the budget's window as runs of a start time (ascending, some maybe ahead) and
    /// the requests starting then: a `$batch` of 20 is one run, not 20 entries, and a mailbox whose runs have all
    /// left the window is forgotten, so the limiter's memory follows the requests of the last window, not the run's.
    private var starts: [String: [(at: ContinuousClock.Instant, count: Int)]] = [:]

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
        if starts[key] == nil {
            // A mailbox new to the limiter: those whose requests have all left the window are dropped.
            starts = starts.filter { $0.value.last.map { $0.at > now - budget.window } ?? false }
        }
        var runs = starts[key, default: []]
        runs.removeFirst(runs.firstIndex { $0.at > now - budget.window } ?? runs.endIndex)
        let cost = min(max(requests, 1), budget.requests)
        var start = max(now, runs.last?.at ?? now)
        var over = runs.reduce(0) { $0 + $1.count } + cost - budget.requests
        // Beyond the budget: wait until the earliest `over` requests in the window have left it.
        for run in runs where over > 0 {
            over -= run.count
            if over <= 0 { start = max(start, run.at + budget.window) }
        }
        if runs.last?.at == start { runs[runs.count - 1].count += cost } else { runs.append((start, cost)) }
        starts[key] = runs
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

    /// The mailboxes whose requests the budget still tracks (for tests).
    var budgetedMailboxes: Int { starts.count }

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

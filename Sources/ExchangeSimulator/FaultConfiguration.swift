/// Faults the simulator injects, set through the control API (`POST /sim/faults`) or
/// `SimulatorControl.setFaults(_:)`. Every field is optional; `nil` means "no such fault".
public struct FaultConfiguration: Codable, Sendable, Equatable {
    /// HTTP 503 with `Retry-After` for the next `count` requests (EWS and Graph).
    public struct Unavailable: Codable, Sendable, Equatable {
        public var count: Int
        public var retryAfterSeconds: Int
        public init(count: Int, retryAfterSeconds: Int = 1) {
            self.count = count; self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// `ErrorServerBusy` with `BackOffMilliseconds`, every `everyNth` matching request (1 = every one) or at
    /// a random `rate` (0...1); as a SOAP fault (HTTP 500) or as a per-message error (HTTP 200).
    public struct ServerBusy: Codable, Sendable, Equatable {
        public var everyNth: Int?
        public var rate: Double?
        public var backOffMilliseconds: Int
        public var asFault: Bool
        /// Only these operations (all when nil).
        public var operations: [String]?
        public init(
            everyNth: Int? = nil, rate: Double? = nil, backOffMilliseconds: Int = 200, asFault: Bool = false,
            operations: [String]? = nil
        ) {
            self.everyNth = everyNth; self.rate = rate; self.backOffMilliseconds = backOffMilliseconds
            self.asFault = asFault; self.operations = operations
        }
    }

    /// Apply the next `count` requests of `operation`, then close the connection without a response.
    public struct DropAfterCommit: Codable, Sendable, Equatable {
        public var operation: String
        public var count: Int
        public init(operation: String, count: Int = 1) { self.operation = operation; self.count = count }
    }

    /// HTTP 429 `ApplicationThrottled` with `Retry-After` for the next `count` Graph requests.
    public typealias Throttle = Unavailable

    /// At most `requests` Graph requests per app and mailbox in each `windowSeconds`; more get 429 with `Retry-After`
    /// (the seconds left in the window).
    public struct RequestBudget: Codable, Sendable, Equatable {
        public var requests: Int
        public var windowSeconds: Int
        public init(requests: Int, windowSeconds: Int = 600) {
            self.requests = requests; self.windowSeconds = windowSeconds
        }
    }

    /// HTTP 504 Gateway Timeout for the next `count` requests (no body, as a front door sends it).
    public struct GatewayTimeout: Codable, Sendable, Equatable {
        public var count: Int
        public init(count: Int) { self.count = count }
    }

    public var unavailable: Unavailable?
    public var serverBusy: ServerBusy?
    public var gatewayTimeout: GatewayTimeout?
    /// Concurrent Graph requests per app and mailbox beyond this get 429 `ApplicationThrottled` (Exchange Online's
    /// MailboxConcurrency limit); nil means Exchange Online's 4.
    public var graphMaxConcurrentRequests: Int?
    public var graphRequestBudget: RequestBudget?
    public var graphThrottle: Throttle?
    /// More concurrent EWS requests than this for one mailbox get `ErrorExceededConnectionCount`.
    public var maxConcurrentRequestsPerMailbox: Int?
    /// Added to every EWS response.
    public var latencyMilliseconds: Int?
    public var dropAfterCommit: DropAfterCommit?

    public init(
        unavailable: Unavailable? = nil, serverBusy: ServerBusy? = nil, maxConcurrentRequestsPerMailbox: Int? = nil,
        latencyMilliseconds: Int? = nil, dropAfterCommit: DropAfterCommit? = nil, gatewayTimeout: GatewayTimeout? = nil,
        graphMaxConcurrentRequests: Int? = nil, graphRequestBudget: RequestBudget? = nil, graphThrottle: Throttle? = nil
    ) {
        self.unavailable = unavailable; self.serverBusy = serverBusy
        self.gatewayTimeout = gatewayTimeout; self.graphMaxConcurrentRequests = graphMaxConcurrentRequests
        self.graphRequestBudget = graphRequestBudget; self.graphThrottle = graphThrottle
        self.maxConcurrentRequestsPerMailbox = maxConcurrentRequestsPerMailbox
        self.latencyMilliseconds = latencyMilliseconds; self.dropAfterCommit = dropAfterCommit
    }

    /// Exchange Online's limit of concurrent requests per app and mailbox.
    public static let graphDefaultConcurrency = 4
}

/// What the HTTP layer must do with one EWS request, decided from the fault configuration.
enum FaultDecision: Equatable {
    case proceed(dropResponse: Bool)
    case unavailable(retryAfter: Int)
    case busyFault(backOff: Int)
    case busyMessages(backOff: Int)
    case exceededConnections
}

/// What the HTTP layer must do with one Graph request (or one request of a `$batch`).
enum GraphFaultDecision: Equatable {
    case proceed(dropResponse: Bool)
    case unavailable(retryAfter: Int)
    case gatewayTimeout
    case throttled(retryAfter: Int, message: String)
}

/// Fault state: the configuration plus the counters it consumes. Pure logic, unit-testable.
struct FaultState: Sendable {
    var config = FaultConfiguration()
    var busyMatches = 0
    var active: [String: Int] = [:]
    var counters: [String: Int] = [:]
    /// Graph request budget windows per app and mailbox: when the window started and what it has spent.
    var budgets: [String: (start: Double, spent: Int)] = [:]

    /// The concurrency and budget key of a Graph request.
    static func graphKey(app: String, mailbox: String) -> String { "graph|" + app + "|" + mailbox }

    /// Decides the fate of a Graph request `operation` by `app` on `mailbox` at `now`, and counts it. A `.proceed`
    /// must be ended with `finish(mailbox: graphKey(...))`.
    mutating func admitGraph(operation: String, app: String, mailbox: String, now: Double) -> GraphFaultDecision {
        counters["Graph " + operation, default: 0] += 1
        if let retryAfter = takeUnavailable() { return .unavailable(retryAfter: retryAfter) }
        if var g = config.gatewayTimeout, g.count > 0 {
            g.count -= 1
            config.gatewayTimeout = g.count > 0 ? g : nil
            return .gatewayTimeout
        }
        if var t = config.graphThrottle, t.count > 0 {
            t.count -= 1
            config.graphThrottle = t.count > 0 ? t : nil
            return .throttled(
                retryAfter: t.retryAfterSeconds, message: "Application is over its MailboxConcurrency limit.")
        }
        let key = Self.graphKey(app: app, mailbox: mailbox)
        if let budget = config.graphRequestBudget {
            var w = budgets[key] ?? (start: now, spent: 0)
            if now - w.start >= Double(budget.windowSeconds) { w = (start: now, spent: 0) }
            guard w.spent < budget.requests else {
                return .throttled(
                    retryAfter: max(1, Int((w.start + Double(budget.windowSeconds) - now).rounded(.up))),
                    message:
                        "Application is over its request limit of \(budget.requests) requests per \(budget.windowSeconds) seconds."
                )
            }
            w.spent += 1
            budgets[key] = w
        }
        let limit = config.graphMaxConcurrentRequests ?? FaultConfiguration.graphDefaultConcurrency
        if active[key, default: 0] >= limit {
            return .throttled(retryAfter: 1, message: "Application is over its MailboxConcurrency limit.")
        }
        active[key, default: 0] += 1
        return .proceed(dropResponse: takeDrop(operation))
    }

    /// Decides the fate of a request to `operation` on `mailbox`, and counts it. `random` is in 0..<1.
    mutating func admit(operation: String, mailbox: String, random: Double) -> FaultDecision {
        counters[operation, default: 0] += 1
        if let retryAfter = takeUnavailable() { return .unavailable(retryAfter: retryAfter) }
        if let b = config.serverBusy, b.operations?.contains(operation) ?? true {
            busyMatches += 1
            var hit = false
            if let n = b.everyNth, n > 0, busyMatches % n == 0 { hit = true }
            if let r = b.rate, random < r { hit = true }
            if hit {
                return b.asFault
                    ? .busyFault(backOff: b.backOffMilliseconds) : .busyMessages(backOff: b.backOffMilliseconds)
            }
        }
        if let limit = config.maxConcurrentRequestsPerMailbox, active[mailbox, default: 0] >= limit {
            return .exceededConnections
        }
        active[mailbox, default: 0] += 1
        return .proceed(dropResponse: takeDrop(operation))
    }

    /// Consumes one injected 503; its `Retry-After`, nil when none is left.
    private mutating func takeUnavailable() -> Int? {
        guard var u = config.unavailable, u.count > 0 else { return nil }
        u.count -= 1
        config.unavailable = u.count > 0 ? u : nil
        return u.retryAfterSeconds
    }

    /// Whether this request of `operation` loses its response after its change is applied (consumes one).
    private mutating func takeDrop(_ operation: String) -> Bool {
        guard var d = config.dropAfterCommit, d.operation == operation, d.count > 0 else { return false }
        d.count -= 1
        config.dropAfterCommit = d.count > 0 ? d : nil
        return true
    }

    /// Ends a request admitted with `.proceed`.
    mutating func finish(mailbox: String) {
        if let n = active[mailbox] { active[mailbox] = n > 1 ? n - 1 : nil }
    }
}

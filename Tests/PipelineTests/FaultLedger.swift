import Synchronization
import Foundation

/// What a fault proxy was told to do with requests, and what became of them: the next `count` requests of an
/// operation on a mailbox meet a fate. Shared by ``EWSFaultProxy`` and ``GraphFaultProxy``.
final class FaultLedger: @unchecked Sendable {
    enum Fate: Sendable, Hashable {
        case forward, corruptAnswer, loseAnswer, unavailable, holdAnswer
    }

    /// A fate for requests of an operation on a mailbox (any when nil), for the next `remaining` of them (all when
    /// nil).
    private struct Fault {
        var operation: String
        var mailbox: String?
        var fate: Fate
        var remaining: Int?
    }

    private let lock = Mutex(())
    private var faults: [Fault] = []
    private var fates: [(operation: String, mailbox: String, fate: Fate)] = []

    /// The next `count` requests (all when nil) of `operation` on `mailbox` (any when nil) meet `fate`.
    func inject(_ fate: Fate, operation: String, mailbox: String? = nil, count: Int? = nil) {
        lock.withLock { _ in faults.append(Fault(operation: operation, mailbox: mailbox, fate: fate, remaining: count))
        }
    }

    /// Every request is forwarded and answered from now on.
    func clearFaults() { lock.withLock { _ in faults = [] } }

    /// How many requests of `operation` (on `mailbox`, any when nil) met `fate` so far.
    func count(_ operation: String, mailbox: String? = nil, _ fate: Fate) -> Int {
        lock.withLock { _ in
            fates.filter { $0.operation == operation && (mailbox == nil || $0.mailbox == mailbox) && $0.fate == fate }
                .count
        }
    }

    /// The fate of a request that stands for `operations` (several for a Graph `$batch`): that of the first fault
    /// one of them matches, which it consumes. The request is recorded once, under the operation the fault matched
    /// (the first operation when none did).
    func fate(of operations: [(operation: String, mailbox: String)]) -> Fate {
        lock.withLock { _ in
            var fate = Fate.forward
            var met = operations.first
            if let index = faults.firstIndex(where: { fault in
                operations.contains {
                    $0.operation == fault.operation && (fault.mailbox == nil || $0.mailbox == fault.mailbox)
                }
            }) {
                let fault = faults[index]
                fate = fault.fate
                met = operations.first {
                    $0.operation == fault.operation && (fault.mailbox == nil || $0.mailbox == fault.mailbox)
                }
                if let remaining = fault.remaining {
                    if remaining <= 1 { faults.remove(at: index) } else { faults[index].remaining = remaining - 1 }
                }
            }
            if let met { fates.append((met.operation, met.mailbox, fate)) }
            return fate
        }
    }
}

/// Lets a loopback server's handler reach the proxy that is made after the server.
final class ProxyBox<Proxy: AnyObject & Sendable>: @unchecked Sendable {
    private let lock = Mutex(())
    private var value: Proxy?
    var proxy: Proxy? {
        get { lock.withLock { _ in value } }
        set { lock.withLock { _ in value = newValue } }
    }
}

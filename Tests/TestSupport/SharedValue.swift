import Synchronization

/// A value shared between a test's object and the closures it hands out (a server's handler, say), behind a `Mutex`.
public final class SharedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    public func withLock<Result>(_ body: (inout sending Value) -> sending Result) -> sending Result {
        mutex.withLock(body)
    }

    /// The value now.
    public var value: Value { mutex.withLock { $0 } }
}

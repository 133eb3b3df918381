import Synchronization

/// A small bounded memo of a pure parse of a text: a Graph client sends the same `$expand`, `$select` and `Prefer`
/// texts on every request, so each distinct text is parsed once. When full, it starts over (the texts in use come
/// back at once).
final class TextMemo<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    private let limit: Int
    private let parse: @Sendable (String) -> Value

    init(limit: Int = 64, _ parse: @escaping @Sendable (String) -> Value) {
        self.limit = limit
        self.parse = parse
    }

    func callAsFunction(_ text: String) -> Value {
        if let known = entries.withLock({ $0[text] }) { return known }
        let value = parse(text)
        entries.withLock {
            if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
            $0[text] = value
        }
        return value
    }
}

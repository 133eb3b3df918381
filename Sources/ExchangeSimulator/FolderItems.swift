/// A folder's items by number, and the index Graph's event creation needs: the numbers of the items that carry each
/// `transactionId` (a repeated POST with the same one returns the first event instead of creating another). Every
/// write goes through the subscript or `removeValue(forKey:)`, so the index follows the items through every change,
/// move, restore, reload and reset, as the folder's value does.
struct FolderItems: Sendable {
    private var byNumber: [UInt64: StoredItem] = [:]
    /// transactionId -> the numbers of the items carrying it, ascending (one, unless a PATCH repeated an id).
    private var transactions: [String: [UInt64]] = [:]

    init() {}

    var count: Int { byNumber.count }
    var isEmpty: Bool { byNumber.isEmpty }
    var keys: Dictionary<UInt64, StoredItem>.Keys { byNumber.keys }
    var values: Dictionary<UInt64, StoredItem>.Values { byNumber.values }

    subscript(number: UInt64) -> StoredItem? {
        get { byNumber[number] }
        set {
            let old: StoredItem?
            if let newValue {
                old = byNumber.updateValue(newValue, forKey: number)
            } else {
                old = byNumber.removeValue(forKey: number)
            }
            reindex(number, old: old, new: newValue)
        }
    }

    @discardableResult
    mutating func removeValue(forKey number: UInt64) -> StoredItem? {
        let old = byNumber.removeValue(forKey: number)
        reindex(number, old: old, new: nil)
        return old
    }

    /// The first item (lowest number) whose `transactionId` is `id`.
    func first(transactionId id: String) -> StoredItem? {
        transactions[id]?.first.flatMap { byNumber[$0] }
    }

    private mutating func reindex(_ number: UInt64, old: StoredItem?, new: StoredItem?) {
        let before = old.flatMap { Self.transactionId($0) }, after = new.flatMap { Self.transactionId($0) }
        guard before != after else { return }
        if let before, var numbers = transactions[before] {
            numbers.removeAll { $0 == number }
            transactions[before] = numbers.isEmpty ? nil : numbers
        }
        if let after {
            var numbers = transactions[after] ?? []
            let at = numbers.firstIndex { $0 > number } ?? numbers.endIndex
            numbers.insert(number, at: at)
            transactions[after] = numbers
        }
    }

    private static let transactionKey = GraphItemMapping.hiddenPrefix + "transactionId"

    static func transactionId(_ item: StoredItem) -> String? {
        item.extended.isEmpty ? nil : item.extended.first { $0.key == transactionKey }?.values.first
    }
}

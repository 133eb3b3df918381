/// A folder's items by number, with what reading them needs kept up to date: the numbers in ascending (creation)
/// order and how many items of each kind there are, so a page of a collection costs its own size and not a sort of
/// the folder; and the numbers of the items that carry each `transactionId` (a repeated POST with the same one
/// returns the first event instead of creating another). Every write goes through the subscript or
/// `removeValue(forKey:)`, so the indexes follow the items through every change, move, restore, reload and reset, as
/// the folder's value does.
struct FolderItems: Sendable {
    private var byNumber: [UInt64: StoredItem] = [:]
    /// The keys of `byNumber`, ascending.
    private(set) var numbers: [UInt64] = []
    private var kindCounts: [ExchangeItemType: Int] = [:]
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

    /// How many items of `kind` the folder holds.
    func count(of kind: ExchangeItemType) -> Int { kindCounts[kind] ?? 0 }

    /// Items `skip..<skip + size` of `kind` in creation order, and whether more follow: the numbers are walked only
    /// when the folder holds items of other kinds too.
    func page(of kind: ExchangeItemType?, skip: Int, size: Int) -> (items: [StoredItem], more: Bool) {
        let total = kind.map(count(of:)) ?? count
        guard skip < total else { return ([], false) }
        guard size > 0 else { return ([], true) }
        if total == count {
            let range = skip..<min(skip + size, total)
            return (numbers[range].compactMap { byNumber[$0] }, total > range.upperBound)
        }
        var items: [StoredItem] = [], seen = 0
        items.reserveCapacity(min(size, total - skip))
        for n in numbers {
            guard let item = byNumber[n], item.kind == kind else { continue }
            seen += 1
            if seen <= skip { continue }
            items.append(item)
            if items.count == size { break }
        }
        return (items, total > skip + size)
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
        if let old { kindCounts[old.kind, default: 0] -= 1 }
        if let new { kindCounts[new.kind, default: 0] += 1 }
        if old == nil, new != nil {
            if let last = numbers.last, last > number {
                numbers.insert(number, at: insertionPoint(number))
            } else {
                numbers.append(number)
            }
        } else if old != nil, new == nil {
            let at = insertionPoint(number)
            if at < numbers.count, numbers[at] == number { numbers.remove(at: at) }
        }
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

    /// The index of the first number not below `number`.
    private func insertionPoint(_ number: UInt64) -> Int {
        var lo = 0, hi = numbers.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if numbers[mid] < number { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func transactionId(_ item: StoredItem) -> String? {
        item.extended.isEmpty ? nil : item.extended.first { $0.key == transactionKey }?.values.first
    }
}

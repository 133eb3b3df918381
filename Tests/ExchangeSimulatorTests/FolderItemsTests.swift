import Testing
@testable import ExchangeSimulator

/// A folder's items and their indexes: pages in creation order by kind, and transactionIds, through every write.
@Suite struct FolderItemsTests {
    static func item(_ number: UInt64, _ kind: ExchangeItemType, transaction: String? = nil) -> StoredItem {
        var item = StoredItem(
            number: number, kind: kind, folder: "calendar", changeNumber: number, fields: [:], fieldChanges: [:],
            extended: [], createdSeq: number, lastSeq: number)
        GraphItemMapping.setHidden(&item, "transactionId", transaction)
        return item
    }

    @Test func pagesFollowNumbersWhateverTheOrderOfWrites() {
        var items = FolderItems()
        for n: UInt64 in [7, 2, 9, 4, 1] { items[n] = Self.item(n, .calendarItem) }
        items[5] = Self.item(5, .task)
        #expect(items.page(of: nil, skip: 0, size: 10).items.map(\.number) == [1, 2, 4, 5, 7, 9])
        #expect(items.page(of: .calendarItem, skip: 0, size: 2).items.map(\.number) == [1, 2])
        #expect(items.page(of: .calendarItem, skip: 0, size: 2).more)
        #expect(items.page(of: .calendarItem, skip: 2, size: 2).items.map(\.number) == [4, 7])
        let last = items.page(of: .calendarItem, skip: 4, size: 2)
        #expect(last.items.map(\.number) == [9] && !last.more)
        #expect(items.page(of: .task, skip: 0, size: 10).items.map(\.number) == [5])
        #expect(items.page(of: .contact, skip: 0, size: 10).items.isEmpty)
        let none = items.page(of: .calendarItem, skip: 1, size: 0)
        #expect(none.items.isEmpty && none.more)
        items.removeValue(forKey: 4)
        items[2] = nil
        items[7] = Self.item(7, .task)
        #expect(items.page(of: .calendarItem, skip: 0, size: 10).items.map(\.number) == [1, 9])
        #expect(items.page(of: .task, skip: 0, size: 10).items.map(\.number) == [5, 7])
        #expect(items.count == 4 && items.count(of: .task) == 2 && items.count(of: .calendarItem) == 2)
    }

    @Test func transactionIdsFollowEveryWrite() {
        var items = FolderItems()
        items[3] = Self.item(3, .calendarItem, transaction: "a")
        items[8] = Self.item(8, .calendarItem, transaction: "a")
        #expect(items.first(transactionId: "a")?.number == 3)
        items[3] = Self.item(3, .calendarItem, transaction: "b")
        #expect(items.first(transactionId: "a")?.number == 8 && items.first(transactionId: "b")?.number == 3)
        items.removeValue(forKey: 8)
        #expect(items.first(transactionId: "a") == nil)
        items[3] = nil
        #expect(items.first(transactionId: "b") == nil && items.isEmpty)
    }
}

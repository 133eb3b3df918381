import Foundation
import SyncCore
import Testing

@Suite struct DuplicateCopiesTests {
    let a = UUID(), b = UUID(), c = UUID()

    @Test func theLinkedCopyIsKeptAndEveryOtherIsExtra() {
        let stamped = [
            a: [MailboxItemRef(id: "a1"), MailboxItemRef(id: "a2"), MailboxItemRef(id: "a3")],
            b: [MailboxItemRef(id: "b1")],
        ]
        let groups = DuplicateCopies.plan(stamped, linkedItems: ["a2": a, "b1": b])
        #expect(groups.count == 1)  // a record held once is no group
        #expect(groups.first?.kept.id == "a2")
        #expect(groups.first?.keptIsLinked == true)
        #expect(groups.first?.extras.map(\.id) == ["a1", "a3"])
    }

    @Test func withoutALinkTheFirstCopyIsKeptToBeLinked() {
        // A link of another record pointing at a copy does not make it this record's.
        let groups = DuplicateCopies.plan(
            [c: [MailboxItemRef(id: "c1"), MailboxItemRef(id: "c2")]], linkedItems: ["c2": a])
        #expect(groups.map(\.kept.id) == ["c1"])
        #expect(groups.map(\.keptIsLinked) == [false])
        #expect(groups.flatMap(\.extras).map(\.id) == ["c2"])
    }

    @Test func itemsStampedWithTheNilIDAreNoCopies() {
        #expect(
            DuplicateCopies.plan(
                [DuplicateCopies.noRecord: [MailboxItemRef(id: "x1"), MailboxItemRef(id: "x2")]], linkedItems: [:]
            ).isEmpty)
    }
}

import Foundation
import Testing
import SyncCore

@Suite struct SampleRecordsTests {
    @Test func coverageGivesEachContactDistinctUsersEvenWithFewerUsersThanAsked() {
        var sample = SampleRecords(seed: 1)
        let contacts = (0..<10).map { sample.contact(index: $0) }
        let users = (0..<3).map { _ in sample.uuid() }
        for perContact in [1, 2, 5] {
            let coverage = SampleRecords.coverage(of: contacts, by: users, perContact: perContact)
            for contact in contacts {
                let covering = coverage.filter { $0.contactID == contact.id }.map(\.userID)
                #expect(covering.count == min(perContact, users.count))
                #expect(Set(covering).count == covering.count)  // crm.coverage's primary key holds
            }
        }
        #expect(SampleRecords.coverage(of: contacts, by: [], perContact: 2).isEmpty)
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// The ids the simulator makes (event UIDs, linked resources, request ids) are version 4 UUIDs in lower case, as
/// Exchange writes them, and do not repeat.
@Suite struct RandomUUIDTests {
    @Test func idsAreLowerCaseVersion4UUIDsThatDoNotRepeat() {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let id = RandomUUID.lowercased()
            let uuid = UUID(uuidString: id)
            #expect(uuid?.uuidString.lowercased() == id)
            #expect(id.count == 36 && id[id.index(id.startIndex, offsetBy: 14)] == "4")
            #expect("89ab".contains(id[id.index(id.startIndex, offsetBy: 19)]))
            seen.insert(id)
        }
        #expect(seen.count == 2_000)
    }
}

import Foundation
import Testing
@testable import Graph

/// Exchange answers extended property ids and extension names in its own case (`string {…} name …`), and fills in
/// an attendee's address as its name in whatever case it was written: they are matched regardless of case.
@Suite struct GraphPropertyIdTests {
    @Test func theCRMStampIsFoundInAnyCase() {
        let id = UUID()
        let item: GraphJSON = [
            "singleValueExtendedProperties": [
                ["id": .string(GraphMappings.crmIDProperty.lowercased()), "value": .string(id.uuidString)]
            ]
        ]
        #expect(GraphMappings.stampedID(item) == id)
    }

    @Test func textIsComparedRegardlessOfCase() {
        #expect("SnapsyncCrmId".equalsIgnoringCase("snapsynccrmid"))
        #expect(!"SnapsyncCrmId".equalsIgnoringCase("SnapsyncCrmIds"))
        #expect("Zoë@Example.com".equalsIgnoringCase("ZOË@example.COM"))
        #expect(!"Zoë".equalsIgnoringCase("Zoe"))
    }
}

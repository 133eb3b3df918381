import Testing
@testable import SyncStore

@Test func SyncStoreModuleLinks() { #expect(Bool(true)) }

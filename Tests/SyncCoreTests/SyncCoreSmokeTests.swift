import Testing
@testable import SyncCore

@Test func SyncCoreModuleLinks() { #expect(Bool(true)) }

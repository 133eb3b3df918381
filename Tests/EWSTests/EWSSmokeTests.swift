import Testing
@testable import EWS

@Test func EWSModuleLinks() { #expect(Bool(true)) }

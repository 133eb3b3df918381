import Testing
@testable import ExchangeSimulator

@Test func ExchangeSimulatorModuleLinks() { #expect(Bool(true)) }

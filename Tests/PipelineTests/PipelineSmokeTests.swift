import Testing
@testable import Pipeline

@Test func PipelineModuleLinks() { #expect(Bool(true)) }

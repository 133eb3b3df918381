import Foundation
import Testing
@testable import SyncCore

@Suite struct UUIDTimeOrderedTests {
    /// RFC 9562 §6.2's example generator: a fixed source, so the bits are known.
    struct FixedBits: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test func carriesTheMillisecondsVersionAndVariant() {
        // RFC 9562 Appendix A.6's timestamp: 2022-02-22 19:22:22 UTC, 0x017F22E279B0 ms.
        let date = Date(timeIntervalSince1970: 1_645_557_742.000)
        var bits = FixedBits(value: .max)
        let id = UUID.timeOrdered(at: date, using: &bits)
        #expect(id.uuidString.lowercased() == "017f22e2-79b0-7fff-bfff-ffffffffffff")
        var zeros = FixedBits(value: 0)
        #expect(
            UUID.timeOrdered(at: date, using: &zeros).uuidString.lowercased() == "017f22e2-79b0-7000-8000-000000000000")
    }

    @Test func idsOfLaterMillisecondsSortAfterAsPostgreSQLComparesThem() {
        // PostgreSQL orders uuid by its bytes; so does the string form in lowercase hex. Two milliseconds apart, so
        // that no two dates fall in the same millisecond (within one, the order is random).
        var generator = SplitMix64()
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let ids = (0..<200).map {
            UUID.timeOrdered(at: start.addingTimeInterval(Double($0) * 0.002), using: &generator)
        }
        let texts = ids.map { $0.uuidString.lowercased() }
        #expect(texts == texts.sorted())
        #expect(Set(ids).count == ids.count)
    }

    @Test func splitMix64DrawsTheReferenceSequence() {
        // The reference implementation's first outputs from seed 0.
        var generator = SplitMix64(seed: 0)
        #expect(
            (0..<3).map { _ in generator.next() } == [
                0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F,
            ])
    }

    @Test func lowercasedStringIsFoundationsFormInLowercase() {
        var random = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let id = random.uuid()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(uuidString: id.lowercasedString) == id)
        }
    }
}

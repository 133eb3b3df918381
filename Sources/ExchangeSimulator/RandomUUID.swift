import Synchronization

/// The lower-case text of a random (version 4) UUID, as `UUID().uuidString.lowercased()` writes it. Foundation's
/// `UUID()` opens, reads and closes /dev/urandom for each one on Linux, and the standard library's system generator
/// makes a getrandom(2) call for each 64 bits: system calls for every event UID, To Do linked resource and request id
/// the simulator makes. The bits come from a xoshiro256** generator seeded once from the system generator: ids
/// that are unique and unpredictable enough for a simulator, not secrets (tokens do not come from here).
enum RandomUUID {
    private static let generator = Mutex(Xoshiro256StarStar())
    private static let hex: StaticString = "0123456789abcdef"

    static func lowercased() -> String {
        var bits = generator.withLock { g in (g.next(), g.next()) }
        return withUnsafeMutableBytes(of: &bits) { b in
            b[6] = b[6] & 0x0F | 0x40
            b[8] = b[8] & 0x3F | 0x80
            let digits = hex.utf8Start
            return String(unsafeUninitializedCapacity: 36) { out in
                var i = 0
                for (n, byte) in b.enumerated() {
                    if n == 4 || n == 6 || n == 8 || n == 10 { out[i] = UInt8(ascii: "-"); i += 1 }
                    out[i] = digits[Int(byte >> 4)]
                    out[i + 1] = digits[Int(byte & 15)]
                    i += 2
                }
                return i
            }
        }
    }
}

/// xoshiro256** (Blackman and Vigna), seeded from the system's generator.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        s = (system.next(), system.next(), system.next(), system.next())
        if s == (0, 0, 0, 0) { s.0 = 1 }  // the one state the generator cannot leave
    }

    mutating func next() -> UInt64 {
        let result = (s.1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3.rotatedLeft(by: 45)
        return result
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(by k: UInt64) -> UInt64 { self << k | self >> (64 - k) }
}

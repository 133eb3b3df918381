/// The lower-case text of a random (version 4) UUID, as `UUID().uuidString.lowercased()` writes it, from the
/// standard library's system generator (getrandom(2)). Foundation's `UUID()` opens, reads and closes /dev/urandom for
/// each one on Linux: three system calls for every event UID, To Do linked resource and request id the simulator makes.
enum RandomUUID {
    static func lowercased() -> String {
        var generator = SystemRandomNumberGenerator()
        var bits = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bits) { b in
            b[6] = b[6] & 0x0F | 0x40
            b[8] = b[8] & 0x3F | 0x80
            let hex = Array("0123456789abcdef".utf8)
            return String(unsafeUninitializedCapacity: 36) { out in
                var i = 0
                for (n, byte) in b.enumerated() {
                    if n == 4 || n == 6 || n == 8 || n == 10 { out[i] = UInt8(ascii: "-"); i += 1 }
                    out[i] = hex[Int(byte >> 4)]
                    out[i + 1] = hex[Int(byte & 15)]
                    i += 2
                }
                return i
            }
        }
    }
}

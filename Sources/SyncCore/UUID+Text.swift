import Foundation

extension UUID {
    /// The canonical text form in lowercase (RFC 9562 §4: 8-4-4-4-12 hexadecimal digits), as snapsync stamps CRM ids
    /// on mailbox items. `uuidString.lowercased()` formats through `snprintf`, then copies the string to lowercase it:
    /// about 5% of snapsync's CPU in an outbound snapshot, which writes one per item.
    public var lowercasedString: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var at = 0
            withUnsafeBytes(of: uuid) { bytes in
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    buffer[at] = digits.utf8Start[Int(byte >> 4)]
                    buffer[at + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    at += 2
                }
            }
            return at
        }
    }
}

import Foundation

/// Graph's item ids, derived from the store's item identity through one place each way. A REST id is the EWS
/// id in URL-safe form (`/` → `-`, `+` → `_`), as Exchange Online writes it; an immutable id
/// (`Prefer: IdType="ImmutableId"`) carries the same identity under another tag and does not change when the
/// item moves. Occurrence ids are the REST form of their EWS occurrence ids.
enum GraphIdentifier {
    enum Target: Sendable, Equatable {
        case item(mailbox: String, number: UInt64)
        case occurrence(mailbox: String, master: UInt64, originalStart: Int64)
    }

    private static let immutableTag: [UInt8] = [0x41, 0x41, 0x6B, 0x41, 0x01]  // "AAkA\u{1}"

    static func rest(fromEWS id: String) -> String {
        replacing(id, UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "_"))
    }

    static func ews(fromREST id: String) -> String {
        replacing(id, UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "+"))
    }

    /// `text` with ASCII byte `a` replaced by `b` and `c` by `d` (ids are ASCII; done on bytes, as every id written
    /// goes through here).
    private static func replacing(_ text: String, _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> String {
        var bytes = Array(text.utf8)
        for i in bytes.indices {
            if bytes[i] == a { bytes[i] = b } else if bytes[i] == c { bytes[i] = d }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The Graph id of a stored item.
    static func id(mailbox: String, number: UInt64, immutable: Bool) -> String {
        guard immutable else { return Identifier.itemId(mailbox: mailbox, number: number, urlSafe: true) }
        // The REST alphabet (`/` → `-`, `+` → `_`) is base64's URL-safe one: encoded in it, not encoded and replaced.
        var b = immutableTag
        withUnsafeBytes(of: number.bigEndian) { b.append(contentsOf: $0) }
        b.append(contentsOf: mailbox.lowercased().utf8)
        return String(decoding: Base64.encode(b, urlSafe: true), as: UTF8.self)
    }

    static func occurrenceId(mailbox: String, master: UInt64, originalStart: Int64) -> String {
        Identifier.occurrenceId(mailbox: mailbox, master: master, originalStart: originalStart, urlSafe: true)
    }

    /// Parses a REST, immutable or EWS id (EWS ids are accepted as Exchange Online accepts them).
    static func parse(_ id: String) -> Target? {
        // Identifier reads ids in either alphabet, so REST ids need no conversion.
        if let p = Identifier.parseItemId(id) { return .item(mailbox: p.mailbox, number: p.number) }
        if let p = Identifier.parseOccurrenceId(id) {
            return .occurrence(mailbox: p.mailbox, master: p.master, originalStart: p.originalStart)
        }
        guard let d = Base64.decode(Array(id.utf8)), d.count > 13, d[0..<5].elementsEqual(immutableTag) else {
            return nil
        }
        let n = d[5..<13].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let mailbox = String(validating: d[13...], as: UTF8.self) else { return nil }
        return .item(mailbox: mailbox, number: n)
    }

    /// The 16 bytes of a mailbox's GUID: 128-bit FNV-1a of its address, marked as a version 8 (custom) UUID.
    static func userGuid(_ address: String) -> [UInt8] {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
        for byte in address.lowercased().utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9e37_79b9
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        withUnsafeBytes(of: a.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: b.bigEndian) { bytes.append(contentsOf: $0) }
        bytes[6] = bytes[6] & 0x0f | 0x80  // version 8 (custom), RFC 9562
        bytes[8] = bytes[8] & 0x3f | 0x80
        return bytes
    }

    /// A user's (mailbox's) Graph id: a GUID derived from its address (128-bit FNV-1a), stable for the address.
    static func userId(_ address: String) -> String {
        let bytes = userGuid(address)
        let u = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        return u.uuidString.lowercased()
    }

    /// A folder's Graph id (the REST form of its EWS folder id).
    static func folderId(mailbox: String, key: String) -> String {
        Identifier.folderId(mailbox: mailbox, key: key, urlSafe: true)
    }

    /// A folder id's mailbox and folder key; each distinct id is decoded once (a client names the same folders in
    /// every request of a `$batch`).
    static func parseFolder(_ id: String) -> (mailbox: String, key: String)? {
        folderMemo(id)
    }

    private static let folderMemo = TextMemo(limit: 256) { id in Identifier.parseFolderId(id) }

    /// `changeKey` and the `@odata.etag` made from it.
    static func changeKey(_ change: UInt64) -> String { Identifier.changeKey(change) }
    static func etag(_ change: UInt64) -> String { "W/\"" + changeKey(change) + "\"" }
}

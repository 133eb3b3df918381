import Foundation

/// Opaque EWS identifiers. An ItemId is base64 of a tag, the item number and the mailbox address, so a
/// client can route with it and the simulator can tell a malformed id from an unknown one. ChangeKeys
/// are base64 of a server-wide, monotonic change number.
enum Identifier {
    private static let itemTag: [UInt8] = [0x41, 0x41, 0x4D, 0x6B, 0x01]  // "AAMk\u{1}"
    private static let folderTag: [UInt8] = [0x41, 0x41, 0x4D, 0x6B, 0x02]
    private static let changeTag: [UInt8] = [0x43, 0x51, 0x41, 0x41]  // "CQAA"

    static func itemId(mailbox: String, number: UInt64) -> String {
        var b = itemTag
        withUnsafeBytes(of: number.bigEndian) { b.append(contentsOf: $0) }
        b.append(contentsOf: mailbox.lowercased().utf8)
        return Data(b).base64EncodedString()
    }

    /// Decodes an ItemId; `nil` when it is not one of ours (Exchange: ErrorInvalidIdMalformed).
    static func parseItemId(_ id: String) -> (mailbox: String, number: UInt64)? {
        guard let d = Data(base64Encoded: id), d.count > 13, Array(d.prefix(5)) == itemTag else { return nil }
        var n: UInt64 = 0
        for byte in d.dropFirst(5).prefix(8) { n = n << 8 | UInt64(byte) }
        guard let mailbox = String(data: d.dropFirst(13), encoding: .utf8) else { return nil }
        return (mailbox, n)
    }

    static func folderId(mailbox: String, key: String) -> String {
        var b = folderTag
        b.append(contentsOf: key.utf8); b.append(0)
        b.append(contentsOf: mailbox.lowercased().utf8)
        return Data(b).base64EncodedString()
    }

    static func parseFolderId(_ id: String) -> (mailbox: String, key: String)? {
        guard let d = Data(base64Encoded: id), d.count > 6, Array(d.prefix(5)) == folderTag else { return nil }
        let rest = Array(d.dropFirst(5))
        guard let z = rest.firstIndex(of: 0),
            let key = String(bytes: rest[..<z], encoding: .utf8),
            let mailbox = String(bytes: rest[(z + 1)...], encoding: .utf8)
        else { return nil }
        return (mailbox, key)
    }

    static func changeKey(_ change: UInt64) -> String {
        var b = changeTag
        withUnsafeBytes(of: change.bigEndian) { b.append(contentsOf: $0) }
        return Data(b).base64EncodedString()
    }

    static func parseChangeKey(_ key: String) -> UInt64? {
        guard let d = Data(base64Encoded: key), d.count == 12, Array(d.prefix(4)) == changeTag else { return nil }
        return d.dropFirst(4).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Opaque sync state: mailbox epoch, folder key and mailbox sequence.
    static func syncState(epoch: UInt32, folder: String, seq: UInt64) -> String {
        var b: [UInt8] = [0x53, 0x59, 0x4E, 0x01]
        withUnsafeBytes(of: epoch.bigEndian) { b.append(contentsOf: $0) }
        withUnsafeBytes(of: seq.bigEndian) { b.append(contentsOf: $0) }
        b.append(contentsOf: folder.utf8)
        return Data(b).base64EncodedString()
    }

    static func parseSyncState(_ s: String) -> (epoch: UInt32, folder: String, seq: UInt64)? {
        guard let d = Data(base64Encoded: s), d.count >= 16, Array(d.prefix(4)) == [0x53, 0x59, 0x4E, 0x01] else {
            return nil
        }
        let a = Array(d)
        let epoch = a[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let seq = a[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let folder = String(bytes: a[16...], encoding: .utf8) else { return nil }
        return (epoch, folder, seq)
    }
}

import Foundation
import Synchronization

/// Opaque EWS identifiers, shaped as Exchange's: base64 of a binary id that starts 0x00 0x03, the length (36, 16-bit
/// little-endian) and text of the mailbox's GUID, then an entry id (0x00, its length 0x46, flags, the store's and
/// the database's GUIDs) whose last part is the simulator's own: a kind byte, the item number (or folder key, or
/// master and original start) and the mailbox address, so a client can route with it and the simulator can tell a
/// malformed id from an unknown one, then zero bytes up to Exchange's length. An id reads `AAMkA…`, 152 characters
/// (more for a long address), as Exchange's do. Ids of the earlier form (`QUFNaw…`, the tag "AAMk" and the same
/// payload) are still read. ChangeKeys are base64 of a server-wide, monotonic change number.
///
/// Ids are written and read by the thousand per request, so the parts that are the same for every id of a mailbox
/// (the 84-byte prefix, and for items the address after the 9 bytes of kind and number) are encoded once per
/// mailbox, and ids are encoded and decoded on bytes, without Data.
enum Identifier {
    private static let itemTag: [UInt8] = [0x41, 0x41, 0x4D, 0x6B, 0x01]  // "AAMk\u{1}" (the earlier form)
    private static let folderTag: [UInt8] = [0x41, 0x41, 0x4D, 0x6B, 0x02]
    private static let changeTag: [UInt8] = [0x43, 0x51, 0x41, 0x41]  // "CQAA"

    enum Kind: UInt8 { case item = 1, folder = 2, occurrence = 3 }

    /// The entry id's fixed part after the mailbox GUID: 0x00, length, flags, store GUID, database GUID (44 bytes,
    /// so that the id's first 84 bytes, the same for every id of a mailbox, encode to 112 base64 characters alone).
    private static let entryHeader: [UInt8] = [
        0x00, 0x46, 0x00, 0x00, 0x00, 0x00, 0x8E, 0x3A, 0x41, 0x5C, 0x90, 0x1B, 0x4A, 0x52, 0xB6, 0x25, 0x6C, 0x0D,
        0x17, 0x3E, 0x5F, 0x21, 0x07, 0x00, 0x5B, 0x2F, 0xA4, 0x66, 0x0C, 0x31, 0x43, 0x2E, 0x9D, 0x57, 0x88, 0x12,
        0xE0, 0x64, 0x3B, 0xC9, 0x00, 0x00, 0x01, 0x00,
    ]
    static let prefixCharacters = 112
    /// Exchange's ids are 114 bytes (152 characters); shorter ones are padded with zero bytes after the address
    /// (clients such as DavMail recognise an id by a length of at least 140 characters).
    static let minimumBytes = 114

    /// What every id of one mailbox shares, in both alphabets (EWS's and Graph's URL-safe one).
    /// (A class: copied out of the cache for every id, one reference to retain rather than five.)
    final class MailboxParts: Sendable {
        /// The lower-cased address.
        let address: String
        /// The base64 of the 84-byte prefix.
        let prefix: [UInt8]
        let urlSafePrefix: [UInt8]
        /// The base64 of the address (padded), which follows the 12 characters of an item's kind and number.
        let itemAddress: [UInt8]
        let urlSafeItemAddress: [UInt8]
        /// The ids of the folders asked for, by folder key.
        let folderIds = Mutex<[String: (standard: String, urlSafe: String)]>([:])

        init(
            address: String, prefix: [UInt8], urlSafePrefix: [UInt8], itemAddress: [UInt8], urlSafeItemAddress: [UInt8]
        ) {
            self.address = address
            self.prefix = prefix
            self.urlSafePrefix = urlSafePrefix
            self.itemAddress = itemAddress
            self.urlSafeItemAddress = urlSafeItemAddress
        }

        /// Whether `head` (the first 112 characters of an id) is this mailbox's prefix, in either alphabet.
        func isPrefix(_ head: UnsafeBufferPointer<UInt8>) -> Bool {
            func same(_ a: [UInt8]) -> Bool {
                a.withUnsafeBufferPointer { memcmp($0.baseAddress!, head.baseAddress!, prefixCharacters) == 0 }
            }
            return head.count == prefixCharacters && (same(prefix) || same(urlSafePrefix))
        }
    }

    private static let cache = Mutex<[String: MailboxParts]>([:])

    /// The shared parts of `mailbox`'s ids (as given, or lower-cased: both are cached).
    static func parts(_ mailbox: String) -> MailboxParts {
        if let p = cache.withLock({ $0[mailbox] }) { return p }
        let address = mailbox.lowercased()
        var b: [UInt8] = [0x00, 0x03, 0x24, 0x00]
        let hex = Array("0123456789abcdef".utf8)
        for (i, byte) in GraphIdentifier.userGuid(address).enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { b.append(UInt8(ascii: "-")) }
            b.append(hex[Int(byte >> 4)])
            b.append(hex[Int(byte & 15)])
        }
        b.append(contentsOf: entryHeader)
        let p = MailboxParts(
            address: address, prefix: Base64.encode(b), urlSafePrefix: Base64.encode(b, urlSafe: true),
            itemAddress: Base64.encode(padded(Array(address.utf8), after: 84 + 9)),
            urlSafeItemAddress: Base64.encode(padded(Array(address.utf8), after: 84 + 9), urlSafe: true))
        cache.withLock { d in
            if d.count > 10_000 { d.removeAll() }
            d[mailbox] = p
            d[address] = p
        }
        return p
    }

    /// `tail` with zero bytes added so that `head` bytes and it make at least `minimumBytes`.
    private static func padded(_ tail: [UInt8], after head: Int) -> [UInt8] {
        tail + [UInt8](repeating: 0, count: max(0, minimumBytes - head - tail.count))
    }

    /// An id of `kind` in Exchange's shape; `payload` is the kind's own part.
    static func make(_ kind: Kind, mailbox: String, payload: [UInt8], urlSafe: Bool = false) -> String {
        let p = parts(mailbox)
        var tail: [UInt8] = [kind.rawValue]
        tail.reserveCapacity(1 + payload.count + p.address.utf8.count)
        tail.append(contentsOf: payload)
        tail.append(contentsOf: p.address.utf8)
        var out = urlSafe ? p.urlSafePrefix : p.prefix
        Base64.encode(padded(tail, after: 84), urlSafe: urlSafe, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The kind, payload and mailbox of an id in Exchange's shape (in either alphabet), or of one in the earlier
    /// form; nil when neither. `payloadLength` is the kind's fixed payload length (nil: up to a 0 byte, included).
    static func read(_ id: String, _ kind: Kind, payloadLength: Int?) -> (payload: [UInt8], mailbox: String)? {
        guard let (a, end, mailbox) = decode(id, kind, payloadLength: payloadLength) else { return nil }
        return (Array(a[1..<end]), mailbox)
    }

    /// The decoded tail of an id (kind byte first), where its payload ends, and its mailbox.
    private static func decode(_ id: String, _ kind: Kind, payloadLength: Int?) -> ([UInt8], Int, String)? {
        var id = id
        return id.withUTF8 { utf8 -> ([UInt8], Int, String)? in
            guard utf8.count > prefixCharacters, utf8.starts(with: "AAMkA".utf8) else {
                return readEarlier(Array(utf8), kind, payloadLength: payloadLength)
            }
            let tail = UnsafeBufferPointer(rebasing: utf8[prefixCharacters...])
            guard let a = Base64.decode(tail), a.count > 1, a[0] == kind.rawValue,
                let (end, mailbox) = payloadEnd(a, payloadLength: payloadLength)
            else { return nil }
            guard parts(mailbox).isPrefix(UnsafeBufferPointer(rebasing: utf8[..<prefixCharacters])) else {
                return nil
            }
            return (a, end, mailbox)
        }
    }

    /// The earlier form: base64 of "AAMk", the kind, the payload and the address.
    /// (As `decode`, the tag left out so that the kind byte comes first.)
    private static func readEarlier(_ text: [UInt8], _ kind: Kind, payloadLength: Int?) -> ([UInt8], Int, String)? {
        guard let d = Base64.decode(text), d.count > 5, d[0..<4].elementsEqual(itemTag[0..<4]) else { return nil }
        let a = Array(d[4...])
        guard a[0] == kind.rawValue, let (end, mailbox) = payloadEnd(a, payloadLength: payloadLength) else {
            return nil
        }
        return (a, end, mailbox)
    }

    /// Where the payload after the kind byte of `a` ends, and the address after it (the zero padding dropped).
    private static func payloadEnd(_ a: [UInt8], payloadLength: Int?) -> (Int, String)? {
        let end: Int
        if let payloadLength {
            end = 1 + payloadLength
        } else {
            guard let z = a[1...].firstIndex(of: 0) else { return nil }
            end = z + 1
        }
        var last = a.count
        while last > end, a[last - 1] == 0 { last -= 1 }
        guard end < last, let mailbox = String(validating: a[end..<last], as: UTF8.self) else { return nil }
        return (end, mailbox)
    }

    /// An item's id: the mailbox's cached prefix and address around the 12 characters of kind and number.
    static func itemId(mailbox: String, number: UInt64, urlSafe: Bool = false) -> String {
        let p = parts(mailbox)
        var out = urlSafe ? p.urlSafePrefix : p.prefix
        out.reserveCapacity(out.count + 12 + p.itemAddress.count)
        // Kind and number are 9 bytes: three groups of three, four characters each.
        let alphabet = urlSafe ? Base64.urlSafe : Base64.standard
        let high = UInt32(Kind.item.rawValue) << 16 | UInt32(truncatingIfNeeded: number >> 48)
        for group in [
            high, UInt32(truncatingIfNeeded: number >> 24) & 0xFF_FFFF, UInt32(truncatingIfNeeded: number) & 0xFF_FFFF,
        ] {
            out.append(alphabet[Int(group >> 18)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(alphabet[Int(group >> 6 & 63)])
            out.append(alphabet[Int(group & 63)])
        }
        out.append(contentsOf: urlSafe ? p.urlSafeItemAddress : p.itemAddress)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes an ItemId; `nil` when it is not one of ours (Exchange: ErrorInvalidIdMalformed).
    static func parseItemId(_ id: String) -> (mailbox: String, number: UInt64)? {
        guard let (a, _, mailbox) = decode(id, .item, payloadLength: 8) else { return nil }
        return (mailbox, a[1..<9].reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// A folder's id (every item of a Graph page names its folder: the few of a mailbox are kept once made).
    static func folderId(mailbox: String, key: String, urlSafe: Bool = false) -> String {
        let p = parts(mailbox)
        if let ids = p.folderIds.withLock({ $0[key] }) { return urlSafe ? ids.urlSafe : ids.standard }
        let payload = Array(key.utf8) + [0]
        let ids = (
            standard: make(.folder, mailbox: mailbox, payload: payload),
            urlSafe: make(.folder, mailbox: mailbox, payload: payload, urlSafe: true)
        )
        p.folderIds.withLock { d in
            if d.count > 1_000 { d.removeAll() }
            d[key] = ids
        }
        return urlSafe ? ids.urlSafe : ids.standard
    }

    static func parseFolderId(_ id: String) -> (mailbox: String, key: String)? {
        guard let r = read(id, .folder, payloadLength: nil),
            let key = String(validating: r.payload.dropLast(), as: UTF8.self)
        else { return nil }
        return (r.mailbox, key)
    }

    static func changeKey(_ change: UInt64) -> String {
        var b = changeTag
        withUnsafeBytes(of: change.bigEndian) { b.append(contentsOf: $0) }
        return String(decoding: Base64.encode(b), as: UTF8.self)
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

/// Base64 (RFC 4648) on bytes, in the standard alphabet or Exchange's URL-safe form of it (REST ids: `_` for `+`,
/// `-` for `/`), with padding. Decoding
/// takes either alphabet, and refuses anything else (characters outside it, a wrong length, bits after the end).
enum Base64 {
    static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".utf8)
    /// Each byte's 6-bit value, 0xFF for none.
    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in standard.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "_"))] = 62
        t[Int(UInt8(ascii: "-"))] = 63
        return t
    }()

    static func encode(_ bytes: [UInt8], urlSafe: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        encode(bytes, urlSafe: urlSafe, into: &out)
        return out
    }

    static func encode(_ bytes: [UInt8], urlSafe: Bool = false, into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { encode($0, urlSafe: urlSafe, into: &out) }
    }

    static func encode(_ b: UnsafeBufferPointer<UInt8>, urlSafe: Bool, into out: inout [UInt8]) {
        let alphabet = urlSafe ? Self.urlSafe : Self.standard
        var i = 0
        while i + 3 <= b.count {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = b.count - i
        if rest > 0 {
            let v = UInt32(b[i]) << 16 | (rest == 2 ? UInt32(b[i + 1]) << 8 : 0)
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }

    static func decode(_ text: [UInt8]) -> [UInt8]? { text.withUnsafeBufferPointer { decode($0) } }

    static func decode(_ t: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard t.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(t.count / 4 * 3)
        var i = 0
        while i < t.count {
            let a = values[Int(t[i])], b = values[Int(t[i + 1])]
            guard a != 0xFF, b != 0xFF else { return nil }
            let last = i + 4 == t.count
            let pad = last ? (t[i + 3] == UInt8(ascii: "=") ? (t[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            let c = pad >= 2 ? 0 : values[Int(t[i + 2])], d = pad >= 1 ? 0 : values[Int(t[i + 3])]
            guard c != 0xFF, d != 0xFF else { return nil }
            let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out.append(UInt8(v >> 16))
            if pad == 2 {
                guard v & 0xFFFF == 0 else { return nil }
            } else {
                out.append(UInt8(v >> 8 & 0xFF))
                if pad == 1 {
                    guard v & 0xFF == 0 else { return nil }
                } else {
                    out.append(UInt8(v & 0xFF))
                }
            }
            i += 4
        }
        return out
    }
}

import Foundation
import SyncCore

/// Why a Graph item cannot be read as a CRM record (the field, never its value).
struct GraphMappingProblem: Error, Sendable { var what: String }

/// One CRM column (or group of columns) and the Graph properties it travels in.
struct GraphFieldRule<Record>: Sendable {
    /// The CRM column, as ``RecordDifference`` names it.
    var column: String
    /// The Graph properties read (for `$select`).
    var properties: [String]
    /// Sets the record's field from the Graph item.
    var read: @Sendable (_ item: GraphJSON, _ record: inout Record) throws(GraphMappingProblem) -> Void
    /// The Graph properties the field writes (an empty list writes nothing: the field is read-only in Graph).
    var write: @Sendable (_ record: Record) throws(GraphMappingProblem) -> [(String, GraphJSON)]
}

/// A kind's table: its rules, how a record starts out before they are applied, and the CRM id stamp.
struct GraphMapping<Record>: Sendable {
    var rules: [GraphFieldRule<Record>]
    var makeRecord: @Sendable (_ crmID: UUID?, _ lastModified: Date?) -> Record

    /// Every property the table reads, for `$select` (with the id, change key and modification time).
    var select: [String] {
        var seen = Set<String>()
        return (["id", "lastModifiedDateTime"] + rules.flatMap(\.properties)).filter { seen.insert($0).inserted }
    }

    /// The record an item stands for.
    func record(of item: GraphJSON, crmID: UUID?) throws(GraphMappingProblem) -> Record {
        var record = makeRecord(crmID, GraphDates.offsetDateTime(item["lastModifiedDateTime"]))
        for rule in rules { try rule.read(item, &record) }
        return record
    }

    /// The body of a create (every field) or of an update (the fields whose written form differs from `previous`).
    func body(_ record: Record, previous: Record?) throws(GraphMappingProblem) -> GraphJSON.Members {
        // Room for every property and the few a create adds (stamps, links), so that the body never grows.
        var body = GraphJSON.Members(minimumCapacity: rules.count * 2)
        for rule in rules {
            let written = try rule.write(record)
            if let previous {
                let before = try rule.write(previous)
                if before.map(\.0) == written.map(\.0), zip(before, written).allSatisfy({ $0.1 == $1.1 }) { continue }
            }
            for (name, value) in written { body[name] = value }
        }
        return body
    }
}

extension GraphFieldRule {
    /// A text property; "" and absent read as nil.
    static func text(
        _ column: String, _ property: String, _ keyPath: any WritableKeyPath<Record, String?> & Sendable
    ) -> Self {
        Self(
            column: column, properties: [property],
            read: { item, record throws(GraphMappingProblem) in
                let value = item[property]
                guard let value, !value.isNull else { record[keyPath: keyPath] = nil; return }
                guard let text = value.string else { throw GraphMappingProblem(what: "\(property) is not text") }
                record[keyPath: keyPath] = text.isEmpty ? nil : text
            },
            write: { record in [(property, .text(record[keyPath: keyPath]))] })
    }

    /// A text property the item must have.
    static func requiredText(
        _ column: String, _ property: String, _ keyPath: any WritableKeyPath<Record, String> & Sendable
    ) -> Self {
        Self(
            column: column, properties: [property],
            read: { item, record throws(GraphMappingProblem) in
                guard let text = item[property]?.string else {
                    throw GraphMappingProblem(what: "\(property) missing or not text")
                }
                record[keyPath: keyPath] = text
            },
            write: { record in [(property, .string(record[keyPath: keyPath]))] })
    }

    /// `categories`.
    static func categories(_ keyPath: any WritableKeyPath<Record, [String]> & Sendable) -> Self {
        Self(
            column: "categories", properties: ["categories"],
            read: { item, record throws(GraphMappingProblem) in
                guard let value = item["categories"], !value.isNull else { record[keyPath: keyPath] = []; return }
                guard let list = value.array else { throw GraphMappingProblem(what: "categories is not a list") }
                record[keyPath: keyPath] = list.compactMap(\.string)
            },
            write: { record in [("categories", .array(record[keyPath: keyPath].map(GraphJSON.string)))] })
    }

    /// A text body (`itemBody`), or a plain text property when `property` is not `body`.
    static func body(_ column: String, _ keyPath: any WritableKeyPath<Record, String?> & Sendable) -> Self {
        Self(
            column: column, properties: ["body"],
            read: { item, record throws(GraphMappingProblem) in
                guard let body = item["body"], !body.isNull else { record[keyPath: keyPath] = nil; return }
                guard let content = body["content"], let text = content.isNull ? "" : content.string else {
                    throw GraphMappingProblem(what: "body is not an itemBody")
                }
                record[keyPath: keyPath] =
                    text.isEmpty
                    ? nil : (body["contentType"]?.string == "html" ? GraphMapping<Record>.plainText(html: text) : text)
            },
            write: { record in [("body", ["contentType": "text", "content": .string(record[keyPath: keyPath] ?? "")])] }
        )
    }
}

extension GraphMapping {
    /// The text of an HTML body (tags dropped, the common entities decoded); snapsync writes text bodies.
    static func plainText(html: String) -> String {
        var out = "", inTag = false
        for c in html {
            if c == "<" { inTag = true; continue }
            if c == ">" { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&amp;", with: "&").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension String {
    /// Equal but for case (Graph compares property ids, extension names and addresses so): ASCII text byte by
    /// byte, any other through lowercasing.
    func equalsIgnoringCase(_ other: String) -> Bool {
        var a = self, b = other
        let ascii: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.allSatisfy({ $0 < 0x80 }), y.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard x.count == y.count else { return false }
                for (p, q) in zip(x, y) {
                    let lp = p >= 0x41 && p <= 0x5A ? p | 0x20 : p, lq = q >= 0x41 && q <= 0x5A ? q | 0x20 : q
                    if lp != lq { return false }
                }
                return true
            }
        }
        return ascii ?? (lowercased() == other.lowercased())
    }
}

/// An SQL identifier (table, column, schema), quoted for inclusion in SQL text. This is the only way
/// identifiers reach SQL text in snapsync; values always go as bound parameters.
public struct PostgresIdentifier: Sendable, Hashable, CustomStringConvertible {
    /// The quoted SQL text, e.g. `"crm"."contacts"`.
    public let description: String

    /// One identifier, e.g. a column or an unqualified (temporary) table.
    public init(_ name: String) {
        description = Self.quote(name)
    }

    /// A schema-qualified name.
    public init(schema: String, _ name: String) {
        description = Self.quote(schema) + "." + Self.quote(name)
    }

    /// Double-quotes `name`, doubling embedded quotes. NUL cannot occur in PostgreSQL identifiers and is dropped.
    public static func quote(_ name: String) -> String {
        var quoted = "\""
        for character in name.unicodeScalars where character != "\0" {
            if character == "\"" { quoted += "\"\"" } else { quoted.unicodeScalars.append(character) }
        }
        return quoted + "\""
    }
}

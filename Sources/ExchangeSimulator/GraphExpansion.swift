import Foundation

/// A request's `$expand`, split into its top-level parts once per distinct text (every request of a client carries
/// the same one). What a part's options mean is checked where the part is used, with the errors kept here until then.
struct GraphExpansion: Sendable {
    struct Part: Sendable {
        /// The part as written, trimmed (`singleValueExtendedProperties($filter=id eq '…')`).
        var text: String
        /// The property it expands (the text before any `(`).
        var name: String
        /// The ids of an `($filter=id eq '…' or id eq '…')` option; nil without options, the 400 for other options.
        var filterIds: Result<Set<String>?, GraphError>
        /// The stored keys of `filterIds` read as extended-property ids (those that parse); nil without a filter.
        var extendedKeys: Set<String>?
    }

    var parts: [Part]

    static let memo = TextMemo { GraphExpansion(parsing: $0) }

    /// The parsed form of `text`, from the memo.
    static func parsed(_ text: String) -> GraphExpansion { memo(text) }

    init(parsing text: String) {
        parts = GraphFilter.splitTopLevel(text, ",").map { raw in
            let p = raw.trimmingCharacters(in: .whitespaces)
            let name = String(p.prefix { $0 != "(" })
            var ids: Result<Set<String>?, GraphError> = .success(nil)
            if let open = p.firstIndex(of: "(") {
                let inner = String(p[p.index(after: open)..<(p.lastIndex(of: ")") ?? p.endIndex)])
                if inner.lowercased().hasPrefix("$filter=") {
                    ids = Result { () throws(GraphError) in try GraphFilter.extendedIds(String(inner.dropFirst(8))) }
                } else {
                    ids = .failure(GraphError.notSupported("The expand option '\(p)'"))
                }
            }
            let keys = (try? ids.get())?.map { Set($0.compactMap { GraphExtendedProperty.parse($0)?.key }) }
            return Part(text: p, name: name, filterIds: ids, extendedKeys: keys)
        }
    }
}

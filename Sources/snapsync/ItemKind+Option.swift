import ArgumentParser
import SyncCore

extension ItemKind {
    /// The kinds named by repeated `--kind` options; all when none is given.
    static func parse(options names: [String]) throws -> [ItemKind] {
        guard !names.isEmpty else { return allCases }
        return try names.map { name in
            guard let kind = ItemKind(rawValue: name.lowercased()) else {
                throw ValidationError("--kind must be contacts, appointments or tasks, not \(name)")
            }
            return kind
        }
    }
}

extension GraphJSON {
    /// An object's members in the order they were written or read, each name once. A name is found by a linear
    /// search: Graph's objects have tens of members at most, and comparing short names costs less than hashing them.
    /// Two objects are equal when they have the same members, in any order.
    public struct Members: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
        public typealias Element = (key: String, value: GraphJSON)
        private var names: [String] = []
        private var values: [GraphJSON] = []

        public init() {}

        public init(minimumCapacity: Int) {
            names.reserveCapacity(minimumCapacity)
            values.reserveCapacity(minimumCapacity)
        }

        /// Members in order; of a repeated name, the last value is kept, in the place of the first.
        public init(_ members: some Sequence<(String, GraphJSON)>) {
            for (name, value) in members { self[name] = value }
        }

        /// A dictionary's members, in name order (a dictionary has no order of its own).
        public init(_ dictionary: [String: GraphJSON]) {
            self.init(dictionary.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        }

        public init(dictionaryLiteral elements: (String, GraphJSON)...) { self.init(elements) }

        /// Members whose names are known to be distinct (the parser's, after its check).
        init(distinctNames names: [String], values: [GraphJSON]) {
            self.names = names
            self.values = values
        }

        public var startIndex: Int { 0 }
        public var endIndex: Int { names.count }
        public subscript(position: Int) -> Element { (names[position], values[position]) }

        /// The value of a name; setting nil removes the member, setting a new name appends it.
        public subscript(name: String) -> GraphJSON? {
            get { names.firstIndex(of: name).map { values[$0] } }
            set {
                if let index = names.firstIndex(of: name) {
                    if let newValue {
                        values[index] = newValue
                    } else {
                        names.remove(at: index)
                        values.remove(at: index)
                    }
                } else if let newValue {
                    names.append(name)
                    values.append(newValue)
                }
            }
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            guard lhs.count == rhs.count else { return false }
            for (name, value) in lhs where rhs[name] != value { return false }
            return true
        }

        public func hash(into hasher: inout Hasher) {
            // Independent of the order: the members' own hashes combined by a commutative sum.
            var sum = 0
            for (name, value) in self {
                var member = Hasher()
                member.combine(name)
                member.combine(value)
                sum = sum &+ member.finalize()
            }
            hasher.combine(count)
            hasher.combine(sum)
        }
    }
}

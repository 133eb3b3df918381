import SyncCore

/// A CRM recurrence rule (RFC 5545 RRULE) ⇄ Graph's `patternedRecurrence`, for the rules Exchange can hold.
enum GraphRecurrence {
    static let days: [RecurrenceRule.Weekday: String] = [
        .monday: "monday", .tuesday: "tuesday", .wednesday: "wednesday", .thursday: "thursday", .friday: "friday",
        .saturday: "saturday", .sunday: "sunday",
    ]
    static let weekdays: [String: RecurrenceRule.Weekday] = Dictionary(uniqueKeysWithValues: days.map { ($1, $0) })
    static let indexes: [Int: String] = [1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"]

    struct Unsupported: Error { var reason: String }

    /// The `patternedRecurrence` of a rule for a series starting on `start` (its time zone `zone`).
    static func json(_ rule: RecurrenceRule, start: LocalDate, zone: String?) throws(Unsupported) -> GraphJSON {
        var pattern: GraphJSON.Members = [
            "interval": .number(Double(rule.interval)), "month": 0, "dayOfMonth": 0,
            "firstDayOfWeek": "sunday", "index": "first", "daysOfWeek": [],
        ]
        func relative() throws(Unsupported) -> Bool {
            if rule.byDay.isEmpty { return false }
            if rule.byDay.count == 1, let ordinal = rule.byDay[0].ordinal, rule.bySetPosition == nil,
                let index = indexes[ordinal]
            {
                pattern["daysOfWeek"] = [.string(days[rule.byDay[0].weekday]!)]
                pattern["index"] = .string(index)
                return true
            }
            guard let position = rule.bySetPosition, rule.byDay.allSatisfy({ $0.ordinal == nil }),
                let index = indexes[position]
            else {
                throw Unsupported(reason: "BYDAY combination")
            }
            pattern["daysOfWeek"] = .array(rule.byDay.map { .string(days[$0.weekday]!) })
            pattern["index"] = .string(index)
            return true
        }
        func single(_ values: [Int], default value: Int) throws(Unsupported) -> Int {
            guard values.count <= 1 else { throw Unsupported(reason: "several BY values") }
            guard let first = values.first else { return value }
            guard first > 0 else { throw Unsupported(reason: "negative BY value") }
            return first
        }
        switch rule.frequency {
        case .daily:
            guard rule.byDay.isEmpty, rule.byMonthDay.isEmpty, rule.byMonth.isEmpty else {
                throw Unsupported(reason: "BY parts on DAILY")
            }
            pattern["type"] = "daily"
        case .weekly:
            guard rule.byDay.allSatisfy({ $0.ordinal == nil }), rule.byMonthDay.isEmpty, rule.byMonth.isEmpty else {
                throw Unsupported(reason: "BY parts on WEEKLY")
            }
            let weekdays =
                rule.byDay.isEmpty ? [RecurrenceRule.Weekday.allCases[start.isoWeekday - 1]] : rule.byDay.map(\.weekday)
            pattern["type"] = "weekly"
            pattern["daysOfWeek"] = .array(weekdays.map { .string(days[$0]!) })
            pattern["firstDayOfWeek"] = .string(days[rule.weekStart ?? .sunday]!)
        case .monthly:
            guard rule.byMonth.isEmpty else { throw Unsupported(reason: "BYMONTH on MONTHLY") }
            if try relative() {
                guard rule.byMonthDay.isEmpty else { throw Unsupported(reason: "BYDAY with BYMONTHDAY") }
                pattern["type"] = "relativeMonthly"
            } else {
                pattern["type"] = "absoluteMonthly"
                pattern["dayOfMonth"] = .number(Double(try single(rule.byMonthDay, default: start.day)))
            }
        case .yearly:
            guard rule.interval == 1 else { throw Unsupported(reason: "INTERVAL on YEARLY") }
            pattern["month"] = .number(Double(try single(rule.byMonth, default: start.month)))
            if try relative() {
                guard rule.byMonthDay.isEmpty else { throw Unsupported(reason: "BYDAY with BYMONTHDAY") }
                pattern["type"] = "relativeYearly"
            } else {
                pattern["type"] = "absoluteYearly"
                pattern["dayOfMonth"] = .number(Double(try single(rule.byMonthDay, default: start.day)))
            }
        }
        var range: GraphJSON.Members = [
            "startDate": .string(start.description), "endDate": "0001-01-01",
            "numberOfOccurrences": 0, "recurrenceTimeZone": .string(zone ?? "UTC"),
        ]
        switch rule.end {
        case .never: range["type"] = "noEnd"
        case .count(let n): range["type"] = "numbered"; range["numberOfOccurrences"] = .number(Double(n))
        case .until(let end): range["type"] = "endDate"; range["endDate"] = .string(end.description)
        }
        return ["pattern": .object(pattern), "range": .object(range)]
    }

    /// The rule of a `patternedRecurrence`; nil for null.
    static func rule(_ value: GraphJSON?) throws(Unsupported) -> RecurrenceRule? {
        guard let value, !value.isNull else { return nil }
        guard let pattern = value["pattern"], let range = value["range"], let type = pattern["type"]?.string else {
            throw Unsupported(reason: "recurrence without pattern or range")
        }
        var rule = RecurrenceRule(frequency: .daily, interval: max(pattern["interval"]?.int ?? 1, 1))
        let daysOfWeek = (pattern["daysOfWeek"]?.array ?? []).compactMap { $0.string.flatMap { weekdays[$0] } }
        func relative() {
            let ordinal = indexes.first { $0.value == pattern["index"]?.string }?.key ?? 1
            if daysOfWeek.count == 1 {
                rule.byDay = [.init(daysOfWeek[0], ordinal: ordinal)]
            } else {
                rule.byDay = daysOfWeek.map { .init($0) }
                rule.bySetPosition = ordinal
            }
        }
        switch type {
        case "daily": rule.frequency = .daily
        case "weekly":
            rule.frequency = .weekly
            rule.byDay = daysOfWeek.map { .init($0) }
            let first = pattern["firstDayOfWeek"]?.string.flatMap { weekdays[$0] }
            rule.weekStart = first == .sunday ? nil : first
        case "absoluteMonthly":
            rule.frequency = .monthly
            rule.byMonthDay = [pattern["dayOfMonth"]?.int ?? 1]
        case "relativeMonthly":
            rule.frequency = .monthly
            relative()
        case "absoluteYearly":
            rule.frequency = .yearly
            rule.interval = 1
            rule.byMonth = [pattern["month"]?.int ?? 1]
            rule.byMonthDay = [pattern["dayOfMonth"]?.int ?? 1]
        case "relativeYearly":
            rule.frequency = .yearly
            rule.interval = 1
            rule.byMonth = [pattern["month"]?.int ?? 1]
            relative()
        default: throw Unsupported(reason: "pattern type")
        }
        switch range["type"]?.string {
        case "noEnd": rule.end = .never
        case "numbered": rule.end = .count(range["numberOfOccurrences"]?.int ?? 1)
        case "endDate":
            guard let end = range["endDate"]?.string.flatMap(LocalDate.init) else {
                throw Unsupported(reason: "range endDate")
            }
            rule.end = .until(end)
        default: throw Unsupported(reason: "range type")
        }
        return rule
    }
}

extension RecurrenceRule {
    /// The rule as Exchange stores it for a series whose first day is `seriesStart`: what the rule
    /// leaves to the start is made explicit, and equivalent spellings get one form. Two rules describe
    /// the same series on Exchange when their normalized forms are equal.
    ///
    /// - WEEKLY without BYDAY repeats on the start's weekday; MONTHLY/YEARLY without BYDAY or BYMONTHDAY
    ///   repeat on the start's day of the month; YEARLY without BYMONTH in the start's month.
    /// - One weekday with BYSETPOS is that weekday with an ordinal (`BYDAY=FR;BYSETPOS=-1` is `-1FR`).
    /// - BYDAY, BYMONTHDAY and BYMONTH are sets (sorted, without repeats).
    /// - WKST is kept for WEEKLY only (Exchange has a first day of the week on weekly patterns only).
    public func normalized(seriesStart: LocalDate) -> RecurrenceRule {
        var rule = self
        switch frequency {
        case .daily:
            break
        case .weekly:
            if rule.byDay.isEmpty { rule.byDay = [WeekdayNumber(Weekday.allCases[seriesStart.isoWeekday - 1])] }
        case .monthly, .yearly:
            if frequency == .yearly, rule.byMonth.isEmpty { rule.byMonth = [seriesStart.month] }
            if rule.byDay.isEmpty, rule.byMonthDay.isEmpty { rule.byMonthDay = [seriesStart.day] }
        }
        if let position = rule.bySetPosition, rule.byDay.count == 1, rule.byDay[0].ordinal == nil {
            rule.byDay = [WeekdayNumber(rule.byDay[0].weekday, ordinal: position)]
            rule.bySetPosition = nil
        }
        if frequency != .weekly { rule.weekStart = nil }
        let order = Weekday.allCases
        rule.byDay = Array(Set(rule.byDay)).sorted {
            let (a, b) = (order.firstIndex(of: $0.weekday)!, order.firstIndex(of: $1.weekday)!)
            return a != b ? a < b : ($0.ordinal ?? 0) < ($1.ordinal ?? 0)
        }
        rule.byMonthDay = Array(Set(rule.byMonthDay)).sorted()
        rule.byMonth = Array(Set(rule.byMonth)).sorted()
        return rule
    }
}

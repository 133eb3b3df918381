extension RecurrenceRule {
    /// The days of the occurrences of the series whose first day is `seriesStart`, in order, as Exchange
    /// expands the pattern it stores for this rule (see ``normalized(seriesStart:)``):
    /// - occurrences are the pattern's days on or after `seriesStart` (a start day off the pattern is not
    ///   an occurrence, unlike RFC 5545's DTSTART);
    /// - WEEKLY weeks begin on WKST (Monday when absent), INTERVAL counts weeks from the start's week;
    /// - a BYMONTHDAY beyond the end of a month falls on the month's last day (Exchange's "day 31" is
    ///   the last day of shorter months);
    /// - COUNT and UNTIL end the series (UNTIL is the last day an occurrence may fall on).
    ///
    /// The sequence is lazy and may be endless (no COUNT or UNTIL); it ends when the rule matches no day
    /// for a thousand periods in a row.
    public func occurrenceDays(seriesStart: LocalDate) -> OccurrenceDays {
        OccurrenceDays(rule: normalized(seriesStart: seriesStart), start: seriesStart)
    }

    /// The 1-based position of the occurrence on `day` in the series whose first day is `seriesStart`
    /// (EWS `OccurrenceItemId/@InstanceIndex`), nil when the series has no occurrence that day. Deleted
    /// and moved occurrences keep their position: the index counts the pattern, not what is left of it.
    public func occurrenceIndex(of day: LocalDate, seriesStart: LocalDate) -> Int? {
        var index = 0
        for occurrence in occurrenceDays(seriesStart: seriesStart) {
            index += 1
            if occurrence == day { return index }
            if occurrence > day { return nil }
        }
        return nil
    }

    /// The occurrence days of a series, in order (see ``RecurrenceRule/occurrenceDays(seriesStart:)``).
    public struct OccurrenceDays: Sequence, IteratorProtocol, Sendable {
        let rule: RecurrenceRule
        let start: LocalDate
        private var period = 0
        private var emptyPeriods = 0
        private var produced = 0
        /// The current period's remaining days, latest first.
        private var pending: [LocalDate] = []
        private var finished = false

        init(rule: RecurrenceRule, start: LocalDate) {
            self.rule = rule
            self.start = start
        }

        public mutating func next() -> LocalDate? {
            while !finished {
                if let day = pending.popLast() {
                    switch rule.end {
                    case .count(let n) where produced >= n: finished = true; return nil
                    case .until(let last) where day > last: finished = true; return nil
                    default: break
                    }
                    produced += 1
                    return day
                }
                pending = days(inPeriod: period).filter { $0 >= start }.sorted(by: >)
                period += 1
                emptyPeriods = pending.isEmpty ? emptyPeriods + 1 : 0
                if emptyPeriods >= 1000 { finished = true }
            }
            return nil
        }

        /// The pattern's days in the `index`-th period (day, week, month or year) counted from the start's.
        private func days(inPeriod index: Int) -> [LocalDate] {
            let step = index * rule.interval
            switch rule.frequency {
            case .daily:
                return [LocalDate(daysSinceEpoch: start.daysSinceEpoch + step)]
            case .weekly:
                let weekStart = (rule.weekStart ?? .monday).isoNumber
                let firstWeek = start.daysSinceEpoch - (start.isoWeekday - weekStart + 7) % 7
                let week = firstWeek + 7 * step
                return rule.byDay.map { LocalDate(daysSinceEpoch: week + ($0.weekday.isoNumber - weekStart + 7) % 7) }
            case .monthly:
                let month = start.year * 12 + (start.month - 1) + step
                return days(year: month / 12, month: month % 12 + 1)
            case .yearly:
                return rule.byMonth.flatMap { days(year: start.year + step, month: $0) }
            }
        }

        /// The days of one month that BYMONTHDAY, BYDAY and BYSETPOS select.
        private func days(year: Int, month: Int) -> [LocalDate] {
            let length = LocalDate.daysInMonth(year: year, month: month)
            var selected = Set<Int>()
            for day in rule.byMonthDay {
                let resolved = day > 0 ? Swift.min(day, length) : length + 1 + day
                if resolved >= 1 { selected.insert(resolved) }
            }
            if !rule.byDay.isEmpty {
                let firstWeekday = LocalDate(year: year, month: month, day: 1)!.isoWeekday
                var weekdays = Set<Int>()
                for entry in rule.byDay {
                    let first = 1 + (entry.weekday.isoNumber - firstWeekday + 7) % 7
                    let all = Array(stride(from: first, through: length, by: 7))
                    switch entry.ordinal {
                    case nil: weekdays.formUnion(all)
                    case let n? where n > 0: if n <= all.count { weekdays.insert(all[n - 1]) }
                    case _: if let last = all.last { weekdays.insert(last) }
                    }
                }
                selected = rule.byMonthDay.isEmpty ? weekdays : selected.intersection(weekdays)
            }
            var ordered = selected.sorted()
            if let position = rule.bySetPosition {
                let index = position > 0 ? position - 1 : ordered.count + position
                ordered = ordered.indices.contains(index) ? [ordered[index]] : []
            }
            return ordered.map { LocalDate(year: year, month: month, day: $0)! }
        }
    }
}

extension RecurrenceRule.Weekday {
    /// 1 = Monday … 7 = Sunday (as ``LocalDate/isoWeekday``).
    var isoNumber: Int { Self.allCases.firstIndex(of: self)! + 1 }
}

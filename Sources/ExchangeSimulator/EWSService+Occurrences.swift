import Foundation

/// One occurrence of a recurring series, resolved from an `OccurrenceItemId` (master id and 1-based
/// InstanceIndex) or from an occurrence's own `ItemId`.
struct OccurrenceRef {
    var mailbox: String
    var master: StoredItem
    var index: Int
    /// Where the pattern puts the occurrence (epoch seconds), and the series' duration.
    var originalStart: Double
    var duration: Double
}

extension Identifier {
    /// The ItemId of an occurrence: its master's number and its original start, so it stays valid while
    /// the series' pattern does.
    static func occurrenceId(mailbox: String, master: UInt64, originalStart: Int64, urlSafe: Bool = false) -> String {
        var payload: [UInt8] = []
        withUnsafeBytes(of: master.bigEndian) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: originalStart.bigEndian) { payload.append(contentsOf: $0) }
        return make(.occurrence, mailbox: mailbox, payload: payload, urlSafe: urlSafe)
    }

    static func parseOccurrenceId(_ id: String) -> (mailbox: String, master: UInt64, originalStart: Int64)? {
        guard let r = read(id, .occurrence, payloadLength: 16) else { return nil }
        let master = r.payload[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let start = Int64(bitPattern: r.payload[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return (r.mailbox, master, start)
    }
}

/// Occurrences of recurring series (`OccurrenceItemId` in GetItem, UpdateItem and DeleteItem), kept on
/// the master as Exchange shows them: an updated occurrence becomes a `ModifiedOccurrences/Occurrence`
/// with its OriginalStart, a deleted one a `DeletedOccurrences/DeletedOccurrence`, and each change gives
/// the master a new ChangeKey (shared by the master and its occurrences). Properties an exception has of
/// its own (Subject, Location, …) are kept on the master in a hidden extended property no client can
/// name. Setting the master's Recurrence resets its occurrences, as in Exchange.
extension EWSService {
    /// The hidden extended property key prefix of an exception's own properties (per original start).
    static let occurrencePropertiesKey = "sim.occurrence:"
    /// The properties an occurrence may have of its own (simple values).
    static let occurrenceFields: Set<String> = [
        "Subject", "Sensitivity", "Importance", "ReminderIsSet", "ReminderMinutesBeforeStart", "Start", "End",
        "IsAllDayEvent", "LegacyFreeBusyStatus", "Location",
    ]
    /// Time zones of an occurrence's Start and End, accepted only with them.
    static let timeZoneFields: Set<String> = ["StartTimeZone", "EndTimeZone", "MeetingTimeZone"]
    /// Properties of the series master only.
    static let seriesFields = [
        "Recurrence", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence",
    ]

    /// Resolves an occurrence id element; nil for an id that is not an occurrence's (`lookupItem`'s).
    static func resolveOccurrence(_ e: XElement, in s: StoreState) throws(EWSFailure) -> OccurrenceRef? {
        let mailbox: String, number: UInt64
        var index: Int?, original: Int64?
        switch e.name {
        case "OccurrenceItemId":
            guard let masterId = e.attr("RecurringMasterId"), let p = Identifier.parseItemId(masterId) else {
                throw .idMalformed()
            }
            guard let i = e.attr("InstanceIndex").flatMap({ Int($0) }) else {
                throw .schemaValidation("OccurrenceItemId requires an integer InstanceIndex.")
            }
            (mailbox, number, index) = (p.mailbox, p.number, i)
        case "ItemId":
            guard let id = e.attr("Id"), let p = Identifier.parseOccurrenceId(id) else { return nil }
            (mailbox, number, original) = (p.mailbox, p.master, p.originalStart)
        default:
            return nil
        }
        guard let m = s.mailbox(mailbox), let folder = m.locations[number],
            let master = m.folders[folder]?.items[number]
        else {
            throw .itemNotFound()
        }
        let outOfRange = EWSFailure(
            code: "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            message: "The occurrence index is out of the recurrence range.")
        guard master.kind == .calendarItem, let recurrence = master.fields["Recurrence"] else { throw outOfRange }
        let pattern = try RecurrencePattern(recurrence)
        let start =
            master.fields["Start"].flatMap { FieldValue.parseDate($0.value) } ?? Double(pattern.startDay) * 86_400
        let end = master.fields["End"].flatMap { FieldValue.parseDate($0.value) } ?? start
        let timeOfDay = start - (start / 86_400).rounded(.down) * 86_400
        let day: Int
        if let index {
            guard let found = pattern.day(at: index) else { throw outOfRange }
            day = found
        } else {
            day = Int((Double(original!) / 86_400).rounded(.down))
            guard let found = pattern.index(ofDay: day) else { throw .itemNotFound() }
            index = found
        }
        let originalStart = Double(day) * 86_400 + timeOfDay
        if deletedStarts(master).contains(Int64(originalStart)) {
            throw EWSFailure(
                code: "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                message: "Occurrence is deleted from the recurrence.")
        }
        return OccurrenceRef(
            mailbox: m.address, master: master, index: index!, originalStart: originalStart, duration: end - start)
    }

    /// GetItem of an occurrence id; false (nothing written) for any other id.
    func getOccurrence(
        _ e: XElement, in s: StoreState, shape: ItemShape, into w: inout XMLWriter
    ) throws(EWSFailure) -> Bool {
        guard let occurrence = try Self.resolveOccurrence(e, in: s) else { return false }
        SOAPEnvelope.openSuccess(&w, "GetItem")
        w.open("m:Items")
        Self.writeOccurrence(&w, occurrence, shape: shape)
        w.close("m:Items")
        w.close("m:GetItemResponseMessage")
        return true
    }

    /// UpdateItem of an occurrence: it becomes (or stays) a modified occurrence of its series. False
    /// (nothing written) for any other id.
    func updateOccurrence(
        _ change: XElement, id e: XElement, in s: inout StoreState, resolution: String, now: Double,
        into w: inout XMLWriter
    ) throws(EWSFailure) -> Bool {
        guard let occurrence = try Self.resolveOccurrence(e, in: s) else { return false }
        let current = Self.occurrenceItem(occurrence)
        let (updated, conflicts) = try Self.applyUpdates(
            change.child("Updates")?.children ?? [], to: current,
            changeKey: e.attr("ChangeKey"), resolution: resolution)
        // Time zones may come with the times they qualify (exchangelib sends them with every Start/End); the times
        // are kept as instants, so the zones are not kept per occurrence.
        let movesTimes = updated.changed.contains("Start") || updated.changed.contains("End")
        if let field = updated.changed.first(where: {
            !Self.occurrenceFields.contains($0) && !(movesTimes && Self.timeZoneFields.contains($0))
        }) {
            throw EWSFailure(
                code: "ErrorInvalidPropertyForOperation",
                message: "The property \(field) cannot be set on an occurrence.")
        }
        guard updated.item.extended == current.extended else {
            throw EWSFailure(
                code: "ErrorInvalidPropertyForOperation", message: "Extended properties cannot be set on an occurrence."
            )
        }
        let stored = try Self.saveOccurrence(occurrence, updated: updated.item, in: &s, now: now)
        SOAPEnvelope.openSuccess(&w, "UpdateItem")
        w.open("m:Items")
        Self.writeOccurrence(&w, stored, shape: ItemShape())
        w.close("m:Items")
        w.open("m:ConflictResults"); w.leaf("t:Count", String(conflicts)); w.close("m:ConflictResults")
        w.close("m:UpdateItemResponseMessage")
        return true
    }

    /// DeleteItem of an occurrence: it becomes a deleted occurrence of its series (whatever the
    /// DeleteType). False (nothing written) for any other id.
    func deleteOccurrence(
        _ e: XElement, in s: inout StoreState, now: Double, into w: inout XMLWriter
    ) throws(EWSFailure) -> Bool {
        guard let occurrence = try Self.resolveOccurrence(e, in: s) else { return false }
        Self.cancelOccurrence(occurrence, in: &s, now: now)
        SOAPEnvelope.openSuccess(&w, "DeleteItem")
        w.close("m:DeleteItemResponseMessage")
        return true
    }

    /// Stores `updated` (the occurrence as an item: its times and the properties it has of its own) as a
    /// modified occurrence of its series; returns the occurrence with its master as now stored.
    static func saveOccurrence(
        _ occurrence: OccurrenceRef, updated: StoredItem, in s: inout StoreState,
        now: Double
    ) throws(EWSFailure) -> OccurrenceRef {
        let start = updated.fields["Start"].flatMap { FieldValue.parseDate($0.value) } ?? occurrence.originalStart
        let end = updated.fields["End"].flatMap { FieldValue.parseDate($0.value) } ?? start + occurrence.duration
        guard end >= start else {
            throw EWSFailure(
                code: "ErrorCalendarEndDateIsEarlierThanStartDate", message: "EndDate is earlier than StartDate")
        }
        var master = occurrence.master
        let original = Int64(occurrence.originalStart)
        var modified = (master.fields["ModifiedOccurrences"]?.children ?? []).filter {
            Self.originalStart(of: $0) != original
        }
        modified.append(
            XElement(
                "Occurrence",
                children: [
                    XElement("ItemId", attributes: [("Id", Self.occurrenceId(occurrence))]),
                    XElement("Start", text: FieldValue.formatDate(start)),
                    XElement("End", text: FieldValue.formatDate(end)),
                    XElement("OriginalStart", text: FieldValue.formatDate(occurrence.originalStart)),
                ]))
        modified.sort { (Self.originalStart(of: $0) ?? 0) < (Self.originalStart(of: $1) ?? 0) }
        master.fields["ModifiedOccurrences"] = XElement("ModifiedOccurrences", children: modified)
        var own: [String] = []
        for name in Self.occurrenceFields.sorted() where name != "Start" && name != "End" {
            let value = updated.fields[name]
            if value?.value != master.fields[name]?.value { own += [name, value?.value ?? ""] }
        }
        let key = Self.occurrencePropertiesKey + String(original)
        master.extended.removeAll { $0.key == key }
        if !own.isEmpty { master.extended.append(ExtendedProperty(key: key, uri: [], values: own, isMulti: true)) }
        var stored = occurrence
        stored.master = s.replaceItem(
            mailbox: occurrence.mailbox, master, changedFields: ["ModifiedOccurrences"], now: now)
        return stored
    }

    /// Cancels an occurrence: it becomes a deleted occurrence of its series (and loses what it had of its own).
    static func cancelOccurrence(_ occurrence: OccurrenceRef, in s: inout StoreState, now: Double) {
        var master = occurrence.master
        let original = Int64(occurrence.originalStart)
        let modified = (master.fields["ModifiedOccurrences"]?.children ?? []).filter {
            Self.originalStart(of: $0) != original
        }
        master.fields["ModifiedOccurrences"] =
            modified.isEmpty ? nil : XElement("ModifiedOccurrences", children: modified)
        master.extended.removeAll { $0.key == Self.occurrencePropertiesKey + String(original) }
        let deleted = (Self.deletedStartsList(master) + [original]).sorted()
        master.fields["DeletedOccurrences"] = XElement(
            "DeletedOccurrences",
            children: deleted.map {
                XElement("DeletedOccurrence", children: [XElement("Start", text: FieldValue.formatDate(Double($0)))])
            })
        _ = s.replaceItem(
            mailbox: occurrence.mailbox, master, changedFields: ["ModifiedOccurrences", "DeletedOccurrences"], now: now)
    }

    /// Drops a series' modified and deleted occurrences (after its Recurrence was set).
    static func resetOccurrences(of item: inout StoredItem) {
        item.fields["ModifiedOccurrences"] = nil
        item.fields["DeletedOccurrences"] = nil
        item.extended.removeAll { $0.key.hasPrefix(occurrencePropertiesKey) }
    }

    // MARK: occurrence items

    /// The occurrence as an item: the master's properties without the series ones, its own properties
    /// where it has them, its times, OriginalStart and CalendarItemType (Exception when modified).
    static func occurrenceItem(_ o: OccurrenceRef) -> StoredItem {
        var item = o.master
        for name in seriesFields { item.fields[name] = nil }
        let original = Int64(o.originalStart)
        let entry = o.master.fields["ModifiedOccurrences"]?.children.first { originalStart(of: $0) == original }
        let start = entry?.child("Start").flatMap { FieldValue.parseDate($0.value) } ?? o.originalStart
        let end = entry?.child("End").flatMap { FieldValue.parseDate($0.value) } ?? start + o.duration
        item.fields["Start"] = XElement("Start", text: FieldValue.formatDate(start))
        item.fields["End"] = XElement("End", text: FieldValue.formatDate(end))
        item.fields["OriginalStart"] = XElement("OriginalStart", text: FieldValue.formatDate(o.originalStart))
        item.fields["RecurrenceId"] = XElement("RecurrenceId", text: FieldValue.formatDate(o.originalStart))
        item.fields["CalendarItemType"] = XElement("CalendarItemType", text: entry == nil ? "Occurrence" : "Exception")
        let key = occurrencePropertiesKey + String(original)
        if let own = o.master.extended.first(where: { $0.key == key })?.values {
            for pair in stride(from: 0, to: own.count - 1, by: 2) {
                item.fields[own[pair]] = own[pair + 1].isEmpty ? nil : XElement(own[pair], text: own[pair + 1])
            }
        }
        item.extended.removeAll { $0.key.hasPrefix(occurrencePropertiesKey) }
        return item
    }

    static func writeOccurrence(_ w: inout XMLWriter, _ o: OccurrenceRef, shape: ItemShape) {
        writeItem(&w, occurrenceItem(o), mailbox: o.mailbox, shape: shape, itemId: occurrenceId(o))
    }

    static func occurrenceId(_ o: OccurrenceRef) -> String {
        Identifier.occurrenceId(mailbox: o.mailbox, master: o.master.number, originalStart: Int64(o.originalStart))
    }

    static func originalStart(of occurrence: XElement) -> Int64? {
        occurrence.child("OriginalStart").flatMap { FieldValue.parseDate($0.value) }.map { Int64($0) }
    }

    static func deletedStartsList(_ master: StoredItem) -> [Int64] {
        (master.fields["DeletedOccurrences"]?.children ?? []).compactMap {
            $0.child("Start").flatMap { FieldValue.parseDate($0.value) }.map { Int64($0) }
        }
    }

    static func deletedStarts(_ master: StoredItem) -> Set<Int64> { Set(deletedStartsList(master)) }
}

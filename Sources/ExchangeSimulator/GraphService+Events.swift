import Foundation

/// `/events` (single instances and series masters), `/events/{id}` of any event type, `/events/{id}/instances`,
/// `/calendarView` and `/calendarView/delta` over the Calendar folder. Occurrences are the series' expansion
/// (EWSService+Occurrences.swift), the same ones EWS serves: PATCH of an occurrence makes it an exception, DELETE
/// cancels it, and both are visible through EWS as the master's modified and deleted occurrences.
extension GraphService {
    /// One event as Graph shows it: a stored single or master, or an occurrence of a series.
    struct EventView {
        var item: StoredItem
        var id: String
        var type: String
        var master: StoredItem?
        var originalStart: Double?
    }

    static let eventReadable: Set<String> = [
        "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "transactionId",
        "originalStartTimeZone",
        "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "subject",
        "bodyPreview",
        "importance", "sensitivity", "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId",
        "showAs", "type",
        "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "isDraft",
        "hideAttendees",
        "responseStatus", "body", "start", "end", "location", "locations", "recurrence", "attendees", "organizer",
        "cancelledOccurrences", "exceptionOccurrences", "occurrenceId", "originalStart",
    ]
    static let eventFilterable: Set<String> = ["subject", "iCalUId", "type"]

    func routeEvents(_ s: [String], _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let method = ctx.request.method
        let events = "\(ctx.userContext)/events"
        switch (s[0], s.count, method) {
        case ("events", 1, "GET"): return try listEvents(&ctx)
        case ("events", 1, "POST"): return try createEvent(&ctx)
        case ("events", 2, "GET"): return try getEvent(s[1], contextPath: events, &ctx)
        case ("events", 2, "PATCH"): return try updateEvent(s[1], &ctx)
        case ("events", 2, "DELETE"): return try deleteEvent(s[1], &ctx)
        case ("events", 3, "GET") where s[2] == "instances": return try instances(s[1], &ctx)
        case ("calendarView", 1, "GET"): return try calendarView(&ctx)
        case ("calendarView", 2, "GET") where s[1] == "delta": return try calendarViewDelta(&ctx)
        case ("events", 1...3, _), ("calendarView", 1...2, _): throw GraphError.methodNotAllowed()
        default: throw GraphError.resourceNotFound(s.last ?? "")
        }
    }

    // MARK: reading

    static func failure(_ f: EWSFailure) -> GraphError {
        switch f.code {
        case "ErrorInvalidIdMalformed": .invalidId()
        case "ErrorCalendarOccurrenceIsDeletedFromRecurrence", "ErrorItemNotFound",
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange":
            .itemNotFound()
        default: GraphError(400, f.code, f.message)
        }
    }

    /// The event a Graph id names in `mailbox`.
    static func lookupEvent(_ id: String, mailbox: String, in s: StoreState) throws(GraphError) -> EventView {
        let decoded = GraphRequest.decoded(id)
        guard let target = GraphIdentifier.parse(decoded) else { throw GraphError.invalidId() }
        switch target {
        case .item:
            let item = try lookup(decoded, kind: .calendarItem, mailbox: mailbox, in: s)
            guard item.folder == "calendar" else { throw GraphError.itemNotFound() }
            return EventView(
                item: item, id: decoded, type: item.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster")
        case .occurrence(let mb, let master, let start):
            guard mb == mailbox else { throw GraphError.itemNotFound() }
            let e = XElement(
                "ItemId",
                attributes: [("Id", Identifier.occurrenceId(mailbox: mb, master: master, originalStart: start))])
            do {
                guard let o = try EWSService.resolveOccurrence(e, in: s), o.master.folder == "calendar" else {
                    throw GraphError.itemNotFound()
                }
                return view(o)
            } catch let f as EWSFailure {
                throw failure(f)
            } catch {
                throw GraphError.itemNotFound()
            }
        }
    }

    static func view(_ o: OccurrenceRef) -> EventView {
        let item = EWSService.occurrenceItem(o)
        return EventView(
            item: item,
            id: GraphIdentifier.occurrenceId(
                mailbox: o.mailbox, master: o.master.number, originalStart: Int64(o.originalStart)),
            type: item.fields["CalendarItemType"]?.value == "Exception" ? "exception" : "occurrence", master: o.master,
            originalStart: o.originalStart)
    }

    /// An occurrence of a series in a window. A plain one (at its pattern's time, with the series' own properties) is
    /// left unbuilt until it is written out; one with properties of its own (an exception) is built to see its times.
    enum WindowOccurrence {
        case plain(OccurrenceRef)
        case built(EventView)

        var view: EventView {
            switch self {
            case .plain(let o): GraphService.view(o)
            case .built(let v): v
            }
        }
    }

    /// The occurrences of a series whose times overlap [from, to), cancelled ones left out, in order.
    static func instances(of master: StoredItem, mailbox: String, from: Double, to: Double) -> [EventView] {
        occurrences(of: master, mailbox: mailbox, from: from, to: to).map(\.view)
    }

    /// ``instances(of:mailbox:from:to:)`` with the plain occurrences unbuilt.
    static func occurrences(of master: StoredItem, mailbox: String, from: Double, to: Double) -> [WindowOccurrence] {
        guard let r = master.fields["Recurrence"], let pattern = try? RecurrencePattern(r) else { return [] }
        let start =
            master.fields["Start"].flatMap { FieldValue.parseDate($0.value) } ?? Double(pattern.startDay) * 86_400
        let end = master.fields["End"].flatMap { FieldValue.parseDate($0.value) } ?? start
        let timeOfDay = start - (start / 86_400).rounded(.down) * 86_400
        let deleted = EWSService.deletedStarts(master)
        let prefix = EWSService.occurrencePropertiesKey
        var exceptional = Set(
            (master.fields["ModifiedOccurrences"]?.children ?? []).compactMap(EWSService.originalStart(of:)))
        for p in master.extended where p.key.hasPrefix(prefix) {
            if let original = Int64(p.key.dropFirst(prefix.count)) { exceptional.insert(original) }
        }
        // Exceptions may have moved: look a little beyond the window for their original days.
        let margin = 31.0 * 86_400
        var out: [(start: Double, occurrence: WindowOccurrence)] = []
        pattern.walk { index, day in
            let original = Double(day) * 86_400 + timeOfDay
            if original > to + margin { return false }
            if original + (end - start) < from - margin || deleted.contains(Int64(original)) { return true }
            let ref = OccurrenceRef(
                mailbox: mailbox, master: master, index: index, originalStart: original, duration: end - start)
            if !exceptional.contains(Int64(original)) {
                if overlaps(start: original, end: original + end - start, from, to) {
                    out.append((original, .plain(ref)))
                }
                return true
            }
            let v = view(ref)
            if overlaps(v.item, from, to) { out.append((startOf(v.item), .built(v))) }
            return true
        }
        return out.sorted { $0.start < $1.start }.map(\.occurrence)
    }

    static func startOf(_ item: StoredItem) -> Double {
        item.fields["Start"].flatMap { FieldValue.parseDate($0.value) } ?? 0
    }
    static func endOf(_ item: StoredItem) -> Double {
        item.fields["End"].flatMap { FieldValue.parseDate($0.value) } ?? startOf(item)
    }

    static func overlaps(_ item: StoredItem, _ from: Double, _ to: Double) -> Bool {
        overlaps(start: startOf(item), end: endOf(item), from, to)
    }

    static func overlaps(start s: Double, end e: Double, _ from: Double, _ to: Double) -> Bool {
        s < to && (e > from || (e == s && s >= from))
    }

    /// The per-occurrence iCalUId: the series' UID with the occurrence's date in a global object id's date bytes.
    static func iCalUId(_ uid: String, originalStart: Double?) -> String {
        guard let originalStart else { return uid }
        let (y, m, d) = RecurrencePattern.civil(Int((originalStart / 86_400).rounded(.down)))
        // The date as Exchange writes it into a GlobalObjectId: year (4), month and day (2 each) in upper-case hex.
        let digits = Array("0123456789ABCDEF".utf8)
        var date = [UInt8](repeating: 0, count: 8)
        for (value, width, end) in [(y, 4, 4), (m, 2, 6), (d, 2, 8)] {
            var v = value
            for p in stride(from: end - 1, through: end - width, by: -1) { date[p] = digits[v & 15]; v >>= 4 }
        }
        let u = Array(uid.utf8)
        if u.count >= 40,
            u[..<32].elementsEqual(
                "040000008200E00074C5B7101A82E008".utf8,
                by: { a, b in
                    (a >= 0x61 && a <= 0x7A ? a - 0x20 : a) == b
                })
        {
            return String(decoding: u[..<32] + date + u[40...], as: UTF8.self)
        }
        return uid + "-" + String(decoding: date, as: UTF8.self)
    }

    /// What the plain occurrences of one series share on a delta page, written once per series: its id and etag.
    struct SeriesText {
        var number: UInt64
        var masterId: String
        var etag: String
    }

    /// A plain occurrence as a delta page sends it (sparse), written from its series without building it; `series`
    /// keeps the text of the last series written.
    static func sparseJSON(_ o: OccurrenceRef, _ ctx: Context, series: inout SeriesText?) -> JSON {
        if series?.number != o.master.number {
            series = SeriesText(
                number: o.master.number, masterId: ctx.id(ctx.mailbox, o.master.number),
                etag: GraphIdentifier.etag(o.master.changeNumber))
        }
        var w = JSONObjectWriter(capacity: 256, select: nil)
        writeSparse(
            to: &w, etag: series!.etag,
            id: GraphIdentifier.occurrenceId(
                mailbox: o.mailbox, master: o.master.number, originalStart: Int64(o.originalStart)),
            type: "occurrence", masterId: series!.masterId, start: o.originalStart, end: o.originalStart + o.duration,
            ctx.prefs.timeZone)
        return w.finish()
    }

    /// What a delta page sends of an occurrence: its etag, id, kind, series and times.
    static func writeSparse(
        to w: inout JSONObjectWriter, etag: String, id: String, type: String, masterId: String?, start: Double,
        end: Double, _ zone: GraphTimeZone
    ) {
        w.string("@odata.type", "#microsoft.graph.event")
        w.string("@odata.etag", etag)
        w.string("id", id)
        w.string("type", type)
        if let masterId { w.string("seriesMasterId", masterId) }
        for (name, t) in [("start", start), ("end", end)] where w.key(name) {
            GraphEventMapping.write(dateTimeTimeZone: t, zone, to: &w.w)
        }
    }

    /// An event as Graph returns it, written straight to JSON text: `$select` and `$expand` applied; with `sparse`,
    /// only what a delta page sends of an occurrence. `typed` starts it with `@odata.type` (as delta pages do).
    func eventJSON(
        _ v: EventView, _ ctx: Context, context: String?, sparse: Bool = false, typed: Bool = false,
        withExpansions: Bool = true
    ) throws(GraphError) -> JSON {
        let item = v.item, zone = ctx.prefs.timeZone
        let masterId = v.master.map { ctx.id(ctx.mailbox, $0.number) }
        if !sparse, let select = ctx.query.select {
            for s in select where !Self.eventReadable.contains(s) {
                throw GraphError(
                    400, "RequestBroker--ParseUri",
                    "Could not find a property named '\(s)' on type 'microsoft.graph.event'.")
            }
        }
        var o = JSONObjectWriter(select: sparse ? nil : ctx.query.selected)
        if let context { o.value("@odata.context", ctx.context(context)) }
        let etag = GraphIdentifier.etag(item.changeNumber)
        let id = v.master == nil ? ctx.id(ctx.mailbox, item.number) : v.id
        if sparse {
            Self.writeSparse(
                to: &o, etag: etag, id: id, type: v.type, masterId: masterId, start: Self.startOf(item),
                end: Self.endOf(item), zone)
            return o.finish()
        }
        if typed { o.string("@odata.type", "#microsoft.graph.event") }
        o.string("@odata.etag", etag)
        o.string("id", id)
        func dateTimeTimeZone(_ name: String, _ t: Double) {
            if o.key(name) { GraphEventMapping.write(dateTimeTimeZone: t, zone, to: &o.w) }
        }
        let fields = item.fields
        o.string("createdDateTime", fields["DateTimeCreated"]?.value ?? "")
        o.string("lastModifiedDateTime", fields["LastModifiedTime"]?.value ?? "")
        o.string("changeKey", GraphIdentifier.changeKey(item.changeNumber))
        o.strings("categories", (fields["Categories"]?.children ?? []).lazy.map(\.text))
        o.string("transactionId", GraphItemMapping.hidden(v.master ?? item, "transactionId"))
        let startZone = fields["StartTimeZone"]?.attr("Id") ?? "UTC",
            endZone = fields["EndTimeZone"]?.attr("Id") ?? startZone
        o.string("originalStartTimeZone", startZone)
        o.string("originalEndTimeZone", endZone)
        o.string("iCalUId", Self.iCalUId(fields["UID"]?.value ?? "", originalStart: v.originalStart))
        o.int("reminderMinutesBeforeStart", fields["ReminderMinutesBeforeStart"].flatMap { Int($0.value) } ?? 15)
        o.bool("isReminderOn", fields["ReminderIsSet"]?.value == "true")
        o.bool("hasAttachments", false)
        o.string("subject", fields["Subject"]?.text ?? "")
        o.string("bodyPreview", GraphEventMapping.bodyPreview(fields["Body"]))
        o.string(
            "importance",
            GraphEventMapping.graph(GraphEventMapping.importance, fields["Importance"]?.value, default: "normal"))
        o.string(
            "sensitivity",
            GraphEventMapping.graph(GraphEventMapping.sensitivity, fields["Sensitivity"]?.value, default: "normal"))
        o.bool("isAllDay", fields["IsAllDayEvent"]?.value == "true")
        o.bool("isCancelled", fields["IsCancelled"]?.value == "true")
        o.bool("isOrganizer", true)
        o.bool("responseRequested", true)
        o.string("seriesMasterId", masterId)
        o.string(
            "showAs",
            GraphEventMapping.graph(GraphEventMapping.showAs, fields["LegacyFreeBusyStatus"]?.value, default: "busy"))
        o.string("type", v.type)
        if let masterId, let originalStart = v.originalStart {
            o.string("occurrenceId", "OID.\(masterId).\(String(FieldValue.formatDate(originalStart).prefix(10)))")
        }
        if o.key("onlineMeetingUrl") { o.w.raw("null") }
        o.bool("isOnlineMeeting", false)
        o.string("onlineMeetingProvider", "unknown")
        o.bool("allowNewTimeProposals", true)
        o.bool("isDraft", false)
        o.bool("hideAttendees", false)
        if o.key("responseStatus") { o.w.raw("{\"response\":\"organizer\",\"time\":\"0001-01-01T00:00:00Z\"}") }
        if o.key("body") { o.w.value(GraphEventMapping.body(fields["Body"], prefer: ctx.prefs.bodyContentType)) }
        dateTimeTimeZone("start", Self.startOf(item))
        dateTimeTimeZone("end", Self.endOf(item))
        let place = fields["Location"]?.text ?? ""
        func location() {
            o.w.raw("{\"displayName\":")
            o.w.string(place)
            if place.isEmpty {
                o.w.raw(",\"locationType\":\"default\",\"uniqueIdType\":\"unknown\"}")
            } else {
                o.w.raw(",\"locationType\":\"default\",\"uniqueIdType\":\"private\",\"uniqueId\":")
                o.w.string(place)
                o.w.raw("}")
            }
        }
        if o.key("location") { location() }
        if o.key("locations") {
            o.w.raw("[")
            if !place.isEmpty { location() }
            o.w.raw("]")
        }
        if o.key("recurrence") {
            o.w.value(fields["Recurrence"].map { GraphEventMapping.recurrence($0, zone: startZone) } ?? .null)
        }
        func emailAddress(_ mailbox: XElement?) {
            let address = mailbox?.child("EmailAddress")?.text
            o.w.raw("{\"name\":")
            o.w.string(mailbox?.child("Name")?.text ?? address ?? "")
            o.w.raw(",\"address\":")
            o.w.string(address ?? "")
            o.w.raw("}")
        }
        if o.key("attendees") {
            o.w.raw("[")
            var first = true
            for (type, list) in GraphEventMapping.attendeeLists {
                for a in fields[list]?.children ?? [] {
                    if !first { o.w.raw(",") }
                    first = false
                    o.w.raw("{\"type\":")
                    o.w.string(type)
                    o.w.raw(",\"status\":{\"response\":")
                    o.w.string(
                        GraphEventMapping.graph(
                            GraphEventMapping.responses, a.child("ResponseType")?.value, default: "none"))
                    o.w.raw(",\"time\":\"0001-01-01T00:00:00Z\"},\"emailAddress\":")
                    emailAddress(a.child("Mailbox"))
                    o.w.raw("}")
                }
            }
            o.w.raw("]")
        }
        if o.key("organizer") {
            let organizer =
                fields["Organizer"]?.child("Mailbox")
                ?? XElement(
                    "Mailbox",
                    children: [XElement("Name", text: ctx.mailbox), XElement("EmailAddress", text: ctx.mailbox)])
            o.w.raw("{\"emailAddress\":")
            emailAddress(organizer)
            o.w.raw("}")
        }
        if v.type == "seriesMaster", ctx.query.selected?.contains("cancelledOccurrences") == true {
            let id = ctx.id(ctx.mailbox, item.number)
            _ = o.key("cancelledOccurrences", always: true)
            o.w.raw("[")
            for (i, start) in EWSService.deletedStartsList(item).enumerated() {
                if i > 0 { o.w.raw(",") }
                o.w.string("OID.\(id).\(String(FieldValue.formatDate(Double(start)).prefix(10)))")
            }
            o.w.raw("]")
        }
        if withExpansions {
            if let ext = try Self.expandedExtended(ctx, v.master ?? item), v.master == nil {
                _ = o.key("singleValueExtendedProperties", always: true)
                o.w.value(ext)
            }
            if v.type == "seriesMaster", Self.expands(ctx, "exceptionOccurrences") {
                var inner = ctx
                inner.query.select = nil
                inner.query.expand = nil
                _ = o.key("exceptionOccurrences", always: true)
                o.w.raw("[")
                for (i, e) in Self.exceptions(of: item, mailbox: ctx.mailbox).enumerated() {
                    if i > 0 { o.w.raw(",") }
                    o.w.value(try eventJSON(e, inner, context: nil, withExpansions: false))
                }
                o.w.raw("]")
            }
        }
        return o.finish()
    }

    static func expands(_ ctx: Context, _ name: String) -> Bool {
        ctx.query.expansion?.parts.contains { $0.text.hasPrefix(name) } ?? false
    }

    /// A series' exceptions (its modified occurrences), in order.
    static func exceptions(of master: StoredItem, mailbox: String) -> [EventView] {
        guard let r = master.fields["Recurrence"], let pattern = try? RecurrencePattern(r) else { return [] }
        let start = startOf(master), end = endOf(master)
        return (master.fields["ModifiedOccurrences"]?.children ?? []).compactMap { e in
            guard let original = EWSService.originalStart(of: e),
                let index = pattern.index(ofDay: Int((Double(original) / 86_400).rounded(.down)))
            else { return nil }
            return view(
                OccurrenceRef(
                    mailbox: mailbox, master: master, index: index, originalStart: Double(original),
                    duration: end - start))
        }
    }

    static func checkEventExpand(_ ctx: Context) throws(GraphError) {
        try checkExpand(ctx, allowed: ["singleValueExtendedProperties", "exceptionOccurrences"])
        try checkSelect(ctx, known: eventReadable, type: "microsoft.graph.event")
    }

    func getEvent(_ id: String, contextPath: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        try Self.checkEventExpand(ctx)
        let v = try store.withState { (s: inout StoreState) throws(GraphError) in
            try Self.lookupEvent(id, mailbox: ctx.mailbox, in: s)
        }
        return GraphResponse(
            status: 200, body: try eventJSON(v, ctx, context: contextPath + Self.selectSuffix(ctx) + "/$entity"))
    }

    static func eventValue(_ item: StoredItem, _ property: String) -> String? {
        switch property {
        case "subject": item.fields["Subject"]?.text
        case "iCalUId": item.fields["UID"]?.value
        case "type": item.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster"
        default: nil
        }
    }

    func listEvents(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        try Self.checkEventExpand(ctx)
        let filter = try ctx.query.filter.map { f throws(GraphError) in
            try GraphFilter(f, properties: Self.eventFilterable)
        }
        let order = try Self.orderBy(ctx, allowed: ["subject"])
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let (page, more) = store.withState { s -> ([StoredItem], Bool) in
            guard let f = s.mailbox(ctx.mailbox)?.folders["calendar"] else { return ([], false) }
            guard filter != nil || order != nil else { return f.items.page(of: .calendarItem, skip: skip, size: size) }
            var items = f.items.values.filter {
                $0.kind == .calendarItem && (filter?.matches($0, value: Self.eventValue) ?? true)
            }
            Self.sort(&items, order, value: Self.eventValue)
            return (Array(items.dropFirst(skip).prefix(size)), items.count > skip + size)
        }
        var values: [JSON] = []
        for item in page {
            let v = EventView(
                item: item, id: "", type: item.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster")
            values.append(try eventJSON(v, ctx, context: nil))
        }
        return Self.page(
            ctx, context: "\(ctx.userContext)/events" + Self.selectSuffix(ctx), values: values,
            nextSkip: more ? skip + size : nil,
            path: ctx.userPath + "/events")
    }

    /// `startDateTime` and `endDateTime` of a window (required), as instants.
    static func window(_ ctx: Context) throws(GraphError) -> (Double, Double) {
        func value(_ name: String) -> String? {
            ctx.query.parameters.first { $0.key.lowercased() == name.lowercased() }?.value
        }
        guard let s = value("startDateTime"), let e = value("endDateTime") else {
            throw GraphError(
                400, "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
            )
        }
        guard let from = GraphDates.parse(s, in: ctx.prefs.timeZone),
            let to = GraphDates.parse(e, in: ctx.prefs.timeZone)
        else {
            throw GraphError(
                400, "ErrorInvalidParameter", "The value of startDateTime or endDateTime is not a valid date-time.")
        }
        guard to > from else {
            throw GraphError(
                400, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be later than 'StartDateTime'.")
        }
        return (from, to)
    }

    func instances(_ id: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        try Self.checkEventExpand(ctx)
        let (from, to) = try Self.window(ctx)
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let all = try store.withState { (s: inout StoreState) throws(GraphError) -> [WindowOccurrence] in
            let v = try Self.lookupEvent(id, mailbox: ctx.mailbox, in: s)
            guard v.type == "seriesMaster" else { return [] }
            return Self.occurrences(of: v.item, mailbox: ctx.mailbox, from: from, to: to)
        }
        var values: [JSON] = []
        for o in all.dropFirst(skip).prefix(size) { values.append(try eventJSON(o.view, ctx, context: nil)) }
        let key = id.removingPercentEncoding ?? id
        return Self.page(
            ctx, context: "\(ctx.userContext)/events('\(key)')/instances" + Self.selectSuffix(ctx), values: values,
            nextSkip: all.count > skip + size ? skip + size : nil, path: ctx.userPath + "/events/\(id)/instances")
    }

    /// Singles and occurrences overlapping [from, to), masters left out, by start.
    static func calendarView(_ f: StoredFolder, mailbox: String, from: Double, to: Double) -> [EventView] {
        var out: [EventView] = []
        for item in f.items.values where item.kind == .calendarItem {
            if item.fields["Recurrence"] != nil {
                out += instances(of: item, mailbox: mailbox, from: from, to: to)
            } else if overlaps(item, from, to) {
                out.append(EventView(item: item, id: "", type: "singleInstance"))
            }
        }
        return out.sorted { (startOf($0.item), $0.item.number) < (startOf($1.item), $1.item.number) }
    }

    func calendarView(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        try Self.checkEventExpand(ctx)
        let (from, to) = try Self.window(ctx)
        let skip = ctx.query.skip ?? 0, size = Self.pageSize(ctx)
        let all = store.withState { s in
            s.mailbox(ctx.mailbox)?.folders["calendar"].map {
                Self.calendarView($0, mailbox: ctx.mailbox, from: from, to: to)
            } ?? []
        }
        var values: [JSON] = []
        for v in all.dropFirst(skip).prefix(size) { values.append(try eventJSON(v, ctx, context: nil)) }
        return Self.page(
            ctx, context: "\(ctx.userContext)/calendarView" + Self.selectSuffix(ctx), values: values,
            nextSkip: all.count > skip + size ? skip + size : nil, path: ctx.userPath + "/calendarView")
    }

    // MARK: writing

    /// Applies an event's Graph properties to `item`; returns the EWS fields changed (none when not `tracking`: a new
    /// event's fields are all new). With `occurrence`, only what an occurrence may have of its own is accepted.
    static func applyEvent(
        _ body: [(String, JSON)], to item: inout StoredItem, zone: GraphTimeZone, occurrence: Bool,
        tracking: Bool = true
    ) throws(GraphError) -> Set<String> {
        var changed = Set<String>()
        func set(_ field: String, _ e: XElement?) {
            item.fields[field] = e
            if tracking { changed.insert(field) }
        }
        func t(_ n: String, _ s: String) -> XElement { XElement(n, text: s) }
        func mailbox(_ v: JSON, _ name: String) throws(GraphError) -> XElement {
            try GraphInput.closed(v, "recipient", ["emailAddress"])
            let e = v["emailAddress"] ?? .null
            try GraphInput.closed(e, "emailAddress", ["name", "address"])
            guard let address = try GraphInput.string(e["address"] ?? .null, "address") else {
                throw GraphError.invalidRequest("\(name) needs an emailAddress.address.")
            }
            let display = try GraphInput.string(e["name"] ?? .null, "name") ?? address
            return XElement(
                "Mailbox", children: [t("Name", display), t("EmailAddress", address), t("RoutingType", "SMTP")])
        }
        for (name, value) in body {
            if name.hasPrefix("@odata.") { continue }
            if occurrence, !GraphEventMapping.occurrenceWritable.contains(name),
                !["id", "changeKey", "type", "seriesMasterId", "createdDateTime", "lastModifiedDateTime"].contains(name)
            {
                throw GraphError(
                    400, "ErrorInvalidPropertyForOperation",
                    "The property '\(name)' cannot be set on an occurrence of a series.")
            }
            switch name {
            case "subject": set("Subject", try GraphInput.string(value, name).map { t("Subject", $0) })
            case "body":
                if value.isNull { set("Body", nil); continue }
                try GraphInput.closed(value, "itemBody", ["content", "contentType"])
                let type =
                    try GraphInput.enumMember(value["contentType"] ?? .null, "contentType", ["text", "html"]) ?? "text"
                set(
                    "Body",
                    XElement(
                        "Body", attributes: [("BodyType", type == "html" ? "HTML" : "Text")],
                        text: try GraphInput.string(value["content"] ?? .null, "content") ?? ""))
            case "start", "end":
                guard let instant = try dateTimeTimeZone(value, name, zone: zone) else {
                    throw GraphError.wrongType(name, expected: "microsoft.graph.dateTimeTimeZone")
                }
                let field = name == "start" ? "Start" : "End"
                set(field, t(field, FieldValue.formatDate(instant)))
                if !occurrence {
                    let zoneName = value["timeZone"]?.string ?? zone.name
                    set(field + "TimeZone", XElement(field + "TimeZone", attributes: [("Id", zoneName)]))
                }
            case "isAllDay":
                set("IsAllDayEvent", try GraphInput.bool(value, name).map { t("IsAllDayEvent", $0 ? "true" : "false") })
            case "location":
                if value.isNull { set("Location", nil); continue }
                try GraphInput.closed(
                    value, "location",
                    [
                        "displayName", "locationType", "locationUri", "uniqueId", "uniqueIdType", "address",
                        "coordinates", "locationEmailAddress",
                    ])
                let display = try GraphInput.string(value["displayName"] ?? .null, "displayName") ?? ""
                set("Location", display.isEmpty ? nil : t("Location", display))
            case "locations":
                guard let list = try GraphInput.objects(value, name) else { continue }
                if body.contains(where: { $0.0 == "location" }) { continue }
                if let first = list.first {
                    try GraphInput.closed(
                        first, "location",
                        [
                            "displayName", "locationType", "locationUri", "uniqueId", "uniqueIdType", "address",
                            "coordinates", "locationEmailAddress",
                        ])
                    set(
                        "Location",
                        try GraphInput.string(first["displayName"] ?? .null, "displayName").map { t("Location", $0) })
                } else {
                    set("Location", nil)
                }
            case "showAs":
                set(
                    "LegacyFreeBusyStatus",
                    try GraphInput.enumMember(value, name, GraphEventMapping.showAs.map(\.graph)).map { g in
                        t("LegacyFreeBusyStatus", GraphEventMapping.showAs.first { $0.graph == g }!.ews)
                    })
            case "sensitivity":
                set(
                    "Sensitivity",
                    try GraphInput.enumMember(value, name, GraphEventMapping.sensitivity.map(\.graph)).map { g in
                        t("Sensitivity", GraphEventMapping.sensitivity.first { $0.graph == g }!.ews)
                    })
            case "importance":
                set(
                    "Importance",
                    try GraphInput.enumMember(value, name, GraphEventMapping.importance.map(\.graph)).map { g in
                        t("Importance", GraphEventMapping.importance.first { $0.graph == g }!.ews)
                    })
            case "categories":
                set(
                    "Categories",
                    try GraphInput.strings(value, name).map {
                        XElement("Categories", children: $0.map { t("String", $0) })
                    })
            case "isReminderOn":
                set("ReminderIsSet", try GraphInput.bool(value, name).map { t("ReminderIsSet", $0 ? "true" : "false") })
            case "reminderMinutesBeforeStart":
                set(
                    "ReminderMinutesBeforeStart",
                    try GraphInput.int(value, name).map { t("ReminderMinutesBeforeStart", String($0)) })
            case "attendees":
                var lists: [String: [XElement]] = [:]
                for a in try GraphInput.objects(value, name) ?? [] {
                    try GraphInput.closed(a, "attendee", ["type", "emailAddress", "status", "proposedNewTime"])
                    let type =
                        try GraphInput.enumMember(
                            a["type"] ?? .null, "type", GraphEventMapping.attendeeLists.map(\.graph)) ?? "required"
                    var response = "Unknown"
                    if let st = a["status"], !st.isNull {
                        try GraphInput.closed(st, "responseStatus", ["response", "time"])
                        if let r = try GraphInput.enumMember(
                            st["response"] ?? .null, "response", GraphEventMapping.responses.map(\.graph))
                        {
                            response = GraphEventMapping.responses.first { $0.graph == r }!.ews
                        }
                    }
                    let mb = try mailbox(.object([("emailAddress", a["emailAddress"] ?? .null)]), "attendee")
                    lists[type, default: []].append(XElement("Attendee", children: [mb, t("ResponseType", response)]))
                }
                for (type, field) in GraphEventMapping.attendeeLists {
                    set(field, lists[type].map { XElement(field, children: $0) })
                }
            case "organizer":
                set(
                    "Organizer", value.isNull ? nil : XElement("Organizer", children: [try mailbox(value, "organizer")])
                )
            case "recurrence":
                set("Recurrence", value.isNull ? nil : try GraphEventMapping.recurrence(value))
            case "transactionId":
                GraphItemMapping.setHidden(&item, "transactionId", try GraphInput.string(value, name))
            case "singleValueExtendedProperties":
                try GraphExtendedProperty.apply(value, to: &item)
            case "id", "changeKey", "createdDateTime", "lastModifiedDateTime", "iCalUId", "type", "seriesMasterId",
                "originalStartTimeZone",
                "originalEndTimeZone", "hasAttachments", "bodyPreview", "isOrganizer", "responseStatus", "isCancelled",
                "occurrenceId",
                "cancelledOccurrences", "webLink", "uid":
                continue
            default:
                throw GraphError.invalidProperty(name, type: "microsoft.graph.event")
            }
        }
        return changed
    }

    func createEvent(_ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        var draft = StoredItem(
            number: 0, kind: .calendarItem, folder: "calendar", changeNumber: 0,
            fields: Dictionary(minimumCapacity: body.count + 16), fieldChanges: [:], extended: [],
            createdSeq: 0, lastSeq: 0)
        _ = try Self.applyEvent(body, to: &draft, zone: ctx.prefs.timeZone, occurrence: false, tracking: false)
        guard let start = draft.fields["Start"].flatMap({ FieldValue.parseDate($0.value) }),
            let end = draft.fields["End"].flatMap({ FieldValue.parseDate($0.value) })
        else {
            throw GraphError(400, "ErrorPropertyValidationFailure", "An event needs a start and an end.")
        }
        guard end >= start else {
            throw GraphError(
                400, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date is earlier than the start date.")
        }
        let transaction = GraphItemMapping.hidden(draft, "transactionId")
        let now = self.now()
        let mailbox = ctx.mailbox
        let (item, _) = store.withState { s -> (StoredItem, Bool) in
            if let transaction,
                let first = s.mailboxes[StoreState.key(mailbox)]?.folders["calendar"]?.items.first(
                    transactionId: transaction)
            {
                return (first, false)
            }
            var fields: [String: XElement] = [:]
            swap(&fields, &draft.fields)  // the store's copy is then the only one (see createContact)
            return (
                s.insertItem(
                    mailbox: mailbox, folder: "calendar", kind: .calendarItem, fields: fields, extended: draft.extended,
                    now: now), true
            )
        }
        let v = EventView(
            item: item, id: "", type: item.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster")
        return GraphResponse(status: 201, body: try eventJSON(v, ctx, context: "\(ctx.userContext)/events/$entity"))
    }

    func updateEvent(_ id: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let body = try Self.bodyObject(ctx.request)
        let now = self.now()
        let ifMatch = ctx.request.header("if-match")
        let mailbox = ctx.mailbox, zone = ctx.prefs.timeZone
        let v = try store.withState { (s: inout StoreState) throws(GraphError) -> EventView in
            let v = try Self.lookupEvent(id, mailbox: mailbox, in: s)
            try Self.checkIfMatch(ifMatch, v.item)
            if let master = v.master, let original = v.originalStart {
                var occurrence = v.item
                _ = try Self.applyEvent(body, to: &occurrence, zone: zone, occurrence: true)
                let r = OccurrenceRef(
                    mailbox: mailbox, master: master, index: 0, originalStart: original,
                    duration: Self.endOf(master) - Self.startOf(master))
                do throws(EWSFailure) {
                    let stored = try EWSService.saveOccurrence(r, updated: occurrence, in: &s, now: now)
                    return Self.view(stored)
                } catch {
                    throw Self.failure(error)
                }
            }
            var item = v.item
            let changed = try Self.applyEvent(body, to: &item, zone: zone, occurrence: false)
            if changed.contains("Recurrence") { EWSService.resetOccurrences(of: &item) }
            if Self.endOf(item) < Self.startOf(item) {
                throw GraphError(
                    400, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date is earlier than the start date.")
            }
            let stored = s.replaceItem(mailbox: mailbox, item, changedFields: changed, now: now)
            return EventView(
                item: stored, id: "", type: stored.fields["Recurrence"] == nil ? "singleInstance" : "seriesMaster")
        }
        return GraphResponse(status: 200, body: try eventJSON(v, ctx, context: "\(ctx.userContext)/events/$entity"))
    }

    func deleteEvent(_ id: String, _ ctx: inout Context) throws(GraphError) -> GraphResponse {
        let now = self.now()
        let mailbox = ctx.mailbox
        try store.withState { (s: inout StoreState) throws(GraphError) in
            let v = try Self.lookupEvent(id, mailbox: mailbox, in: s)
            if let master = v.master, let original = v.originalStart {
                EWSService.cancelOccurrence(
                    OccurrenceRef(
                        mailbox: mailbox, master: master, index: 0, originalStart: original,
                        duration: Self.endOf(master) - Self.startOf(master)), in: &s, now: now)
            } else {
                _ = s.moveItem(mailbox: mailbox, number: v.item.number, to: "deleteditems", now: now)
            }
        }
        return GraphResponse(status: 204)
    }
}

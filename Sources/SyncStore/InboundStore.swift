import Foundation
import Logging
import Postgres
import SyncCore

/// The PostgreSQL side of an inbound snapshot: staging (COPY), matching, set-based merge, reconciliation.
public enum InboundStore {
    static func stageTable(_ kind: ItemKind) -> String {
        kind == .appointments ? "sync.stage_appointments" : "sync.stage_tasks"
    }

    /// The CRM table of `kind` (appointments or tasks; contacts are not inbound).
    static func crmTable(_ kind: ItemKind) -> String {
        kind == .appointments ? "crm.appointments" : "crm.tasks"
    }

    /// The item ids of `candidates` already staged for this run and mailbox.
    static func alreadyStaged(
        _ candidates: [String], runID: Int64, mailbox: String, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> Set<String> {
        guard !candidates.isEmpty else { return [] }
        let rows = try db.query(
            try db.prepare(
                """
                SELECT item_id FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2 AND item_id = ANY($3::text[])
                """), [runID, mailbox, candidates])
        return Set(try rows.map { (row) throws(PostgresError) in try row.decode(String.self, at: 0) })
    }

    /// The staging tables of `kind`, parent first.
    static func stagingTables(_ kind: ItemKind) -> [String] {
        switch kind {
        case .appointments:
            ["sync.stage_appointments", "sync.stage_appointment_exceptions", "sync.stage_appointment_attendees"]
        case .tasks: ["sync.stage_tasks"]
        case .contacts: []
        }
    }

    /// Vacuums and analyzes the staging tables of `kind` (their join columns): run once a mailbox folder is staged,
    /// before its match. The statistics then describe what every later query of the folder reads, its own rows,
    /// and the vacuum clears the rows of the folders merged before it, which every scan read until autovacuum came
    /// by (at most once a minute). Statistics left from another mailbox planned the attendee merge and the match by
    /// link at four to six times their cost. Runs outside a transaction; each ANALYZE is journaled in the run log.
    public static func refreshStagingStatistics(
        _ kind: ItemKind, runID: Int64, mailbox: String, logger: Logger,
        db: isolated PostgresConnection
    ) throws {
        for table in stagingTables(kind) {
            try TableActivityStore.vacuumAnalyze(
                table, runID: runID, mailbox: mailbox, stage: .match, logger: logger, db: db)
        }
    }

    /// Loads a page of items into staging with COPY (binary format: the server parses no timestamps, UUIDs or
    /// arrays, about a third of what a text COPY of an appointment cost it). Returns the number of items staged. The staging tables are
    /// left out of the ANALYZE policy: ``refreshStagingStatistics(_:runID:mailbox:logger:db:)`` takes their statistics once per folder.
    ///
    /// A page read again (after the folder shifted under offset paging) holds items already staged: they are skipped,
    /// never staged twice. Such pages are rare, so the page is first loaded as it is, in a savepoint, and the staged
    /// ids are only looked up when the staging key refuses it, instead of one index probe per item on every page.
    public static func stage(
        _ items: [MailboxItem], runID: Int64, mailbox: String, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws -> Int {
        do {
            return try db.withTransaction { db in try copy(items, runID: runID, mailbox: mailbox, kind: kind, db: db) }
        } catch let error as PostgresError where error.hasSQLState("23505") {
            let seen = try alreadyStaged(items.map(\.ref.id), runID: runID, mailbox: mailbox, kind: kind, db: db)
            return try copy(
                items.filter { !seen.contains($0.ref.id) }, runID: runID, mailbox: mailbox, kind: kind, db: db)
        }
    }

    /// COPYs `items` into staging; returns how many.
    static func copy(
        _ items: [MailboxItem], runID: Int64, mailbox: String, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws -> Int {
        guard !items.isEmpty else { return 0 }
        // The id a row gets in the CRM unless the match finds it one there: time-ordered (see `UUID.timeOrdered`).
        let now = Date()
        var random = SplitMix64()
        switch kind {
        case .appointments:
            var appointments: [(MailboxItem, CRMAppointment)] = []
            for item in items { if case .appointment(let a) = item.record { appointments.append((item, a)) } }
            let key = ["run_id", "mailbox", "item_id"]
            _ = try db.copyBinary(
                into: PostgresIdentifier(schema: "sync", "stage_appointments"),
                columns: key + ["change_key", "stamped_id"] + mergedColumns(.appointments) + [
                    "recurrence_end", "crm_id",
                ]
            ) { writer in
                for (item, a) in appointments {
                    writer.append(runID); writer.append(mailbox); writer.append(item.ref.id);
                    writer.append(item.ref.changeKey)
                    writer.append(item.crmID); appendMergedFields(of: a, to: &writer)
                    writer.append(seriesEnd(a)); writer.append(UUID.timeOrdered(at: now, using: &random))
                    try writer.endRow()
                }
            }
            _ = try db.copyBinary(
                into: PostgresIdentifier(schema: "sync", "stage_appointment_exceptions"),
                columns: key + exceptionColumns
            ) { writer in
                for (item, a) in appointments {
                    try forEachException(of: a, to: &writer) { writer in
                        writer.append(runID); writer.append(mailbox); writer.append(item.ref.id)
                    }
                }
            }
            _ = try db.copyBinary(
                into: PostgresIdentifier(schema: "sync", "stage_appointment_attendees"),
                columns: key + attendeeColumns
            ) { writer in
                for (item, a) in appointments {
                    try forEachAttendee(of: a, to: &writer) { writer in
                        writer.append(runID); writer.append(mailbox); writer.append(item.ref.id)
                    }
                }
            }
            return appointments.count
        case .tasks:
            var tasks: [(MailboxItem, CRMTask)] = []
            for item in items { if case .task(let t) = item.record { tasks.append((item, t)) } }
            _ = try db.copyBinary(
                into: PostgresIdentifier(schema: "sync", "stage_tasks"),
                columns: [
                    "run_id", "mailbox", "item_id", "change_key", "stamped_id",
                ] + mergedColumns(.tasks) + ["crm_id"]
            ) { writer in
                for (item, t) in tasks {
                    writer.append(runID); writer.append(mailbox); writer.append(item.ref.id);
                    writer.append(item.ref.changeKey)
                    writer.append(item.crmID); appendMergedFields(of: t, to: &writer)
                    writer.append(UUID.timeOrdered(at: now, using: &random))
                    try writer.endRow()
                }
            }
            return tasks.count
        case .contacts:
            return 0  // contacts only go CRM → Exchange
        }
    }

    /// The last moment a series (or a single appointment) can cover, for date-range filters.
    public static func seriesEnd(_ appointment: CRMAppointment) -> Date? {
        guard let text = appointment.recurrence else { return appointment.endsAt }
        guard let rule = try? RecurrenceRule(rrule: text) else { return nil }
        return rule.latestEnd(
            seriesStart: appointment.startsAt, duration: appointment.endsAt.timeIntervalSince(appointment.startsAt))
    }

    /// Matches staged items to CRM rows: the existing link first, then the CRM id snapsync stamped on the
    /// item, then (appointments) the iCalendar UID of an unlinked row of the same owner. A matched row takes the CRM
    /// row's id and is marked `matched`; the others keep the new, time-ordered id staged with them (`stage`).
    /// "Not already claimed by a matched row" is a hashed `NOT IN`, since `crm_id` has no index on staging and
    /// an anti-join planned from a one-row estimate rescanned the mailbox's staging per candidate.
    public static func match(
        runID: Int64, mailbox: MailboxOwner, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> StageCounts {
        let table = stageTable(kind)
        let address = mailbox.smtpAddress
        let byLink = try db.execute(
            """
            UPDATE \(table) s SET crm_id = l.crm_id, matched = true FROM sync.links l
            WHERE s.run_id = $1 AND s.mailbox = $2 AND NOT s.matched
              AND l.mailbox = s.mailbox AND l.kind = $3 AND l.item_id = s.item_id
            """, [runID, address, kind.rawValue])
        let byStamp = try db.execute(
            """
            UPDATE \(table) s SET crm_id = x.stamped_id, matched = true
            FROM (SELECT DISTINCT ON (stamped_id) item_id, stamped_id FROM \(table)
                  WHERE run_id = $1 AND mailbox = $2 AND NOT matched AND stamped_id IS NOT NULL
                  ORDER BY stamped_id, item_id) x
            WHERE s.run_id = $1 AND s.mailbox = $2 AND s.item_id = x.item_id
              AND x.stamped_id NOT IN (SELECT t.crm_id FROM \(table) t WHERE t.run_id = $1 AND t.mailbox = $2 AND t.matched)
              AND NOT EXISTS (SELECT 1 FROM sync.links l JOIN \(table) t ON t.run_id = $1 AND t.mailbox = $2 AND t.item_id = l.item_id
                              WHERE l.mailbox = $2 AND l.kind = $3 AND l.crm_id = x.stamped_id)
            """, [runID, address, kind.rawValue])
        let copies = try quarantineCopies(runID: runID, mailbox: address, kind: kind, db: db)
        var byUID = 0
        if kind == .appointments {
            byUID = try db.execute(
                """
                UPDATE sync.stage_appointments s SET crm_id = a.id, matched = true
                FROM (SELECT DISTINCT ON (ical_uid) item_id, ical_uid FROM sync.stage_appointments
                      WHERE run_id = $1 AND mailbox = $2 AND NOT matched AND ical_uid IS NOT NULL
                      ORDER BY ical_uid, item_id) x
                JOIN crm.appointments a ON a.ical_uid = x.ical_uid AND a.owner_id = $3
                WHERE s.run_id = $1 AND s.mailbox = $2 AND s.item_id = x.item_id
                  AND NOT EXISTS (SELECT 1 FROM sync.links l WHERE l.mailbox = $2 AND l.kind = 'appointments' AND l.crm_id = a.id)
                  AND a.id NOT IN (SELECT t.crm_id FROM sync.stage_appointments t
                                   WHERE t.run_id = $1 AND t.mailbox = $2 AND t.matched)
                """, [runID, address, mailbox.userID])
        }
        let fresh = try db.query(
            "SELECT count(*) FROM \(table) WHERE run_id = $1 AND mailbox = $2 AND NOT matched",
            [runID, address])[0].decode(Int.self, at: 0)
        // The merge creates and updates the rows: the match only counts the items it considered.
        return StageCounts(items: Int64(byLink + byStamp + byUID + fresh), failed: Int64(copies))
    }

    /// Quarantines and unstages the staged items that carry a stamped CRM id another item of the folder holds (by its
    /// link, or as the item the match by stamp chose): copies of one CRM record in Exchange (copied in Outlook, restored
    /// next to the original). Call after the match by stamp, before the match by UID: every stamped item still
    /// unmatched then is such a copy. A copy never becomes a CRM row or a link of its own; each run that reads it
    /// quarantines it again (code `DuplicateCRMId`, naming the item that holds the record), and `verify` lists it as a
    /// duplicate item in Exchange, until one of the two is deleted in the mailbox. The quarantine row names the run
    /// when there is one (live sync's staging has none).
    static func quarantineCopies(
        runID: Int64, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        let table = stageTable(kind)
        // This match reports the copies it sees anew: the entries reported before are resolved (the copy was deleted
        // since, or is reported again), all of the folder's for a snapshot, which read the folder, and those of the
        // items it staged for live sync, which reads changed items only.
        try db.execute(
            """
            UPDATE sync.quarantine q SET resolved_at = now()
            WHERE q.mailbox = $1 AND q.kind = $2 AND q.resolved_at IS NULL AND q.code = 'DuplicateCRMId'
              AND (EXISTS (SELECT 1 FROM sync.runs r WHERE r.id = $3)
                   OR q.item_id IN (SELECT s.item_id FROM \(table) s WHERE s.run_id = $3 AND s.mailbox = $1))
            """, [mailbox, kind.rawValue, runID])
        return try db.execute(
            """
            WITH copies AS (
                DELETE FROM \(table) s WHERE s.run_id = $1 AND s.mailbox = $2 AND NOT s.matched AND s.stamped_id IS NOT NULL
                RETURNING s.item_id, s.stamped_id)
            INSERT INTO sync.quarantine (run_id, mailbox, kind, item_id, crm_id, direction, code, reason)
            SELECT (SELECT r.id FROM sync.runs r WHERE r.id = $1), $2, $3, c.item_id, c.stamped_id, 'inbound', 'DuplicateCRMId',
                   'item ' || c.item_id || ' of ' || $2 || ' carries CRM id ' || c.stamped_id || ', which item '
                   || coalesce(k.item_id, '?') || ' holds: a copy in Exchange, not imported (delete one of the two in the mailbox)'
            FROM copies c
            LEFT JOIN LATERAL (SELECT t.item_id FROM \(table) t
                               WHERE t.run_id = $1 AND t.mailbox = $2 AND t.matched AND t.crm_id = c.stamped_id LIMIT 1) k ON true
            """, [runID, mailbox, kind.rawValue])
    }

    /// Which staged rows of a mailbox folder a merge statement takes.
    enum StagedRows {
        case all, matched, unmatched

        /// The condition to append to `WHERE run_id = $1 AND mailbox = $2` of a staging table (named `alias`).
        func condition(on alias: String? = nil) -> String {
            let column = alias.map { "\($0).matched" } ?? "matched"
            switch self {
            case .all: return ""
            case .matched: return " AND \(column)"
            case .unmatched: return " AND NOT \(column)"
            }
        }
    }

    /// The CRM columns of `kind` a merge copies from staging (besides `id`, `updated_at` and `version`).
    static func mergedColumns(_ kind: ItemKind) -> [String] {
        switch kind {
        case .appointments:
            [
                "owner_id", "subject", "location", "body", "starts_at", "ends_at", "is_all_day", "time_zone",
                "is_private", "categories", "ical_uid", "recurrence",
            ]
        case .tasks:
            [
                "owner_id", "subject", "body", "starts_on", "due_on", "status", "percent_complete", "importance",
                "completed_at", "categories",
            ]
        case .contacts: []
        }
    }

    /// Inserts the CRM rows of the staged `rows` ($1 run, $2 mailbox) as version 1; the CRM table is named `r`.
    static func insertFromStaging(_ kind: ItemKind, rows: StagedRows) -> String {
        let list = mergedColumns(kind).joined(separator: ", ")
        return """
            INSERT INTO \(crmTable(kind)) AS r (id, \(list), updated_at, version)
            SELECT crm_id, \(list), now(), 1 FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2\(rows.condition())
            """
    }

    /// Inserts or updates the CRM rows of the staged `rows` ($1 run, $2 mailbox); a row whose mapped fields are
    /// unchanged keeps its version. Returns one row: inserted, updated.
    ///
    /// A CRM value is compared as Exchange stores it (``comparedValue(_:of:)``): when Exchange's value is the CRM's in
    /// that form, the row keeps the CRM's own spelling, so an inbound snapshot after an outbound one changes no row.
    static func upsertFromStaging(_ kind: ItemKind, rows: StagedRows) -> String {
        let columns = mergedColumns(kind)
        let set = columns.map { column in
            let crm = comparedValue(column, of: "r"), exchange = comparedValue(column, of: "EXCLUDED")
            return crm == "r.\(column)"
                ? "\(column) = EXCLUDED.\(column)"
                : "\(column) = CASE WHEN \(crm) IS NOT DISTINCT FROM \(exchange) THEN r.\(column) ELSE EXCLUDED.\(column) END"
        }
        return """
            WITH m AS (
                \(insertFromStaging(kind, rows: rows))
                ON CONFLICT (id) DO UPDATE SET \(set.joined(separator: ", ")),
                    updated_at = now(), version = r.version + 1
                WHERE (\(columns.map { comparedValue($0, of: "r") }.joined(separator: ", ")))
                  IS DISTINCT FROM (\(columns.map { comparedValue($0, of: "EXCLUDED") }.joined(separator: ", ")))
                RETURNING (xmax = 0) AS inserted)
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM m
            """
    }

    /// The SQL value a merge compares for `column` of the row `table`: free text without the control characters
    /// Exchange cannot store (``ExchangeText``: XML 1.0 drops them), a recurrence rule in a canonical spelling (parts
    /// upper-cased and sorted, without `INTERVAL=1`, the default, which Exchange does not keep, and `UNTIL` as its
    /// date), a time zone with UTC and none alike (Graph names every event's zone, UTC for one the CRM left without;
    /// ``RecordDifference`` compares them so too); other columns as they are.
    static func comparedValue(_ column: String, of table: String) -> String {
        switch column {
        case "subject", "location", "body":
            return #"regexp_replace(\#(table).\#(column), '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]', '', 'g')"#
        case "time_zone":
            let utc = RecordDifference.utcNames.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return "(CASE WHEN lower(btrim(\(table).time_zone)) IN (\(utc)) THEN NULL ELSE \(table).time_zone END)"
        case "recurrence":
            return #"""
                (SELECT string_agg(regexp_replace(p, '^(UNTIL=[0-9]{8})T.*$', '\1'), ';' ORDER BY p)
                 FROM unnest(string_to_array(upper(regexp_replace(btrim(\#(table).recurrence), '^RRULE:', '', 'i')), ';')) p
                 WHERE p NOT IN ('', 'INTERVAL=1'))
                """#
        default:
            return "\(table).\(column)"
        }
    }

    /// Inserts and updates CRM rows from staging (only rows whose mapped fields changed get a new version),
    /// replaces exceptions and attendees (linking attendees to contacts by email), and writes the links.
    ///
    /// `unmatchedAreNew` is true only for a merge that cannot have run before on this staging: the merge stage's first
    /// attempt (a merge commits with its checkpoint, so a failed attempt left nothing), or staging, match and merge in
    /// one transaction (live sync). The rows no match claimed then carry the ids COPY just drew, which no CRM row,
    /// child row or link can hold yet: they are written with plain `INSERT`s, and only matched rows go through
    /// `INSERT ... ON CONFLICT` and have their children replaced. On a blank CRM that is about a quarter of
    /// PostgreSQL's time for these statements. A later attempt (`snapsync rerun`) merges every row as an upsert.
    ///
    /// A CRM table is only ever reached from a mailbox's rows through an index: the primary key (`= ANY(ARRAY(...))`,
    /// or a `LATERAL` subquery kept apart from the join planning by `OFFSET 0`) or, for attendees' contacts, the
    /// e-mail indexes; never by a join the planner may turn into a scan of the whole table per mailbox: those scans
    /// made each mailbox cost more than the last as the CRM grew.
    public static func merge(
        runID: Int64, mailbox: MailboxOwner, kind: ItemKind, unmatchedAreNew: Bool = false,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> StageCounts {
        guard kind != .contacts else { return StageCounts() }  // contacts only go CRM → Exchange
        let address = mailbox.smtpAddress
        let table = crmTable(kind)
        // The staged rows that may already exist in the CRM: on a first attempt only the matched ones, and none when the
        // match claimed none (a first snapshot into a blank CRM), which spares four statements that each read the
        // folder's staging for no row.
        let existing: StagedRows?
        if !unmatchedAreNew {
            existing = .all
        } else {
            existing =
                try db.query(
                    "SELECT EXISTS (SELECT 1 FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2 AND matched)",
                    [runID, address])[0].decode(Bool.self, at: 0) ? .matched : nil
        }
        var inserted: Int64 = 0, updated: Int64 = 0
        let staged = try db.query(
            "SELECT count(*) FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2",
            [runID, address])[0].decode(Int64.self, at: 0)
        if unmatchedAreNew {
            inserted += Int64(try db.execute(insertFromStaging(kind, rows: .unmatched), [runID, address]))
        }
        if let existing {
            let counts = try db.query(upsertFromStaging(kind, rows: existing), [runID, address])[0]
            inserted += try counts.decode(Int64.self, at: 0)
            updated = try counts.decode(Int64.self, at: 1)
        }
        var changed: [String: Int] = [table: Int(inserted + updated)]
        if kind == .appointments {
            var removedExceptions = 0, removedAttendees = 0
            if let existing {
                removedExceptions = try db.execute(
                    deleteChildren(in: "crm.appointment_exceptions", rows: existing), [runID, address])
                removedAttendees = try db.execute(
                    deleteChildren(in: "crm.appointment_attendees", rows: existing), [runID, address])
            }
            let exceptions = try db.execute(
                """
                INSERT INTO crm.appointment_exceptions (appointment_id, original_start, is_cancelled, subject, location, starts_at, ends_at)
                SELECT s.crm_id, x.original_start, x.is_cancelled, x.subject, x.location, x.starts_at, x.ends_at
                FROM sync.stage_appointment_exceptions x
                JOIN sync.stage_appointments s ON s.run_id = x.run_id AND s.mailbox = x.mailbox AND s.item_id = x.item_id
                WHERE x.run_id = $1 AND x.mailbox = $2
                """, [runID, address])
            let attendees = try db.execute(
                """
                INSERT INTO crm.appointment_attendees (appointment_id, email, name, kind, contact_id)
                SELECT s.crm_id, x.email, x.name, x.kind,
                       coalesce((SELECT c.id FROM crm.contacts c WHERE lower(c.email1) = lower(x.email) ORDER BY c.id LIMIT 1),
                                (SELECT c.id FROM crm.contacts c WHERE lower(c.email2) = lower(x.email) ORDER BY c.id LIMIT 1),
                                (SELECT c.id FROM crm.contacts c WHERE lower(c.email3) = lower(x.email) ORDER BY c.id LIMIT 1))
                FROM sync.stage_appointment_attendees x
                JOIN sync.stage_appointments s ON s.run_id = x.run_id AND s.mailbox = x.mailbox AND s.item_id = x.item_id
                WHERE x.run_id = $1 AND x.mailbox = $2
                """, [runID, address])
            changed["crm.appointment_exceptions"] = removedExceptions + exceptions
            changed["crm.appointment_attendees"] = removedAttendees + attendees
        }
        var links = 0
        if let existing {
            links += try db.execute(linksFromStaging(kind, rows: existing), [runID, address, kind.rawValue])
        }
        if unmatchedAreNew { links += try db.execute(newLinksFromStaging(kind), [runID, address, kind.rawValue]) }
        changed["sync.links"] = links
        // Every staged item is merged: those neither inserted nor updated are unchanged (``ItemTally``).
        return StageCounts(items: staged, created: inserted, updated: updated, changedRows: changed)
    }

    /// Deletes the child rows (exceptions or attendees, `table`) of the CRM appointments of the staged `rows`
    /// ($1 run, $2 mailbox), before the merge writes them anew.
    static func deleteChildren(in table: String, rows: StagedRows) -> String {
        """
        DELETE FROM \(table) WHERE appointment_id = ANY(ARRAY(
            SELECT crm_id FROM sync.stage_appointments WHERE run_id = $1 AND mailbox = $2\(rows.condition())))
        """
    }

    /// Writes the links of a merged mailbox folder's staged `rows` ($1 run, $2 mailbox, $3 kind), each with its CRM
    /// row's version, as seen by the run.
    static func linksFromStaging(_ kind: ItemKind, rows: StagedRows = .all) -> String {
        """
        INSERT INTO sync.links (mailbox, kind, crm_id, item_id, change_key, crm_version, synced_at, seen_by_run)
        SELECT s.mailbox, $3, s.crm_id, s.item_id, s.change_key, r.version, now(), $1
        FROM \(stageTable(kind)) s
        CROSS JOIN LATERAL (SELECT r.version FROM \(crmTable(kind)) r WHERE r.id = s.crm_id OFFSET 0) r
        WHERE s.run_id = $1 AND s.mailbox = $2\(rows.condition(on: "s"))
        ON CONFLICT (mailbox, kind, crm_id) DO UPDATE
        SET item_id = EXCLUDED.item_id, change_key = EXCLUDED.change_key, crm_version = EXCLUDED.crm_version, synced_at = now(),
            seen_by_run = EXCLUDED.seen_by_run
        """
    }

    /// The links of the unmatched rows a first-attempt merge inserted (version 1, no link can exist yet).
    static func newLinksFromStaging(_ kind: ItemKind) -> String {
        """
        INSERT INTO sync.links (mailbox, kind, crm_id, item_id, change_key, crm_version, synced_at, seen_by_run)
        SELECT mailbox, $3, crm_id, item_id, change_key, 1, now(), $1
        FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2\(StagedRows.unmatched.condition())
        """
    }

    /// A CRM row linked to the mailbox whose item was not staged: a reconciliation candidate.
    public struct Vanished: Sendable, Hashable {
        public var crmID: UUID
        /// nil when the CRM row itself is already gone (only the link remains).
        public var startsAt: Date?
        public var seriesEnd: Date?
        public var modifiedAt: Date?

        public init(crmID: UUID, startsAt: Date?, seriesEnd: Date?, modifiedAt: Date?) {
            self.crmID = crmID
            self.startsAt = startsAt
            self.seriesEnd = seriesEnd
            self.modifiedAt = modifiedAt
        }
    }

    /// Links of the mailbox folder whose item the run did not see, with what date filters need (the CRM rows are
    /// looked up by primary key, as in ``merge(runID:mailbox:kind:unmatchedAreNew:db:)``). Call after the folder's
    /// merge. A link was seen when the run wrote it (`seen_by_run`: created as paged, or merged) or its item is staged
    /// (a merge an earlier version of snapsync committed for the run, before `seen_by_run` existed).
    public static func vanished(
        runID: Int64, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> [Vanished] {
        let rows: PostgresRows
        // The links whose item was not seen (usually none) first, then their CRM rows.
        let gone = """
            WITH v AS MATERIALIZED (
                SELECT l.crm_id FROM sync.links l
                WHERE l.mailbox = $2 AND l.kind = '\(kind.rawValue)' AND l.seen_by_run IS DISTINCT FROM $1
                  AND NOT EXISTS (SELECT 1 FROM \(stageTable(kind)) s WHERE s.run_id = $1 AND s.mailbox = $2 AND s.item_id = l.item_id))
            """
        switch kind {
        case .appointments:
            rows = try db.query(
                """
                \(gone)
                SELECT v.crm_id, a.starts_at, a.ends_at, a.recurrence, a.updated_at FROM v
                LEFT JOIN LATERAL (SELECT * FROM crm.appointments a WHERE a.id = v.crm_id OFFSET 0) a ON true
                """, [runID, mailbox])
        case .tasks:
            rows = try db.query(
                """
                \(gone)
                SELECT v.crm_id, coalesce(t.starts_on, t.due_on)::timestamptz, NULL::timestamptz, NULL::text, t.updated_at FROM v
                LEFT JOIN LATERAL (SELECT * FROM crm.tasks t WHERE t.id = v.crm_id OFFSET 0) t ON true
                """, [runID, mailbox])
        case .contacts:
            return []
        }
        return try rows.map { (row) throws(PostgresError) in
            let start: Date? = try row.decode(at: 1)
            var end: Date? = try row.decode(at: 2)
            if let recurrence = try row.decode(String?.self, at: 3), let start, let ends = end {
                end = (try? RecurrenceRule(rrule: recurrence))?.latestEnd(
                    seriesStart: start, duration: ends.timeIntervalSince(start))
            }
            return Vanished(
                crmID: try row.decode(at: 0), startsAt: start, seriesEnd: end, modifiedAt: try row.decode(at: 4))
        }
    }

    /// Deletes CRM rows (children cascade) and their links in the mailbox folder. Returns rows deleted.
    public static func deleteRows(
        _ ids: [UUID], mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        guard !ids.isEmpty else { return 0 }
        let table = crmTable(kind)
        let deleted = try db.execute("DELETE FROM \(table) WHERE id = ANY($1::uuid[])", [ids])
        try LinkStore.delete(crmIDs: ids, mailbox: mailbox, kind: kind, db: db)
        try TableActivityStore.record(deleted, in: table, db: db)
        return deleted
    }

    /// Whether the run staged any item of the mailbox folder (every item may have been created directly: ``load(_:runID:mailbox:kind:db:)``).
    public static func hasStaged(
        runID: Int64, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> Bool {
        try db.query(
            "SELECT EXISTS (SELECT 1 FROM \(stageTable(kind)) WHERE run_id = $1 AND mailbox = $2)", [runID, mailbox])[0]
            .decode(Bool.self, at: 0)
    }

    /// The mailbox folder's links, and how many of them the run wrote (created or merged them): after the merge, as
    /// many as the links means no link lost its item.
    public static func linkCounts(
        runID: Int64, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> (linked: Int, seen: Int) {
        let row = try db.query(
            """
            SELECT count(*), count(*) FILTER (WHERE seen_by_run = $3) FROM sync.links WHERE mailbox = $1 AND kind = $2
            """, [mailbox, kind.rawValue, runID])[0]
        return (try row.decode(Int.self, at: 0), try row.decode(Int.self, at: 1))
    }

    /// Removes the run's staging rows of the mailbox folder.
    public static func clearStaging(
        runID: Int64, mailbox: String, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) {
        for table in stagingTables(kind) {
            try db.execute("DELETE FROM \(table) WHERE run_id = $1 AND mailbox = $2", [runID, mailbox])
        }
    }

    /// Deletes every CRM row of `kind` owned by the mailbox's user and their links (a full snapshot's
    /// clean step). Returns rows deleted.
    public static func cleanCRM(
        mailbox: MailboxOwner, kind: ItemKind, db: isolated PostgresConnection
    ) throws(PostgresError) -> Int {
        let table = crmTable(kind)
        let deleted = try db.execute("DELETE FROM \(table) WHERE owner_id = $1", [mailbox.userID])
        try LinkStore.deleteAll(mailbox: mailbox.smtpAddress, kind: kind, db: db)
        try TableActivityStore.record(deleted, in: table, db: db)
        return deleted
    }
}

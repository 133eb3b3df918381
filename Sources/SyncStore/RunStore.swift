import Foundation
import Postgres
import SyncCore

/// What a snapshot run was asked to do.
public struct RunRequest: Sendable, Hashable {
    public var direction: SnapshotDirection
    public var kinds: [ItemKind]
    /// nil: every mailbox with a CRM user.
    public var mailboxes: [String]?
    public var dateRange: SnapshotDateRange?
    public var allowMassDelete: Bool
    public var requestedBy: String

    public init(
        direction: SnapshotDirection, kinds: [ItemKind], mailboxes: [String]?, dateRange: SnapshotDateRange?,
        allowMassDelete: Bool = false, requestedBy: String
    ) {
        self.direction = direction
        self.kinds = kinds
        self.mailboxes = mailboxes?.map { $0.lowercased() }.sorted()
        self.dateRange = dateRange
        self.allowMassDelete = allowMassDelete
        self.requestedBy = requestedBy
    }

    /// Identifies "the same command": rerunning it resumes the unfinished run with this signature.
    public var signature: String {
        var parts = [direction.rawValue, kinds.map(\.rawValue).sorted().joined(separator: ",")]
        parts.append(mailboxes?.joined(separator: ",") ?? "*")
        if let range = dateRange {
            parts.append(
                "\(range.field.rawValue):\(range.from?.timeIntervalSince1970 ?? -1):\(range.to?.timeIntervalSince1970 ?? -1)"
            )
        }
        return parts.joined(separator: "|")
    }
}

/// A run as stored in `sync.runs`.
public struct RunRecord: Sendable, Hashable {
    public var id: Int64
    public var request: RunRequest
    public var status: RunStatus
    public var createdAt: Date
    public var finishedAt: Date?

    public init(id: Int64, request: RunRequest, status: RunStatus, createdAt: Date, finishedAt: Date?) {
        self.id = id
        self.request = request
        self.status = status
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// A mailbox claimed by a worker for a run.
public struct ClaimedMailbox: Sendable, Hashable {
    public var runID: Int64
    public var owner: MailboxOwner
    public var leaseOwner: String

    public init(runID: Int64, owner: MailboxOwner, leaseOwner: String) {
        self.runID = runID
        self.owner = owner
        self.leaseOwner = leaseOwner
    }
}

/// The state of one stage of a mailbox folder.
public struct StageRecord: Sendable, Hashable {
    public var mailbox: String
    public var kind: ItemKind
    public var stage: SnapshotStage
    public var status: StageStatus
    public var cursor: String?
    public var items: Int64
    public var created: Int64
    public var updated: Int64
    public var deleted: Int64
    public var failed: Int64
    public var total: Int64?
    public var attempts: Int
    public var error: String?
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        mailbox: String, kind: ItemKind, stage: SnapshotStage, status: StageStatus, cursor: String?, items: Int64,
        created: Int64,
        updated: Int64, deleted: Int64, failed: Int64, total: Int64?, attempts: Int, error: String?, startedAt: Date?,
        finishedAt: Date?
    ) {
        self.mailbox = mailbox
        self.kind = kind
        self.stage = stage
        self.status = status
        self.cursor = cursor
        self.items = items
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.failed = failed
        self.total = total
        self.attempts = attempts
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// Counts a stage adds as it commits batches.
public struct StageCounts: Sendable, Hashable {
    public var items: Int64 = 0
    public var created: Int64 = 0
    public var updated: Int64 = 0
    public var deleted: Int64 = 0
    public var failed: Int64 = 0
    /// Rows written per table, for the ANALYZE policy: the caller adds them to `sync.table_activity` once its
    /// transaction committed (``TableActivityStore/record(_:db:)``), so no batch holds that table's rows locked.
    public var changedRows: [String: Int] = [:]
    public init(
        items: Int64 = 0, created: Int64 = 0, updated: Int64 = 0, deleted: Int64 = 0, failed: Int64 = 0,
        changedRows: [String: Int] = [:]
    ) {
        self.items = items
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.failed = failed
        self.changedRows = changedRows
    }
}

/// Runs, their mailboxes and stages, checkpoints, leases and events in the `sync` schema.
public enum RunStore {
    /// The unfinished run with the same signature, or a new one with every mailbox and stage pending.
    public static func openRun(
        _ request: RunRequest, owners: [MailboxOwner],
        db: isolated PostgresConnection
    ) throws -> (run: RunRecord, resumed: Bool) {
        try db.withTransaction { db in
            // Serialize concurrent starts of the same command (several processes sharing one run).
            _ = try db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [request.signature])
            if let id = try db.query(
                "SELECT id FROM sync.runs WHERE signature = $1 AND status = 'running' ORDER BY id DESC LIMIT 1",
                [request.signature]
            ).first.map({ (row) throws(PostgresError) in try row.decode(Int64.self, at: 0) }) {
                if request.allowMassDelete {
                    try approveMassDelete(
                        runID: id, mailboxes: owners.map(\.smtpAddress), kinds: request.kinds,
                        approvedBy: request.requestedBy, db: db)
                }
                return (try run(id, db: db)!, true)
            }
            let options = try String(
                decoding: JSONSerialization.data(withJSONObject: [
                    "allow_mass_delete": request.allowMassDelete
                ]), as: UTF8.self)
            let id = try db.query(
                """
                INSERT INTO sync.runs (direction, kinds, mailboxes, from_date, to_date, date_field, options, signature, requested_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) RETURNING id
                """,
                [
                    request.direction.rawValue, request.kinds.map(\.rawValue), request.mailboxes,
                    request.dateRange?.from, request.dateRange?.to, request.dateRange?.field.rawValue, options,
                    request.signature, request.requestedBy,
                ])[0].decode(Int64.self, at: 0)
            let stages = SnapshotStage.stages(for: request.direction)
            for owner in owners {
                try db.execute(
                    "INSERT INTO sync.run_mailboxes (run_id, mailbox, user_id) VALUES ($1, $2, $3)",
                    [id, owner.smtpAddress, owner.userID])
                var position = 0
                for kind in request.kinds {
                    for stage in stages {
                        position += 1
                        try db.execute(
                            """
                            INSERT INTO sync.run_stages (run_id, mailbox, kind, stage, position) VALUES ($1, $2, $3, $4, $5)
                            """, [id, owner.smtpAddress, kind.rawValue, stage.rawValue, position])
                    }
                }
            }
            if request.allowMassDelete {
                try approveMassDelete(
                    runID: id, mailboxes: owners.map(\.smtpAddress), kinds: request.kinds,
                    approvedBy: request.requestedBy, db: db)
            }
            return (try run(id, db: db)!, false)
        }
    }

    /// A run by id.
    public static func run(_ id: Int64, db: isolated PostgresConnection) throws -> RunRecord? {
        guard
            let row = try db.query(
                """
                SELECT id, direction, kinds, mailboxes, from_date, to_date, date_field, options->>'allow_mass_delete',
                       requested_by, status, created_at, finished_at
                FROM sync.runs WHERE id = $1
                """, [id]
            ).first
        else { return nil }
        return try decodeRun(row)
    }

    /// The most recent runs, newest first.
    public static func recentRuns(limit: Int, db: isolated PostgresConnection) throws -> [RunRecord] {
        try db.query(
            """
            SELECT id, direction, kinds, mailboxes, from_date, to_date, date_field, options->>'allow_mass_delete',
                   requested_by, status, created_at, finished_at
            FROM sync.runs ORDER BY id DESC LIMIT $1
            """, [limit]
        ).map(decodeRun)
    }

    /// The newest unfinished run, if any (what `snapsync resume` continues).
    public static func latestUnfinishedRun(db: isolated PostgresConnection) throws -> RunRecord? {
        guard let id = try db.query("SELECT id FROM sync.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1").first
        else { return nil }
        return try run(try id.decode(Int64.self, at: 0), db: db)
    }

    /// A run's row; a direction, kind or status this version does not know is a ``SyncStoreError/Code/unknownValue``.
    static func decodeRun(_ row: PostgresRow) throws -> RunRecord {
        let direction = try SnapshotDirection.decoded(try row.decode(String.self, at: 1), column: "sync.runs.direction")
        let kinds = try row.decode([String].self, at: 2).map { text throws(SyncStoreError) in
            try ItemKind.decoded(text, column: "sync.runs.kinds")
        }
        let from: Date? = try row.decode(at: 4)
        let to: Date? = try row.decode(at: 5)
        let field = try row.decode(String?.self, at: 6).flatMap(SnapshotDateRange.Field.init(rawValue:))
        let range = (from != nil || to != nil) ? SnapshotDateRange(from: from, to: to, field: field ?? .start) : nil
        let request = RunRequest(
            direction: direction, kinds: kinds, mailboxes: try row.decode(at: 3), dateRange: range,
            allowMassDelete: try row.decode(String?.self, at: 7) == "true",
            requestedBy: try row.decode(String?.self, at: 8) ?? "")
        return RunRecord(
            id: try row.decode(at: 0), request: request,
            status: try RunStatus.decoded(try row.decode(String.self, at: 9), column: "sync.runs.status"),
            createdAt: try row.decode(at: 10), finishedAt: try row.decode(at: 11))
    }

    // MARK: Claims

    /// Claims the next mailbox of the run (only `mailbox` when given) that is pending, or whose lease expired (a
    /// crashed worker), with `FOR UPDATE SKIP LOCKED` so concurrent workers and processes never take the same one.
    public static func claimMailbox(
        runID: Int64, worker: String, lease: Duration, mailbox: String? = nil,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> ClaimedMailbox? {
        let rows = try db.query(
            """
            UPDATE sync.run_mailboxes m
            SET status = 'running', lease_owner = $2, lease_until = now() + $3 * interval '1 second',
                claims = claims + 1, started_at = coalesce(started_at, now())
            WHERE (m.run_id, m.mailbox) = (
                SELECT run_id, mailbox FROM sync.run_mailboxes
                WHERE run_id = $1 AND (status = 'pending' OR (status = 'running' AND lease_until < now()))
                  AND ($4::text IS NULL OR mailbox = $4)
                ORDER BY mailbox LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING mailbox, user_id
            """, [runID, worker, Double(lease.components.seconds), mailbox])
        guard let row = rows.first else { return nil }
        return ClaimedMailbox(
            runID: runID, owner: MailboxOwner(smtpAddress: try row.decode(at: 0), userID: try row.decode(at: 1)),
            leaseOwner: worker)
    }

    /// The mailboxes of a run held by workers of this host (`lease_owner` = `host:pid#n`), with their pid.
    public static func leasesOnHost(
        runID: Int64, host: String, db: isolated PostgresConnection
    ) throws(PostgresError) -> [(mailbox: String, pid: Int32)] {
        var result: [(mailbox: String, pid: Int32)] = []
        for row in try db.query(
            """
            SELECT mailbox, lease_owner FROM sync.run_mailboxes
            WHERE run_id = $1 AND status = 'running' AND lease_owner LIKE $2 || ':%'
            """, [runID, host])
        {
            let owner: String = try row.decode(at: 1)
            if let pid = Int32(owner.dropFirst(host.count + 1).prefix { $0.isNumber }) {
                result.append((try row.decode(at: 0), pid))
            }
        }
        return result
    }

    /// Gives a mailbox whose worker died back to the run (its lease would otherwise block it until it expires).
    public static func releaseDeadLease(
        runID: Int64, mailbox: String, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            UPDATE sync.run_mailboxes SET status = 'pending', lease_owner = NULL, lease_until = NULL
            WHERE run_id = $1 AND mailbox = $2 AND status = 'running'
            """, [runID, mailbox])
    }

    /// Extends the lease; false when another worker took the mailbox over (this worker must stop).
    public static func renewLease(
        _ claim: ClaimedMailbox, lease: Duration, db: isolated PostgresConnection
    ) throws(PostgresError) -> Bool {
        try db.execute(
            """
            UPDATE sync.run_mailboxes SET lease_until = now() + $4 * interval '1 second'
            WHERE run_id = $1 AND mailbox = $2 AND lease_owner = $3 AND status = 'running'
            """, [claim.runID, claim.owner.smtpAddress, claim.leaseOwner, Double(lease.components.seconds)]) == 1
    }

    /// Ends a claim: `done`, `failed` (with the reason), or back to `pending` (window ended).
    public static func releaseMailbox(
        _ claim: ClaimedMailbox, status: MailboxRunStatus, error: String?,
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            UPDATE sync.run_mailboxes SET status = $4, error = $5, lease_owner = NULL, lease_until = NULL,
                finished_at = CASE WHEN $4 IN ('done', 'failed') THEN now() END
            WHERE run_id = $1 AND mailbox = $2 AND lease_owner = $3
            """, [claim.runID, claim.owner.smtpAddress, claim.leaseOwner, status.rawValue, error])
    }

    /// Marks the run finished when no mailbox is left pending or running; returns its final status.
    public static func finishRunIfDone(
        _ runID: Int64, db: isolated PostgresConnection
    ) throws(PostgresError) -> RunStatus? {
        let row = try db.query(
            """
            SELECT count(*) FILTER (WHERE status IN ('pending', 'running')), count(*) FILTER (WHERE status = 'failed'),
                   (SELECT count(*) FROM sync.run_stages WHERE run_id = $1 AND failed > 0)
            FROM sync.run_mailboxes WHERE run_id = $1
            """, [runID])[0]
        guard try row.decode(Int64.self, at: 0) == 0 else { return nil }
        let failedMailboxes = try row.decode(Int64.self, at: 1)
        let stagesWithFailures = try row.decode(Int64.self, at: 2)
        let status: RunStatus = failedMailboxes > 0 || stagesWithFailures > 0 ? .completedWithErrors : .completed
        try db.execute(
            "UPDATE sync.runs SET status = $2, finished_at = now() WHERE id = $1 AND status = 'running'",
            [runID, status.rawValue])
        return status
    }

    /// How one mailbox of a run ended: `completed`, `completed_with_errors` (its mailbox failed or a stage of it
    /// quarantined items), nil while it is pending or running.
    public static func mailboxOutcome(
        runID: Int64, mailbox: String, db: isolated PostgresConnection
    ) throws -> RunStatus? {
        guard
            let row = try db.query(
                """
                SELECT m.status, EXISTS (SELECT 1 FROM sync.run_stages s WHERE s.run_id = m.run_id AND s.mailbox = m.mailbox AND s.failed > 0)
                FROM sync.run_mailboxes m WHERE m.run_id = $1 AND m.mailbox = $2
                """, [runID, mailbox]
            ).first
        else { return nil }
        switch try MailboxRunStatus.decoded(try row.decode(String.self, at: 0), column: "sync.run_mailboxes.status") {
        case .done: return try row.decode(Bool.self, at: 1) ? .completedWithErrors : .completed
        case .failed: return .completedWithErrors
        case .pending, .running: return nil
        }
    }

    // MARK: Stages

    /// The stages of a mailbox in a run, in order.
    public static func stages(runID: Int64, mailbox: String?, db: isolated PostgresConnection) throws -> [StageRecord] {
        try db.query(
            """
            SELECT mailbox, kind, stage, status, cursor, items, created, updated, deleted, failed, total, attempts, error,
                   started_at, finished_at
            FROM sync.run_stages WHERE run_id = $1 AND ($2::text IS NULL OR mailbox = $2) ORDER BY mailbox, position
            """, [runID, mailbox]
        ).map { row in
            StageRecord(
                mailbox: try row.decode(at: 0),
                kind: try ItemKind.decoded(try row.decode(at: 1), column: "sync.run_stages.kind"),
                stage: try SnapshotStage.decoded(try row.decode(at: 2), column: "sync.run_stages.stage"),
                status: try StageStatus.decoded(try row.decode(at: 3), column: "sync.run_stages.status"),
                cursor: try row.decode(at: 4), items: try row.decode(at: 5), created: try row.decode(at: 6),
                updated: try row.decode(at: 7), deleted: try row.decode(at: 8), failed: try row.decode(at: 9),
                total: try row.decode(at: 10), attempts: try row.decode(at: 11), error: try row.decode(at: 12),
                startedAt: try row.decode(at: 13), finishedAt: try row.decode(at: 14))
        }
    }

    /// Marks a stage running (counting the attempt); returns its checkpoint cursor, whether it was already running
    /// before (a resumed stage) and which attempt this is (1 for the first; `snapsync rerun` keeps counting).
    public static func startStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> (cursor: String?, resumed: Bool, attempt: Int) {
        let row = try db.query(
            """
            UPDATE sync.run_stages s SET status = 'running', attempts = s.attempts + 1, error = NULL,
                started_at = coalesce(s.started_at, now())
            FROM (SELECT status FROM sync.run_stages WHERE run_id = $1 AND mailbox = $2 AND kind = $3 AND stage = $4 FOR UPDATE) old
            WHERE s.run_id = $1 AND s.mailbox = $2 AND s.kind = $3 AND s.stage = $4
            RETURNING s.cursor, old.status, s.attempts
            """, [runID, mailbox, kind.rawValue, stage.rawValue])[0]
        return (
            try row.decode(String?.self, at: 0), try row.decode(String.self, at: 1) != "pending",
            try row.decode(Int.self, at: 2)
        )
    }

    /// Records a committed batch of a stage: its new cursor and counts. Call inside the batch's transaction.
    public static func checkpoint(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage, cursor: String?,
        counts: StageCounts, total: Int64? = nil, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            try db.prepare(
                """
                UPDATE sync.run_stages SET cursor = $5, items = items + $6, created = created + $7, updated = updated + $8,
                    deleted = deleted + $9, failed = failed + $10, total = coalesce($11, total)
                WHERE run_id = $1 AND mailbox = $2 AND kind = $3 AND stage = $4
                """),
            [
                runID, mailbox, kind.rawValue, stage.rawValue, cursor, counts.items, counts.created, counts.updated,
                counts.deleted, counts.failed, total,
            ])
    }

    /// Marks a stage done, failed (with its error) or skipped.
    public static func finishStage(
        runID: Int64, mailbox: String, kind: ItemKind, stage: SnapshotStage, status: StageStatus,
        error: String? = nil, db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            UPDATE sync.run_stages SET status = $5, error = $6, finished_at = now()
            WHERE run_id = $1 AND mailbox = $2 AND kind = $3 AND stage = $4
            """, [runID, mailbox, kind.rawValue, stage.rawValue, status.rawValue, error])
    }

    /// Sets a stage and every later stage back to pending (with fresh checkpoints), for one mailbox (every mailbox
    /// of the run when nil) and the kinds given (all when nil), and those mailboxes and the run back to running, for
    /// `snapsync rerun`. Another mailbox's stages, failed or pending, are left as they are. Returns the number of
    /// stages reset.
    public static func resetStages(
        runID: Int64, mailbox: String?, kinds: [ItemKind]? = nil, from stage: SnapshotStage,
        db: isolated PostgresConnection
    ) throws -> Int {
        try db.withTransaction { db in
            let reset = try db.execute(
                """
                UPDATE sync.run_stages s SET status = 'pending', cursor = NULL, items = 0, created = 0, updated = 0,
                    deleted = 0, failed = 0, error = NULL, started_at = NULL, finished_at = NULL
                WHERE s.run_id = $1 AND ($2::text IS NULL OR s.mailbox = $2) AND ($4::text[] IS NULL OR s.kind = ANY($4))
                  AND s.position >= (SELECT min(position) FROM sync.run_stages f
                                     WHERE f.run_id = s.run_id AND f.mailbox = s.mailbox AND f.kind = s.kind AND f.stage = $3)
                """, [runID, mailbox, stage.rawValue, kinds?.map(\.rawValue)])
            try db.execute(
                """
                UPDATE sync.run_mailboxes m SET status = 'pending', error = NULL, finished_at = NULL, lease_owner = NULL, lease_until = NULL
                WHERE m.run_id = $1 AND ($2::text IS NULL OR m.mailbox = $2)
                  AND EXISTS (SELECT 1 FROM sync.run_stages s WHERE s.run_id = m.run_id AND s.mailbox = m.mailbox AND s.status = 'pending')
                """, [runID, mailbox])
            try db.execute(
                "UPDATE sync.runs SET status = 'running', finished_at = NULL WHERE id = $1 AND $2 > 0", [runID, reset])
            return reset
        }
    }

    /// Lets the reconcile stages of these mailbox folders of a run delete even when Exchange returned far fewer items
    /// than linked. An approval names each mailbox and kind it approves; other folders of the run keep their guard.
    public static func approveMassDelete(
        runID: Int64, mailboxes: [String], kinds: [ItemKind], approvedBy: String,
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        guard !mailboxes.isEmpty, !kinds.isEmpty else { return }
        try db.execute(
            """
            INSERT INTO sync.mass_delete_approvals (run_id, mailbox, kind, approved_by)
            SELECT $1, m, k, $4 FROM unnest($2::text[]) AS m, unnest($3::text[]) AS k
            ON CONFLICT (run_id, mailbox, kind) DO NOTHING
            """, [runID, mailboxes.map { $0.lowercased() }, kinds.map(\.rawValue), approvedBy])
    }

    /// Whether a mass deletion was approved for this mailbox folder of the run.
    public static func massDeleteApproved(
        runID: Int64, mailbox: String, kind: ItemKind,
        db: isolated PostgresConnection
    ) throws(PostgresError) -> Bool {
        try !db.query(
            "SELECT 1 FROM sync.mass_delete_approvals WHERE run_id = $1 AND mailbox = $2 AND kind = $3",
            [runID, mailbox.lowercased(), kind.rawValue]
        ).isEmpty
    }

    // MARK: Events and quarantine

    /// Appends an event to the run log.
    public static func recordEvent(
        runID: Int64?, mailbox: String?, kind: ItemKind?, stage: SnapshotStage?, event: String,
        message: String, data: [String: any Sendable] = [:], db: isolated PostgresConnection
    ) throws {
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]), as: UTF8.self)
        try db.execute(
            """
            INSERT INTO sync.run_events (run_id, mailbox, kind, stage, event, message, data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
            """, [runID, mailbox, kind?.rawValue, stage?.rawValue, event, message, json])
    }

    /// One event of the run log.
    public struct Event: Sendable, Hashable {
        public var at: Date
        public var mailbox: String?
        public var stage: String?
        public var event: String
        public var message: String
    }

    /// The run's events, oldest first.
    public static func events(runID: Int64, db: isolated PostgresConnection) throws(PostgresError) -> [Event] {
        try db.query(
            "SELECT at, mailbox, stage, event, message FROM sync.run_events WHERE run_id = $1 ORDER BY id", [runID]
        )
        .map { (row) throws(PostgresError) in
            Event(
                at: try row.decode(at: 0), mailbox: try row.decode(at: 1), stage: try row.decode(at: 2),
                event: try row.decode(at: 3), message: try row.decode(at: 4))
        }
    }

    /// Keeps an item that could not be read, mapped or written, with its reason and raw payload.
    public static func quarantine(
        runID: Int64?, mailbox: String, kind: ItemKind, itemID: String?, crmID: UUID?,
        direction: QuarantineDirection, code: String, reason: String, payload: String?,
        db: isolated PostgresConnection
    ) throws(PostgresError) {
        try db.execute(
            """
            INSERT INTO sync.quarantine (run_id, mailbox, kind, item_id, crm_id, direction, code, reason, payload)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, [runID, mailbox, kind.rawValue, itemID, crmID, direction.rawValue, code, reason, payload])
    }
}

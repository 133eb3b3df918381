import Logging
import SyncCore
import SyncStore

/// Says which records lose characters on their way to Exchange (``ExchangeText``: C0 control characters other than
/// tab, LF and CR): a warning per record naming its fields, so the CRM can be cleaned. Comparisons of the CRM with
/// Exchange (verify, the inbound merge) take the CRM's text as Exchange stores it, so the dropped characters are not
/// a difference.
enum UnstorableTextNotice {
    /// Logs a warning per record with such text; returns how many there were.
    @discardableResult
    static func warn(_ records: [MailboxRecord], logger: Logger) -> Int {
        var count = 0
        for record in records {
            let fields = record.fieldsWithUnstorableText
            guard !fields.isEmpty else { continue }
            count += 1
            logger.warning(
                "control characters removed: Exchange cannot store them",
                metadata: [
                    "crm.id": "\(record.id)", "item.kind": "\(record.kind.rawValue)",
                    "item.fields": "\(fields.joined(separator: ","))",
                ])
        }
        return count
    }
}

extension StageContext {
    /// Warns about the records of a batch whose text loses characters in Exchange, and counts them in the run log.
    func noteUnstorableText(_ records: [MailboxRecord], kind: ItemKind, stage: SnapshotStage) async throws {
        let count = UnstorableTextNotice.warn(records, logger: logger)
        guard count > 0 else { return }
        try await store.recordEvent(
            runID: runID, mailbox: address, kind: kind, stage: stage, event: "control-characters",
            message: "\(count) item(s) had control characters Exchange cannot store; written without them",
            data: ["items": count])
    }
}

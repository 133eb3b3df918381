import Foundation
import Logging
import Pipeline
import PipelineFakes
import SyncCore
import SyncStore

/// One CRM user with a mailbox, an in-memory store and mailbox source, and runners over them.
struct PipelineFixture {
    let store = InMemorySyncStore()
    let source = InMemoryMailboxSource()
    let owner: MailboxOwner
    let logger = Logger(label: "pipeline-unit-tests") { _ in SwiftLogNoOpLogHandler() }
    var samples = SampleRecords(seed: 16)

    init() {
        owner = store.addUser("ada@example.com")
    }

    var runner: SnapshotRunner { SnapshotRunner(database: store, source: source, logger: logger) }

    func options(
        _ direction: SnapshotDirection, _ kinds: [ItemKind], range: SnapshotDateRange? = nil
    ) -> SnapshotOptions {
        var options = SnapshotOptions(
            request: RunRequest(
                direction: direction, kinds: kinds, mailboxes: nil, dateRange: range,
                requestedBy: "unit test"))
        options.workers = 1
        options.pageSize = 2
        options.fetchBatchSize = 2
        options.batchSize = 2
        options.workerName = "unit-test-host:1"
        return options
    }

    /// Appointments the mailbox's user created in Exchange, starting a day apart from `start`.
    @discardableResult
    mutating func appointmentsInExchange(_ count: Int, start: Date = SampleRecords.epoch) -> [MailboxItemRef] {
        (0..<count).map { index in
            var appointment = samples.appointment(ownerID: owner.userID, index: index)
            appointment.startsAt = start.addingTimeInterval(Double(index) * 86_400)
            appointment.endsAt = appointment.startsAt.addingTimeInterval(3_600)
            appointment.recurrence = nil
            appointment.exceptions = []
            return source.add(.appointment(appointment), to: owner.smtpAddress)
        }
    }

    /// Tasks the mailbox's user created in Exchange.
    @discardableResult
    mutating func tasksInExchange(_ count: Int) -> [MailboxItemRef] {
        (0..<count).map { index in
            source.add(.task(samples.task(ownerID: owner.userID, index: index)), to: owner.smtpAddress)
        }
    }

    /// Tasks in Exchange already synced to the CRM by an inbound snapshot, then edited by the user (a new subject),
    /// so that the next inbound snapshot stages them all for the match and merge.
    @discardableResult
    mutating func syncedTasksEditedInExchange(_ count: Int) async throws -> [MailboxItemRef] {
        let refs = tasksInExchange(count)
        _ = try await runner.run(options(.inbound, [.tasks]))
        for ref in refs {
            source.edit(ref.id, in: owner.smtpAddress, kind: .tasks) { record in
                if case .task(var task) = record {
                    task.subject += " (edited)"
                    record = .task(task)
                }
            }
        }
        return refs
    }

    /// CRM tasks of the user.
    @discardableResult
    mutating func tasksInCRM(_ count: Int) -> [CRMTask] {
        (0..<count).map { index in
            let task = samples.task(ownerID: owner.userID, index: index)
            store.put(.task(task))
            return task
        }
    }

    /// The subjects of the CRM rows of a kind, sorted (a row twice shows twice).
    func crmSubjects(_ kind: ItemKind) -> [String] {
        store.rows(kind, of: owner).map(\.subject).sorted()
    }

    /// The subjects of the mailbox's items of a kind, sorted.
    func exchangeSubjects(_ kind: ItemKind) -> [String] {
        source.items(in: owner.smtpAddress, kind: kind).map(\.record.subject).sorted()
    }
}

extension MailboxRecord {
    var subject: String {
        switch self {
        case .contact(let contact): contact.displayName
        case .appointment(let appointment): appointment.subject
        case .task(let task): task.subject
        }
    }
}

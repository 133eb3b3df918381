import EWS
import Foundation
import HTTP
import Logging
import SyncCore

/// Edits in Exchange for the live-sync step, made through EWS as another client (Outlook) would.
struct PipelineExchangeEdits {
    let endpoint: String
    let logger: Logger

    /// Renames the first `fraction` of each mailbox's tasks to `subject` (numbered), one UpdateItem batch per mailbox.
    func renameTasks(_ owners: [MailboxOwner], fraction: Double, subject: String) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.authentication = .basic(username: "snapsync@example.com", password: "snapsync-demo")
        configuration.proxy = .direct
        let client = try HTTPClient(configuration: configuration, logger: logger)
        defer { client.shutdown() }
        let source = EWSMailboxSource(
            client: EWSClient(
                configuration: EWSClient.Configuration(endpoint: endpoint),
                transport: client, logger: logger))
        for owner in owners {
            let page = try await source.itemRefs(in: owner, kind: .tasks, after: nil, pageSize: 1000)
            let count = max(1, Int((Double(page.totalCount ?? page.refs.count) * fraction).rounded()))
            var updates: [MailboxUpdate] = []
            for (index, result) in try await source.items(Array(page.refs.prefix(count)), in: owner, kind: .tasks)
                .enumerated()
            {
                guard case .success(let item) = result, case .task(var task) = item.record else { continue }
                let previous = item.record
                task.subject = "\(subject) \(index)"
                updates.append(MailboxUpdate(ref: item.ref, record: .task(task), previous: previous))
            }
            for result in try await source.update(updates, in: owner) {
                if case .failure(let error) = result {
                    throw BenchmarkFailure("renaming a task in \(owner.smtpAddress): \(error)")
                }
            }
        }
    }
}

import Foundation
import HTTP
import SyncCore

/// A series' exceptions and cancellations: read from the master's `exceptionOccurrences` and
/// `cancelledOccurrences`, written occurrence by occurrence (found through `/instances`, then PATCH or DELETE).
enum GraphEvents {
    /// The exceptions of a master as the CRM keeps them: moved or changed occurrences by original start (subject and
    /// location only where they differ from the series'), cancelled ones by original start.
    /// The original start of an occurrence: its `originalStart`, else the date its `occurrenceId`
    /// (`OID.{masterId}.{yyyy-mm-dd}`) names at the series' time of day.
    static func originalStart(_ occurrence: GraphJSON?, occurrenceID: String?, master: CRMAppointment) -> Date? {
        if let original = GraphDates.offsetDateTime(occurrence?["originalStart"]) { return original }
        guard let id = occurrenceID, id.count >= 10, let day = LocalDate(String(id.suffix(10))) else { return nil }
        let seconds = master.startsAt.timeIntervalSince1970
        return day.startOfDayUTC.addingTimeInterval(seconds - (seconds / 86_400).rounded(.down) * 86_400)
    }

    static func exceptions(of body: GraphJSON, master: CRMAppointment) -> [CRMAppointmentException] {
        func originalStart(occurrenceID: String?) -> Date? {
            Self.originalStart(nil, occurrenceID: occurrenceID, master: master)
        }
        var exceptions: [CRMAppointmentException] = []
        for occurrence in body["exceptionOccurrences"]?.array ?? [] {
            guard
                let original = Self.originalStart(
                    occurrence, occurrenceID: occurrence["occurrenceId"]?.string, master: master)
            else { continue }
            let subject = occurrence["subject"]?.string
            let location = occurrence["location"]?["displayName"]?.string
            exceptions.append(
                CRMAppointmentException(
                    originalStart: original, isCancelled: false,
                    subject: subject == master.subject || subject?.isEmpty != false ? nil : subject,
                    location: location == (master.location ?? "") || location?.isEmpty != false ? nil : location,
                    startsAt: GraphDates.instant(occurrence["start"]), endsAt: GraphDates.instant(occurrence["end"])))
        }
        for id in body["cancelledOccurrences"]?.array ?? [] {
            if let original = originalStart(occurrenceID: id.string) {
                exceptions.append(CRMAppointmentException(originalStart: original, isCancelled: true))
            }
        }
        return exceptions
    }

    /// Writes the exceptions of `record` that `previous` did not have (all without it) to the series `master`, and
    /// returns the master's ref with its latest change key; a failure is `ExceptionsNotApplied` for the master.
    static func apply(
        _ record: CRMAppointment, previous: CRMAppointment?, master: MailboxItemRef, source: GraphMailboxSource,
        mailbox: MailboxOwner
    ) async -> Result<MailboxItemRef, MailboxSourceError> {
        let before = Set(previous?.exceptions ?? [])
        let wanted = record.exceptions.filter { !before.contains($0) }
        if wanted.isEmpty { return .success(master) }
        let user = GraphClient.user(mailbox.smtpAddress)
        let client = source.client
        do throws(GraphError) {
            // The occurrences around the exceptions' original starts, by original start.
            let first = wanted.map(\.originalStart).min()!.addingTimeInterval(-86_400)
            let last = wanted.map(\.originalStart).max()!.addingTimeInterval(2 * 86_400)
            var target: String? =
                "\(user)/events/\(GraphPath.segment(master.id))/instances"
                + GraphMailboxSource.query([
                    ("startDateTime", ISO8601.format(first)), ("endDateTime", ISO8601.format(last)),
                    ("$select", "id,originalStart,occurrenceId"),
                ])
            var occurrences: [Int64: String] = [:]
            while let next = target {
                let page = try await client.send(
                    GraphRequest(
                        .get, next, prefer: ["odata.maxpagesize=1000"], operation: "GET instances",
                        itemID: master.id), mailbox: mailbox.smtpAddress)
                for occurrence in page.body?["value"]?.array ?? [] {
                    guard let id = occurrence["id"]?.string,
                        let original = originalStart(
                            occurrence, occurrenceID: occurrence["occurrenceId"]?.string, master: record)
                    else { continue }
                    occurrences[Int64(original.timeIntervalSince1970.rounded(.down))] = id
                }
                target = page.body?["@odata.nextLink"]?.string
                if let link = target, !source.isLink(link) { target = nil }
            }
            var requests: [GraphRequest] = []
            for exception in wanted {
                guard let id = occurrences[Int64(exception.originalStart.timeIntervalSince1970.rounded(.down))] else {
                    if exception.isCancelled { continue }  // already cancelled
                    throw GraphError(
                        .service(status: 404, code: "ErrorItemNotFound"), operation: "GET instances",
                        mailbox: mailbox.smtpAddress,
                        itemID: master.id, message: "no occurrence of the series at an exception's original start")
                }
                let path = "\(user)/events/\(GraphPath.segment(id))"
                if exception.isCancelled {
                    requests.append(GraphRequest(.delete, path, operation: "DELETE occurrence", itemID: master.id))
                    continue
                }
                let duration = record.endsAt.timeIntervalSince(record.startsAt)
                let start = exception.startsAt ?? exception.originalStart
                let end = exception.endsAt ?? start.addingTimeInterval(duration)
                var body: [String: GraphJSON] = [
                    "start": GraphDates.dateTimeTimeZone(start, zone: record.timeZone),
                    "end": GraphDates.dateTimeTimeZone(end, zone: record.timeZone),
                ]
                if let subject = exception.subject { body["subject"] = .string(subject) }
                if let location = exception.location { body["location"] = ["displayName": .string(location)] }
                requests.append(
                    GraphRequest(.patch, path, body: .object(body), operation: "PATCH occurrence", itemID: master.id))
            }
            for result in try await client.batch(requests, mailbox: mailbox.smtpAddress) {
                if case .failure(let error) = result, GraphMailboxSource.neutral(error).kind != .notFound {
                    throw error
                }
            }
            let current = try await client.send(
                GraphRequest(
                    .get,
                    "\(user)/events/\(GraphPath.segment(master.id))"
                        + GraphMailboxSource.query([("$select", "id,changeKey")]),
                    operation: "GET events", itemID: master.id), mailbox: mailbox.smtpAddress)
            return .success(GraphMailboxSource.ref(current.body, kind: .appointments) ?? master)
        } catch {
            let cause = GraphMailboxSource.neutral(error)
            return .failure(
                MailboxSourceError(
                    kind: cause.kind == .transient ? .transient : .permanent, code: "ExceptionsNotApplied",
                    message: "Graph series for \(mailbox.smtpAddress): \(cause.code)", itemID: master.id,
                    retryAfter: cause.retryAfter))
        }
    }
}

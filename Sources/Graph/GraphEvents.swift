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

    /// A series whose exceptions are to be written: the CRM's appointment, what Exchange had before (nil: nothing),
    /// and the master's ref.
    struct Series {
        var record: CRMAppointment
        var previous: CRMAppointment?
        var master: MailboxItemRef
    }

    /// Writes each series' exceptions that its `previous` did not have to its master, all series together: one
    /// `$batch` round finds the occurrences (`/instances` around the exceptions' original starts), one PATCHes or
    /// DELETEs them, one reads the masters' latest change keys. One result per series: the master's ref, or
    /// `ExceptionsNotApplied` naming the master.
    static func apply(
        _ series: [Series], source: GraphMailboxSource, mailbox: MailboxOwner
    ) async -> [Result<MailboxItemRef, MailboxSourceError>] {
        let user = GraphClient.user(mailbox.smtpAddress)
        let client = source.client
        var results = [Result<MailboxItemRef, MailboxSourceError>?](repeating: nil, count: series.count)
        func fail(_ index: Int, _ error: GraphError) {
            let cause = GraphMailboxSource.neutral(error)
            results[index] = .failure(
                MailboxSourceError(
                    kind: cause.kind == .transient ? .transient : .permanent, code: "ExceptionsNotApplied",
                    message: "Graph series for \(mailbox.smtpAddress): \(cause.code)",
                    itemID: series[index].master.id, retryAfter: cause.retryAfter))
        }
        func batch(_ requests: [GraphRequest], for indexes: [Int]) async -> [Result<GraphResponse, GraphError>] {
            do throws(GraphError) {
                return try await client.batch(requests, mailbox: mailbox.smtpAddress)
            } catch {
                for index in indexes { fail(index, error) }
                return []
            }
        }
        var wanted: [Int: [CRMAppointmentException]] = [:]
        for (index, s) in series.enumerated() {
            let before = Set(s.previous?.exceptions ?? [])
            let new = s.record.exceptions.filter { !before.contains($0) }
            if new.isEmpty { results[index] = .success(s.master) } else { wanted[index] = new }
        }
        let pending = wanted.keys.sorted()
        if pending.isEmpty { return results.map { $0! } }

        // The occurrences around the exceptions' original starts, by original start.
        let instances = pending.map { index in
            let originals = wanted[index]!.map(\.originalStart)
            return GraphRequest(
                .get,
                "\(user)/events/\(GraphPath.segment(series[index].master.id))/instances"
                    + GraphMailboxSource.query([
                        ("startDateTime", ISO8601.format(originals.min()!.addingTimeInterval(-86_400))),
                        ("endDateTime", ISO8601.format(originals.max()!.addingTimeInterval(2 * 86_400))),
                        ("$select", "id,originalStart,occurrenceId"),
                    ]),
                prefer: ["odata.maxpagesize=1000"], operation: "GET instances", itemID: series[index].master.id)
        }
        var occurrences: [Int: [Int64: String]] = [:]
        for (index, answer) in zip(pending, await batch(instances, for: pending)) {
            do throws(GraphError) {
                var page = try answer.get()
                var found: [Int64: String] = [:]
                while true {
                    for occurrence in page.body?["value"]?.array ?? [] {
                        guard let id = occurrence["id"]?.string,
                            let original = originalStart(
                                occurrence, occurrenceID: occurrence["occurrenceId"]?.string,
                                master: series[index].record)
                        else { continue }
                        found[Int64(original.timeIntervalSince1970.rounded(.down))] = id
                    }
                    guard let next = page.body?["@odata.nextLink"]?.string, source.isLink(next) else { break }
                    page = try await client.send(
                        GraphRequest(
                            .get, next, prefer: ["odata.maxpagesize=1000"], operation: "GET instances",
                            itemID: series[index].master.id), mailbox: mailbox.smtpAddress)
                }
                occurrences[index] = found
            } catch {
                fail(index, error)
            }
        }

        var writes: [GraphRequest] = []
        var owners: [Int] = []
        for index in pending where results[index] == nil {
            let record = series[index].record, master = series[index].master
            for exception in wanted[index]! {
                guard let id = occurrences[index]?[Int64(exception.originalStart.timeIntervalSince1970.rounded(.down))]
                else {
                    if exception.isCancelled { continue }  // already cancelled
                    fail(
                        index,
                        GraphError(
                            .service(status: 404, code: "ErrorItemNotFound"), operation: "GET instances",
                            mailbox: mailbox.smtpAddress, itemID: master.id,
                            message: "no occurrence of the series at an exception's original start"))
                    break
                }
                let path = "\(user)/events/\(GraphPath.segment(id))"
                owners.append(index)
                if exception.isCancelled {
                    writes.append(GraphRequest(.delete, path, operation: "DELETE occurrence", itemID: master.id))
                    continue
                }
                let duration = record.endsAt.timeIntervalSince(record.startsAt)
                let start = exception.startsAt ?? exception.originalStart
                let end = exception.endsAt ?? start.addingTimeInterval(duration)
                var body: GraphJSON.Members = [
                    "start": GraphDates.dateTimeTimeZone(start, zone: record.timeZone),
                    "end": GraphDates.dateTimeTimeZone(end, zone: record.timeZone),
                ]
                if let subject = exception.subject { body["subject"] = .string(subject) }
                if let location = exception.location { body["location"] = ["displayName": .string(location)] }
                writes.append(
                    GraphRequest(.patch, path, body: .object(body), operation: "PATCH occurrence", itemID: master.id))
            }
        }
        // A series that failed while its writes were being listed sends none of them.
        let sent = zip(writes, owners).filter { results[$0.1] == nil }
        let written = Array(Set(sent.map(\.1))).sorted()
        for ((_, index), answer) in zip(sent, await batch(sent.map(\.0), for: written)) {
            if case .failure(let error) = answer, results[index] == nil,
                GraphMailboxSource.neutral(error).kind != .notFound
            {
                fail(index, error)
            }
        }

        // The masters' change keys after their occurrences changed.
        let reread = pending.filter { results[$0] == nil }
        let masters = reread.map { index in
            GraphRequest(
                .get,
                "\(user)/events/\(GraphPath.segment(series[index].master.id))"
                    + GraphMailboxSource.query([("$select", "id,changeKey")]),
                operation: "GET events", itemID: series[index].master.id)
        }
        for (index, answer) in zip(reread, await batch(masters, for: reread)) where results[index] == nil {
            switch answer {
            case .success(let response):
                results[index] = .success(
                    GraphMailboxSource.ref(response.body, kind: .appointments) ?? series[index].master)
            case .failure(let error): fail(index, error)
            }
        }
        return results.map { $0! }
    }
}

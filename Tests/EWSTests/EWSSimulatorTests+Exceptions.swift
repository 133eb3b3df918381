import ExchangeSimulator
import Foundation
import Testing
import SyncCore
@testable import EWS

/// Series with moved and cancelled occurrences written through ``EWSMailboxSource`` and read back.
extension EWSSimulatorTests {
    static let owner = MailboxOwner(smtpAddress: mailbox, userID: Fixtures.owner)

    func readBack(_ ref: MailboxItemRef, _ source: EWSMailboxSource) async throws -> (MailboxItemRef, CRMAppointment) {
        let item = try #require(try await source.items([ref], in: Self.owner, kind: .appointments).first).get()
        guard case .appointment(let appointment) = item.record else { throw CancellationError() }
        return (item.ref, appointment)
    }

    @Test func seriesExceptionsRoundTripThroughCreateAndUpdate() async throws {
        try await withSimulator(batchSize: 2) { sim, client, transport in
            let source = EWSMailboxSource(client: client)
            let series = EWSExceptionPlanTests.series  // Mon+Wed from 4 March: the 3rd cancelled, the 4th moved
            var daily = Fixtures.appointment
            daily.id = UUID()
            daily.recurrence = "FREQ=DAILY;INTERVAL=2;COUNT=5"
            daily.exceptions = [
                CRMAppointmentException(originalStart: Fixtures.date("2024-03-12T09:00:00Z"), isCancelled: true)
            ]
            var single = Fixtures.appointment
            single.id = UUID()
            single.recurrence = nil
            let created = try await source.create(
                [.appointment(series), .appointment(single), .appointment(daily)], in: Self.owner)
            let refs = try created.map { try $0.get() }
            for (ref, record) in zip(refs, [series, single, daily]) {
                let (current, back) = try await readBack(ref, source)
                #expect(current == ref, "the create must return the master's latest change key")
                #expect(MailboxRecord.appointment(back).difference(from: .appointment(record)).fields == [])
            }
            // Deletions batch across series, then modifications, then one GetItem of the masters.
            #expect(
                transport.log.map(\.operation).prefix(4) == ["CreateItem", "CreateItem", "DeleteItem", "UpdateItem"])

            // The CRM restores the cancelled occurrence, moves the 4th elsewhere, cancels the 5th and
            // renames the 6th.
            var changed = series
            changed.exceptions = [
                CRMAppointmentException(
                    originalStart: Fixtures.date("2024-03-13T09:00:00Z"), isCancelled: false,
                    startsAt: Fixtures.date("2024-03-13T15:00:00Z"), endsAt: Fixtures.date("2024-03-13T16:00:00Z")),
                CRMAppointmentException(originalStart: Fixtures.date("2024-03-18T09:00:00Z"), isCancelled: true),
                CRMAppointmentException(
                    originalStart: Fixtures.date("2024-03-20T09:00:00Z"), isCancelled: false, subject: "Retro"),
            ]
            let updated = try #require(
                try await source.update(
                    [
                        MailboxUpdate(
                            ref: refs[0], record: .appointment(changed),
                            previous: .appointment(series))
                    ], in: Self.owner
                ).first
            ).get()
            var (current, back) = try await readBack(updated, source)
            #expect(current == updated, "the update must return the master's latest change key")
            #expect(MailboxRecord.appointment(back).difference(from: .appointment(changed)).fields == [])
            #expect(Set(back.exceptions.map(\.originalStart)) == Set(changed.exceptions.map(\.originalStart)))

            // An Exchange user renames the moved occurrence (the CRM's exception has no subject of its own).
            let master = ItemId(updated.id)
            _ = try await client.send(
                EWSRequests.updateItem(
                    targets: [
                        (
                            .occurrence(master: master, instanceIndex: 4),
                            EWSExceptionPlan.updates(
                                start: Fixtures.date("2024-03-13T15:00:00Z"),
                                end: Fixtures.date("2024-03-13T16:00:00Z"), subject: "Set in Outlook", location: nil)
                        )
                    ],
                    context: client.context(Self.mailbox)))
            func occurrenceSubject(originalStart: Date) async throws -> String? {
                guard
                    case .calendarItem(let series)? = try await client.getItems(
                        [master], mapping: EWSMappings.appointment, mailbox: Self.mailbox
                    ).first?.get(),
                    let id = series.modifiedOccurrences.first(where: { $0.originalStart == originalStart })?.itemId,
                    case .calendarItem(let occurrence)? = try await client.getItems(
                        [id], mapping: EWSMappings.appointment, mailbox: Self.mailbox
                    ).first?.get()
                else { return nil }
                return occurrence.subject
            }
            #expect(
                try await occurrenceSubject(originalStart: Fixtures.date("2024-03-13T09:00:00Z")) == "Set in Outlook")

            // Without the previous version (as an outbound snapshot updates) the series is read first: its
            // rule, times and exceptions are in place, so only the master's fields and the modified
            // occurrences are written; nothing is reset.
            changed.location = "Room 9"
            let logged = transport.log.count
            let rewritten = try #require(
                try await source.update(
                    [MailboxUpdate(ref: updated, record: .appointment(changed))],
                    in: Self.owner
                ).first
            ).get()
            #expect(
                transport.log.dropFirst(logged).map(\.operation) == ["GetItem", "UpdateItem", "UpdateItem", "GetItem"])
            (current, back) = try await readBack(rewritten, source)
            #expect(current == rewritten && rewritten.changeKey != updated.changeKey)
            #expect(MailboxRecord.appointment(back).difference(from: .appointment(changed)).fields == [])
            #expect(
                try await occurrenceSubject(originalStart: Fixtures.date("2024-03-13T09:00:00Z")) == "Set in Outlook")
            #expect(try await occurrenceSubject(originalStart: Fixtures.date("2024-03-20T09:00:00Z")) == "Retro")

            // When Exchange's exceptions differ (here: one deleted in Exchange), the series is written again.
            _ = try await client.send(
                EWSRequests.deleteItem(
                    targets: [.occurrence(master: master, instanceIndex: 6)],
                    context: client.context(Self.mailbox)))
            let restored = try #require(
                try await source.update(
                    [MailboxUpdate(ref: rewritten, record: .appointment(changed))],
                    in: Self.owner
                ).first
            ).get()
            (current, back) = try await readBack(restored, source)
            #expect(current == restored)
            #expect(MailboxRecord.appointment(back).difference(from: .appointment(changed)).fields == [])
            #expect(sim.control.mailboxes().first { $0.address == Self.mailbox }?.calendar == 3)
        }
    }

    @Test func aSeriesWhoseExceptionsFailIsNotCreated() async throws {
        try await withSimulator { sim, client, _ in
            let source = EWSMailboxSource(client: client)
            var offPattern = EWSExceptionPlanTests.series
            offPattern.id = UUID()
            offPattern.exceptions[0].originalStart = Fixtures.date("2024-03-12T09:00:00Z")  // a Tuesday
            // Exchange refuses every occurrence change: the created master is deleted again.
            sim.control.setFaults(
                FaultConfiguration(serverBusy: .init(everyNth: 1, backOffMilliseconds: 10, operations: ["UpdateItem"])))
            let results = try await source.create(
                [.appointment(offPattern), .appointment(EWSExceptionPlanTests.series)], in: Self.owner)
            sim.control.resetFaults()
            guard case .failure(let planned) = results[0], case .failure(let refused) = results[1] else {
                Issue.record("both creates should fail: \(results)"); return
            }
            #expect(planned.code == "ExceptionsNotApplied" && planned.kind == .permanent)
            #expect(refused.code == "ExceptionsNotApplied" && refused.kind == .transient)
            #expect(refused.message.contains("ErrorServerBusy"))
            #expect(sim.control.mailboxes().first { $0.address == Self.mailbox }?.calendar == 0)
        }
    }
}

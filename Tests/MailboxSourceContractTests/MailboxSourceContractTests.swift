import ExchangeSimulator
import Foundation
import SyncCore
import Testing

/// What every ``MailboxSource`` must do, whatever protocol it speaks: each test runs once per protocol against the
/// simulator over HTTP, through the source alone.
@Suite struct MailboxSourceContractTests {
    static let now = Date(timeIntervalSince1970: 1_709_251_200)  // 2024-03-01T00:00:00Z
    static let window = MailboxChangeWindow(
        start: Date(timeIntervalSince1970: 1_704_067_200),  // 2024-01-01
        end: Date(timeIntervalSince1970: 1_735_689_600))  // 2025-01-01

    static func date(_ text: String) -> Date { ISO8601.parseDateTime(text)! }

    static func contact(_ index: Int) -> CRMContact {
        CRMContact(
            id: UUID(), givenName: "Zoë \(index)", surname: "O'Brien & Söhne", displayName: "Zoë O'Brien \(index)",
            company: "Acme \"Widgets\"", jobTitle: "CEO", email1: "zoe\(index)@example.com", email2: nil, email3: nil,
            businessPhone: "+49 30 1234", mobilePhone: "+49 170 5678", homePhone: nil, street: "Hauptstraße 1",
            city: "Berlin", state: nil, postalCode: "10115", country: "Germany", notes: "Likes tea 🍵",
            birthday: LocalDate(year: 1980, month: 5, day: 4), categories: ["VIP"], updatedAt: now, version: 1)
    }

    static func task(_ index: Int, owner: UUID) -> CRMTask {
        CRMTask(
            id: UUID(), ownerID: owner, subject: "Send offer \(index)", body: "Draft first",
            startsOn: LocalDate(year: 2024, month: 3, day: 1), dueOn: LocalDate(year: 2024, month: 3, day: 8),
            status: .inProgress, percentComplete: 0, importance: .high, completedAt: nil, categories: ["Sales"],
            updatedAt: now, version: 1)
    }

    static func appointment(owner: UUID) -> CRMAppointment {
        CRMAppointment(
            id: UUID(), ownerID: owner, subject: "Review", location: "Room 4", body: "Agenda",
            startsAt: date("2024-03-05T10:00:00Z"), endsAt: date("2024-03-05T11:00:00Z"),
            categories: ["Team"], updatedAt: now, version: 1,
            attendees: [CRMAttendee(email: "anna@example.com", name: "Anna", kind: .required)])
    }

    /// Mondays and Wednesdays from Monday 4 March 2024, ten times: the 11 March occurrence cancelled, the 13 March one
    /// moved to the 14th.
    static func series(owner: UUID) -> CRMAppointment {
        var series = CRMAppointment(
            id: UUID(), ownerID: owner, subject: "Weekly sync", location: "Room 4",
            startsAt: date("2024-03-04T09:00:00Z"), endsAt: date("2024-03-04T09:30:00Z"),
            recurrence: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", updatedAt: now, version: 1)
        series.exceptions = [
            CRMAppointmentException(
                originalStart: date("2024-03-13T09:00:00Z"), isCancelled: false,
                startsAt: date("2024-03-14T10:00:00Z"), endsAt: date("2024-03-14T10:45:00Z")),
            CRMAppointmentException(originalStart: date("2024-03-11T09:00:00Z"), isCancelled: true),
        ]
        return series
    }

    /// The mapped fields in which a record read back differs from the one written. An appointment's iCalendar UID is
    /// Exchange's own for an item created without one (and Graph cannot set one), so it is checked apart.
    func differences(_ read: MailboxRecord, _ written: MailboxRecord) -> [String] {
        if case .appointment(let a) = read {
            #expect(a.icalUID?.isEmpty == false, "Exchange gives every appointment a UID")
        }
        return read.difference(from: written).fields.filter { $0 != "ical_uid" }
    }

    func created(_ records: [MailboxRecord], _ harness: MailboxSourceHarness) async throws -> [MailboxItemRef] {
        try await harness.source.create(records, in: harness.owner).map { try $0.get() }
    }

    func read(_ ref: MailboxItemRef, _ kind: ItemKind, _ harness: MailboxSourceHarness) async throws -> MailboxItem {
        try #require(try await harness.source.items([ref], in: harness.owner, kind: kind).first).get()
    }

    /// Drains the changes from `state` on: the upserted ids, the deleted ids and the state after them.
    func drain(
        _ kind: ItemKind, from state: String?, _ harness: MailboxSourceHarness
    ) async throws
        -> (upserted: Set<String>, deleted: Set<String>, state: String)
    {
        var upserted = Set<String>(), deleted = Set<String>()
        var state = state
        for _ in 0..<100 {
            let changes = try await harness.source.changes(
                in: harness.owner, kind: kind, since: state, window: Self.window, maxChanges: 10)
            for change in changes.changes {
                switch change {
                case .upserted(let ref): upserted.insert(ref.id); deleted.remove(ref.id)
                case .deleted(let id): deleted.insert(id); upserted.remove(id)
                }
            }
            state = changes.syncState
            if changes.isComplete { return (upserted, deleted, changes.syncState) }
        }
        Issue.record("changes never completed")
        return (upserted, deleted, state ?? "")
    }

    @Test(arguments: SourceProtocol.allCases)
    func listsEveryItemOnceAcrossPages(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let refs = try await created((0..<25).map { .contact(Self.contact($0)) }, harness)
            var listed: [MailboxItemRef] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await harness.source.itemRefs(
                    in: harness.owner, kind: .contacts, after: cursor, pageSize: 10)
                #expect(page.refs.count <= 10)
                listed += page.refs
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(listed.count == 25)
            #expect(Set(listed.map(\.id)) == Set(refs.map(\.id)))
            #expect(try await harness.source.allItemRefs(in: harness.owner, kind: .contacts, pageSize: 7).count == 25)
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func createdRecordsReadBackAsWritten(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let user = harness.owner.userID
            let records: [MailboxRecord] = [
                .contact(Self.contact(1)), .task(Self.task(1, owner: user)),
                .appointment(Self.appointment(owner: user)),
            ]
            let refs = try await created(records, harness)
            for (ref, record) in zip(refs, records) {
                let item = try await read(ref, record.kind, harness)
                #expect(item.ref.id == ref.id)
                #expect(item.crmID == record.id, "the CRM id is stamped on the \(record.kind.rawValue) item")
                #expect(differences(item.record, record) == [], "\(record.kind.rawValue)")
            }
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func stampsFindTheItemsTheyWereCreatedFor(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let user = harness.owner.userID
            for kind in ItemKind.allCases {
                let records: [MailboxRecord] =
                    switch kind {
                    case .contacts: [.contact(Self.contact(1)), .contact(Self.contact(2))]
                    case .tasks: [.task(Self.task(1, owner: user)), .task(Self.task(2, owner: user))]
                    case .appointments:
                        [.appointment(Self.appointment(owner: user)), .appointment(Self.appointment(owner: user))]
                    }
                let refs = try await created(records, harness)
                let unknown = UUID()
                let found = try await harness.source.findItems(
                    crmIDs: records.map(\.id) + [unknown], in: harness.owner, kind: kind)
                #expect(found.count == 2, "\(kind.rawValue)")
                #expect(
                    found[records[0].id]?.id == refs[0].id && found[records[1].id]?.id == refs[1].id, "\(kind.rawValue)"
                )
                #expect(found[unknown] == nil)

                // A record created twice shows as two stamped items under its id.
                let again = try await created([records[0]], harness)
                let stamped = try await harness.source.stampedItems(in: harness.owner, kind: kind)
                #expect(Set(stamped[records[0].id]?.map(\.id) ?? []) == [refs[0].id, again[0].id], "\(kind.rawValue)")
                #expect(stamped[records[1].id]?.map(\.id) == [refs[1].id], "\(kind.rawValue)")
            }
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func updatesNeedTheCurrentChangeKey(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let original = Self.task(1, owner: harness.owner.userID)
            let ref = try await created([.task(original)], harness)[0]
            var changed = original
            changed.subject = "Offer sent"
            changed.status = .completed
            changed.percentComplete = 100
            changed.completedAt = Self.date("2024-03-07T00:00:00Z")
            let updated = try #require(
                try await harness.source.update(
                    [MailboxUpdate(ref: ref, record: .task(changed), previous: .task(original))],
                    in: harness.owner
                ).first
            ).get()
            #expect(updated.id == ref.id)
            #expect(updated.changeKey != ref.changeKey, "a write gives a new change key")
            let item = try await read(updated, .tasks, harness)
            #expect(differences(item.record, .task(changed)) == [])

            // The key read before the update is stale now.
            var again = changed
            again.subject = "Offer sent twice"
            let stale = try #require(
                try await harness.source.update([MailboxUpdate(ref: ref, record: .task(again))], in: harness.owner)
                    .first)
            guard case .failure(let error) = stale else { Issue.record("a stale change key was accepted"); return }
            #expect(error.kind == .conflict)
            #expect(differences(try await read(updated, .tasks, harness).record, .task(changed)) == [])
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func deletesAndReportsWhatIsGone(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let refs = try await created([.contact(Self.contact(1)), .contact(Self.contact(2))], harness)
            let results = try await harness.source.delete([refs[0]], in: harness.owner, kind: .contacts)
            #expect(results.count == 1)
            #expect((try? results[0].get()) != nil)
            let again = try await harness.source.delete([refs[0], refs[1]], in: harness.owner, kind: .contacts)
            guard case .failure(let error) = again[0] else { Issue.record("deleting a deleted item succeeded"); return }
            #expect(error.kind == .notFound)
            #expect((try? again[1].get()) != nil, "one missing item does not fail its batch")
            let read = try await harness.source.items([refs[0]], in: harness.owner, kind: .contacts)
            guard case .failure(let missing) = read[0] else { Issue.record("a deleted item was read"); return }
            #expect(missing.kind == .notFound)
            #expect(try await harness.source.allItemRefs(in: harness.owner, kind: .contacts, pageSize: 10).isEmpty)
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func changesFollowABaseline(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            for kind in [ItemKind.contacts, .tasks, .appointments] {
                let user = harness.owner.userID
                let records: [MailboxRecord] =
                    switch kind {
                    case .contacts: (0..<3).map { .contact(Self.contact($0)) }
                    case .tasks: (0..<3).map { .task(Self.task($0, owner: user)) }
                    case .appointments: (0..<3).map { _ in .appointment(Self.appointment(owner: user)) }
                    }
                let refs = try await created(records, harness)
                let baseline = try await drain(kind, from: nil, harness)
                #expect(
                    baseline.upserted.isSuperset(of: refs.map(\.id)), "\(kind.rawValue): the baseline holds every item")
                let quiet = try await drain(kind, from: baseline.state, harness)
                #expect(quiet.upserted.isEmpty && quiet.deleted.isEmpty, "\(kind.rawValue): nothing changed")

                // One changed, one deleted.
                var changed = records[1]
                switch changed {
                case .contact(var c): c.jobTitle = "CFO"; changed = .contact(c)
                case .task(var t): t.subject = "Changed"; changed = .task(t)
                case .appointment(var a): a.subject = "Changed"; changed = .appointment(a)
                }
                let current = try await read(refs[1], kind, harness).ref
                _ = try await harness.source.update([MailboxUpdate(ref: current, record: changed)], in: harness.owner)
                    .map { try $0.get() }
                _ = try await harness.source.delete([refs[2]], in: harness.owner, kind: kind).map { try $0.get() }
                let round = try await drain(kind, from: quiet.state, harness)
                #expect(round.upserted == [refs[1].id], "\(kind.rawValue)")
                #expect(round.deleted == [refs[2].id], "\(kind.rawValue)")
            }
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func anAppointmentMovedOutOfTheWindowIsChangedNotDeleted(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let original = Self.appointment(owner: harness.owner.userID)
            let ref = try await created([.appointment(original)], harness)[0]
            let baseline = try await drain(.appointments, from: nil, harness)
            #expect(baseline.upserted.contains(ref.id))
            var moved = original
            moved.startsAt = Self.date("2026-06-01T10:00:00Z")
            moved.endsAt = Self.date("2026-06-01T11:00:00Z")
            _ = try #require(
                try await harness.source.update(
                    [MailboxUpdate(ref: ref, record: .appointment(moved), previous: .appointment(original))],
                    in: harness.owner
                ).first
            ).get()
            let round = try await drain(.appointments, from: baseline.state, harness)
            #expect(round.deleted.isEmpty, "the appointment still exists")
            #expect(round.upserted == [ref.id])
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func anExpiredSyncStateIsInvalid(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            _ = try await created([.task(Self.task(1, owner: harness.owner.userID))], harness)
            let baseline = try await drain(.tasks, from: nil, harness)
            try harness.simulator.control.expireSyncStates(mailbox: harness.owner.smtpAddress)
            do {
                _ = try await harness.source.changes(
                    in: harness.owner, kind: .tasks, since: baseline.state, window: Self.window, maxChanges: 10)
                Issue.record("an expired sync state was accepted")
            } catch let error as MailboxSourceError {
                #expect(error.kind == .invalidSyncState)
            }
            let fresh = try await drain(.tasks, from: nil, harness)
            #expect(fresh.upserted.count == 1, "a new baseline starts over")
        }
    }

    @Test(arguments: SourceProtocol.allCases)
    func aSeriesRoundTripsAsMasterAndExceptions(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let series = Self.series(owner: harness.owner.userID)
            let ref = try await created([.appointment(series)], harness)[0]
            let item = try await read(ref, .appointments, harness)
            #expect(item.ref == ref, "the create returns the master's latest change key")
            guard case .appointment(let back) = item.record else { Issue.record("not an appointment"); return }
            #expect(back.recurrence != nil)
            #expect(differences(.appointment(back), .appointment(series)) == [])
            #expect(Set(back.exceptions.map(\.originalStart)) == Set(series.exceptions.map(\.originalStart)))
            #expect(back.exceptions.first { $0.isCancelled }?.originalStart == Self.date("2024-03-11T09:00:00Z"))
            let listed = try await harness.source.allItemRefs(in: harness.owner, kind: .appointments, pageSize: 10)
            #expect(listed.map(\.id) == [ref.id], "a series is listed as its master alone")

            // The CRM cancels one more occurrence and moves another.
            var changed = series
            changed.exceptions.append(
                CRMAppointmentException(originalStart: Self.date("2024-03-18T09:00:00Z"), isCancelled: true))
            changed.exceptions.append(
                CRMAppointmentException(
                    originalStart: Self.date("2024-03-20T09:00:00Z"), isCancelled: false,
                    startsAt: Self.date("2024-03-20T14:00:00Z"),
                    endsAt: Self.date("2024-03-20T15:00:00Z")))
            let updated = try #require(
                try await harness.source.update(
                    [
                        MailboxUpdate(
                            ref: item.ref, record: .appointment(changed),
                            previous: .appointment(series))
                    ],
                    in: harness.owner
                ).first
            ).get()
            guard case .appointment(let after) = try await read(updated, .appointments, harness).record else { return }
            #expect(differences(.appointment(after), .appointment(changed)) == [])
            #expect(Set(after.exceptions.map(\.originalStart)) == Set(changed.exceptions.map(\.originalStart)))
        }
    }

    /// Series created together keep their exceptions apart: each gets its own, and one whose exception names no
    /// occurrence of its pattern fails alone, as `ExceptionsNotApplied`.
    @Test(arguments: SourceProtocol.allCases)
    func seriesCreatedTogetherFailOrSucceedEachAlone(_ sourceProtocol: SourceProtocol) async throws {
        try await MailboxSourceHarness.with(sourceProtocol) { harness in
            let first = Self.series(owner: harness.owner.userID)
            var offPattern = Self.series(owner: harness.owner.userID)
            offPattern.exceptions[0].originalStart = Self.date("2024-03-12T09:00:00Z")  // a Tuesday
            var second = Self.series(owner: harness.owner.userID)
            second.subject = "Planning"
            second.exceptions = [
                CRMAppointmentException(originalStart: Self.date("2024-03-06T09:00:00Z"), isCancelled: true)
            ]
            let results = try await harness.source.create(
                [.appointment(first), .appointment(offPattern), .appointment(second)], in: harness.owner)
            guard case .failure(let failed) = results[1] else {
                Issue.record("an exception off the pattern must fail its series: \(results[1])"); return
            }
            #expect(failed.code == "ExceptionsNotApplied" && failed.kind == .permanent)
            for (result, written) in [(results[0], first), (results[2], second)] {
                let ref = try result.get()
                guard case .appointment(let back) = try await read(ref, .appointments, harness).record else {
                    Issue.record("not an appointment"); continue
                }
                #expect(back.subject == written.subject)
                #expect(Set(back.exceptions.map(\.originalStart)) == Set(written.exceptions.map(\.originalStart)))
                #expect(
                    Set(back.exceptions.filter(\.isCancelled).map(\.originalStart))
                        == Set(written.exceptions.filter(\.isCancelled).map(\.originalStart)))
            }
        }
    }
}

import Foundation
import Testing
@testable import ExchangeSimulator

/// Backup and restore of one mailbox or the whole server, as a recovery scenario sees it: content and
/// ChangeKeys roll back, sync states issued after the backup are refused, older ones stay usable.
@Suite struct BackupRestoreTests {
    static let alice = "alice@example.com", bob = "bob@example.com"

    struct Folder {
        var ids: [String]
        var keys: [String]
    }

    static func contacts(_ c: SimClient, _ mailbox: String) async throws -> Folder {
        let r = try await c.ews(Req.findItem(Req.folder("contacts", mailbox: mailbox)))
        return Folder(
            ids: Scrape.all(r.text, attribute: "Id", of: "t:ItemId"),
            keys: Scrape.all(r.text, attribute: "ChangeKey", of: "t:ItemId"))
    }

    static func syncState(
        _ c: SimClient, _ mailbox: String, from state: String? = nil
    ) async throws -> (code: String, state: String?, text: String) {
        let r = try await c.ews(Req.sync(Req.folder("contacts", mailbox: mailbox), state: state))
        return (FaultControlTests.responseCodes(r).first ?? "", Scrape.first(r.text, element: "m:SyncState"), r.text)
    }

    static func subject(
        _ c: SimClient, _ id: String
    ) async throws -> (code: String, subject: String?, changeKey: String?) {
        let r = try await c.ews(
            Req.getItem([id], shape: "IdOnly", additional: "<t:FieldURI FieldURI=\"item:Subject\"/>"))
        return (
            FaultControlTests.responseCodes(r).first ?? "", Scrape.first(r.text, element: "t:Subject"),
            Scrape.all(r.text, attribute: "ChangeKey", of: "t:ItemId").first
        )
    }

    /// Changes a mailbox after the backup: renames its first contact and adds one.
    static func changeAfterBackup(_ c: SimClient, _ mailbox: String, _ before: Folder) async throws -> String {
        let renamed = try await c.ews(
            Req.setSubject(id: before.ids[0], changeKey: before.keys[0], subject: "Renamed after backup"))
        #expect(FaultControlTests.responseCodes(renamed) == ["NoError"])
        let created = try await c.ews(Req.createItem(Req.contact(9), folder: Req.folder("contacts", mailbox: mailbox)))
        return try #require(Scrape.all(created.text, attribute: "Id", of: "t:ItemId").first)
    }

    @Test func mailboxRestoreRollsBackContentAndChangeKeysAndRejectsLaterSyncStates() async throws {
        try await withSimulator { sim, c in
            for m in [Self.alice, Self.bob] { try sim.control.seed(SeedRequest(mailbox: m, seed: 3, contacts: 4)) }
            let before = try await Self.contacts(c, Self.alice)
            let beforeSubject = try await Self.subject(c, before.ids[0])
            let early = try #require(try await Self.syncState(c, Self.alice).state)  // issued before the backup

            let backup = try await c.control("POST", "/sim/backups", #"{"name":"b1","mailbox":"alice@example.com"}"#)
            #expect(backup.status == 200)
            #expect(try await c.control("GET", "/sim/backups").text == #"["b1"]"#)

            let added = try await Self.changeAfterBackup(c, Self.alice, before)
            let bobBefore = try await Self.contacts(c, Self.bob)
            _ = try await Self.changeAfterBackup(c, Self.bob, bobBefore)
            // issued after the backup
            let late = try #require(try await Self.syncState(c, Self.alice, from: early).state)
            #expect(try await Self.subject(c, before.ids[0]).changeKey != before.keys[0])

            let restore = try await c.control("POST", "/sim/restore", #"{"name":"b1","mailbox":"alice@example.com"}"#)
            #expect(restore.status == 200)

            // Content and ChangeKeys are the backup's; the item created later is gone.
            let restored = try await Self.subject(c, before.ids[0])
            #expect(restored.subject == beforeSubject.subject)
            #expect(restored.changeKey == before.keys[0], "items carry their older ChangeKeys")
            #expect(try await Self.subject(c, added).code == "ErrorItemNotFound")
            #expect(try await Self.contacts(c, Self.alice).ids == before.ids)

            // A state from after the backup is refused; one from before it still syncs, with nothing to report.
            let refused = try await Self.syncState(c, Self.alice, from: late)
            #expect(refused.code == "ErrorInvalidSyncStateData")
            let resumed = try await Self.syncState(c, Self.alice, from: early)
            #expect(resumed.code == "NoError")
            #expect(
                Scrape.count(resumed.text, "<t:Create>") + Scrape.count(resumed.text, "<t:Update>")
                    + Scrape.count(resumed.text, "<t:Delete>") == 0)
            // A full resync after the refusal sees the restored content.
            let full = try await Self.syncState(c, Self.alice)
            #expect(Scrape.count(full.text, "<t:Create>") == 4)
            #expect(
                try await Self.syncState(c, Self.alice, from: full.state).code == "NoError",
                "states issued after the restore are valid")

            // Only alice was restored: bob keeps the change made after the backup.
            #expect(try await Self.contacts(c, Self.bob).ids.count == 5)
            // An old ChangeKey is current again: an update with it succeeds without conflict.
            let update = try await c.ews(
                Req.setSubject(
                    id: before.ids[0], changeKey: before.keys[0], subject: "After restore", resolution: "NeverOverwrite"
                ))
            #expect(FaultControlTests.responseCodes(update) == ["NoError"])
            // ... and the next change gets a ChangeKey never handed out before.
            let newKey = try #require(Scrape.all(update.text, attribute: "ChangeKey", of: "t:ItemId").first)
            #expect(newKey != before.keys[0] && newKey != restored.changeKey)
        }
    }

    @Test func wholeServerRestoreRollsBackEveryMailbox() async throws {
        try await withSimulator { sim, c in
            for m in [Self.alice, Self.bob] { try sim.control.seed(SeedRequest(mailbox: m, seed: 5, contacts: 3)) }
            let a = try await Self.contacts(c, Self.alice), b = try await Self.contacts(c, Self.bob)
            try sim.control.backup(name: "nightly")
            _ = try await Self.changeAfterBackup(c, Self.alice, a)
            _ = try await Self.changeAfterBackup(c, Self.bob, b)
            let lateA = try #require(try await Self.syncState(c, Self.alice).state)
            let lateB = try #require(try await Self.syncState(c, Self.bob).state)

            #expect(try await c.control("POST", "/sim/restore", #"{"name":"nightly"}"#).status == 200)
            #expect(try await Self.contacts(c, Self.alice).keys == a.keys)
            #expect(try await Self.contacts(c, Self.bob).keys == b.keys)
            #expect(try await Self.syncState(c, Self.alice, from: lateA).code == "ErrorInvalidSyncStateData")
            #expect(try await Self.syncState(c, Self.bob, from: lateB).code == "ErrorInvalidSyncStateData")
        }
    }

    @Test func unknownBackupOrMailboxIsAControlAPIError() async throws {
        try await withSimulator { _, c in
            let r = try await c.control("POST", "/sim/restore", #"{"name":"nope"}"#)
            #expect(r.status == 404 && r.text.contains("NoSuchBackup"))
            let m = try await c.control("POST", "/sim/backups", #"{"name":"x","mailbox":"ghost@example.com"}"#)
            #expect(m.status == 404 && m.text.contains("NoSuchMailbox"))
            #expect(try await c.control("POST", "/sim/backups", "not json").status == 400)
        }
    }
}

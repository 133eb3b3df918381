import Foundation
import Testing
import SyncCore
import TestSupport
import XML
@testable import EWS

@Suite struct EWSRequestValidationTests {
    /// One request of every operation (both access modes, every kind), as the client builds them.
    static func allRequests() throws -> [EWSSOAPRequest] {
        let impersonated = Fixtures.context
        let delegated = EWSRequestContext(mailbox: "ben@example.com", access: .delegate, version: .exchange2016)
        let contactModel = try EWSMappings.contact.model(of: Fixtures.contact)
        let calendarModel = try EWSMappings.appointment.model(of: Fixtures.appointment)
        let taskModel = try EWSMappings.task.model(of: Fixtures.task)
        var changed = Fixtures.contact
        changed.email2 = nil
        changed.city = "Hamburg"
        changed.categories = []
        var changedAppointment = Fixtures.appointment
        changedAppointment.recurrence = "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6"
        changedAppointment.attendees.removeAll { $0.kind == .optional }
        let id = ItemId("AAMkAGI2=", changeKey: "CQAAABYA")
        return [
            EWSRequests.getFolder([.distinguished(.contacts), .distinguished(.calendar)], context: impersonated),
            EWSRequests.getFolder([.distinguished(.tasks)], context: delegated),
            EWSRequests.findItem(in: .distinguished(.contacts), offset: 2000, maxEntries: 1000, context: impersonated),
            EWSRequests.findItem(
                in: .distinguished(.calendar), offset: 0, maxEntries: 1000,
                restriction: .and([
                    .isGreaterThanOrEqualTo(.field("calendar:Start"), "2024-01-01T00:00:00Z"),
                    .isLessThan(.field("calendar:Start"), "2025-01-01T00:00:00Z"),
                ]),
                context: delegated),
            EWSRequests.findItem(
                in: .distinguished(.tasks), offset: 0, maxEntries: 100,
                restriction: .crmIDs([Fixtures.task.id, Fixtures.contact.id]),
                additionalProperties: [.extended(.snapsyncCRMId)], context: impersonated),
            EWSRequests.getItem(
                [id, ItemId("AAMkB")], additionalProperties: EWSMappings.contact.fieldURIs, context: impersonated),
            EWSRequests.getItem([id], additionalProperties: EWSMappings.appointment.fieldURIs, context: delegated),
            EWSRequests.getItem([id], additionalProperties: EWSMappings.task.fieldURIs, context: impersonated),
            EWSRequests.createItem(count: 2, in: .distinguished(.contacts), context: impersonated) { _, w in
                EWSMappings.contact.writeItem(contactModel, into: &w)
            },
            EWSRequests.createItem(count: 1, in: .distinguished(.calendar), context: delegated) { _, w in
                EWSMappings.appointment.writeItem(calendarModel, into: &w)
            },
            EWSRequests.createItem(count: 1, in: .distinguished(.tasks), context: impersonated) { _, w in
                EWSMappings.task.writeItem(taskModel, into: &w)
            },
            EWSRequests.updateItem(
                [
                    (id, try EWSMappings.contact.updates(from: Fixtures.contact, to: changed)),
                    (ItemId("AAMkB", changeKey: "CQ2"), try EWSMappings.contact.updates(from: nil, to: changed)),
                ], context: impersonated),
            EWSRequests.updateItem(
                [(id, try EWSMappings.appointment.updates(from: Fixtures.appointment, to: changedAppointment))],
                conflictResolution: .neverOverwrite, context: delegated),
            EWSRequests.updateItem(
                [(id, try EWSMappings.task.updates(from: nil, to: Fixtures.task))], context: impersonated),
            EWSRequests.deleteItem([id, ItemId("AAMkB")], context: impersonated),
            EWSRequests.updateItem(
                targets: try EWSExceptionPlan.operations(for: EWSExceptionPlanTests.series).compactMap { operation in
                    guard case .modify(let index, let updates) = operation else { return nil }
                    return (.occurrence(master: id, instanceIndex: index), updates)
                } + [(.item(id), try EWSMappings.appointment.updates(from: nil, to: EWSExceptionPlanTests.series))],
                context: delegated),
            EWSRequests.deleteItem(
                targets: [
                    .occurrence(master: id, instanceIndex: 3), .occurrence(master: ItemId("AAMkB"), instanceIndex: 1),
                    .item(ItemId("AAMkC")),
                ], context: impersonated),
            EWSRequests.syncFolderItems(
                .distinguished(.calendar), syncState: nil, maxChanges: 512, context: impersonated),
            EWSRequests.syncFolderItems(
                .id(FolderId("AQMkA==", changeKey: "AQAAAA==")), syncState: "H4sIAAAAAAAEAO29B2AcSZY==",
                maxChanges: 100, context: delegated),
            EWSRequests.convertId(["AAMkLegacy"], sourceFormat: "EwsLegacyId", context: impersonated),
        ]
    }

    @Test func everyOperationValidatesAgainstTheOfficialSchema() async throws {
        let validate = try Fixtures.sharedDirectory.appendingPathComponent("ews-schema/validate")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ews-requests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String] = []
        for (index, request) in try Self.allRequests().enumerated() {
            let file = directory.appendingPathComponent("\(index)-\(request.operation).xml")
            try Data(request.body).write(to: file)
            files.append(file.path)
        }
        // Awaited, not waited for: the validator runs for seconds, a blocked pool thread for as long.
        let result = try await ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [validate.path] + files)
        #expect(result.status == 0, "validate failed:\n\(result.output)")
    }

    @Test func impersonationAndDelegateAddressTheMailbox() throws {
        let requests = try Self.allRequests()
        let impersonated = String(decoding: requests[0].body, as: UTF8.self)
        #expect(
            impersonated.contains(
                "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>anna@example.com</t:PrimarySmtpAddress>"
            ))
        #expect(impersonated.contains(#"<t:RequestServerVersion Version="Exchange2013_SP1"/>"#))
        let delegated = String(decoding: requests[1].body, as: UTF8.self)
        #expect(!delegated.contains("ExchangeImpersonation"))
        #expect(
            delegated.contains(
                #"<t:DistinguishedFolderId Id="tasks"><t:Mailbox><t:EmailAddress>ben@example.com</t:EmailAddress></t:Mailbox>"#
            ))
        #expect(delegated.contains(#"Version="Exchange2016""#))
    }

    @Test func updatesCarryOnlyChangedFields() throws {
        var changed = Fixtures.contact
        changed.email2 = nil
        changed.city = "Hamburg"
        let updates = String(
            decoding: try EWSMappings.contact.updates(from: Fixtures.contact, to: changed), as: UTF8.self)
        #expect(
            updates
                == #"<t:DeleteItemField><t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress2"/></t:DeleteItemField>"#
                + #"<t:SetItemField><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:City" FieldIndex="Business"/><t:Contact>"#
                + #"<t:PhysicalAddresses><t:Entry Key="Business"><t:City>Hamburg</t:City></t:Entry></t:PhysicalAddresses></t:Contact></t:SetItemField>"#
        )
        #expect(try EWSMappings.contact.updates(from: Fixtures.contact, to: Fixtures.contact).isEmpty)
    }

    @Test func createsStampTheCRMId() throws {
        let model = try EWSMappings.task.model(of: Fixtures.task)
        var writer = XMLWriter(declaration: false)
        EWSMappings.task.writeItem(model, into: &writer)
        #expect(
            writer.string.contains(
                #"PropertySetId="5C1B9E4A-3F0D-4C55-9B6E-5D7A2E8C1F30" PropertyName="SnapsyncCrmId" PropertyType="String"/><t:Value>c0ffee00-1234-4567-89ab-cdef01234567</t:Value>"#
            ))
    }
}

import Foundation
import SyncCore
import XML

/// The CRM ↔ EWS mapping of one item kind: its table of field rules and everything derived from it.
public struct EWSMapping<Record, Model: EWSItemFields>: Sendable {
    /// The rules, in the order the EWS schema wants the elements inside the item element.
    public let rules: [EWSFieldRule<Record, Model>]
    /// The folder of this kind.
    public let folder: DistinguishedFolder
    let makeRecord: @Sendable (Model) -> Record
    let recordID: @Sendable (Record) -> UUID

    /// The EWS model of a CRM record (id stamped as the CRM id property).
    /// Throws ``EWSError`` with code ``EWSError/Code/invalidRequest(_:)`` when a value cannot be expressed.
    public func model(of record: Record, operation: String = "map", mailbox: String? = nil) throws(EWSError) -> Model {
        var model = Model()
        for rule in rules where rule.isWritable {
            do { try rule.toModel(record, &model) } catch {
                throw EWSError(
                    code: .invalidRequest("\(rule.column): \(error)"), operation: operation, mailbox: mailbox,
                    message: "record \(recordID(record).lowercasedString) cannot be written to Exchange")
            }
        }
        return model
    }

    /// The CRM record an EWS item stands for. Columns the mapping does not cover (owner, version,
    /// updated_at) come from `makeRecord`'s defaults and are the pipeline's to set.
    public func record(of model: Model) -> Record {
        var record = makeRecord(model)
        for rule in rules { rule.toRecord(model, &record) }
        return record
    }

    /// Why `model`, as read from Exchange, is not a record of this kind: a value that could not be read, a required
    /// field missing, a value outside its property's set. Names the field, never its value; nil for a mappable item.
    public func problem(in model: Model) -> String? {
        if let field = model.unreadableFields.first { return "field \(field) cannot be read" }
        for rule in rules { if let check = rule.problem, let problem = check(model) { return problem } }
        return nil
    }

    /// The properties to ask for in GetItem/FindItem (`AdditionalProperties`).
    public var fieldURIs: [EWSFieldURI] {
        var seen = Set<EWSFieldURI>()
        return ([.field("item:LastModifiedTime")] + rules.map(\.fieldURI)).filter { seen.insert($0).inserted }
    }

    /// Writes the item element for CreateItem: every writable field that has a value, in schema order.
    public func writeItem(_ model: Model, into writer: inout XMLWriter) {
        writer.element("t:\(Model.elementName)") { w in
            writeFields(rules.filter { $0.isWritable && $0.hasValue(model) }, of: model, into: &w)
        }
    }

    /// The `Updates` of an UpdateItem change turning `previous` into `record` (every writable field when
    /// `previous` is nil): a SetItemField per changed field with a value, a DeleteItemField per field
    /// that became empty. Empty when nothing changed. Columns in `unchanged` are never written (the
    /// caller knows the item already has their values).
    public func updates(
        from previous: Record?, to record: Record, operation: String = "UpdateItem",
        mailbox: String? = nil, unchanged: Set<String> = []
    ) throws(EWSError) -> [UInt8] {
        let model = try self.model(of: record, operation: operation, mailbox: mailbox)
        var writer = XMLWriter(declaration: false, reservingCapacity: 1024)
        for rule in rules where rule.isWritable && !unchanged.contains(rule.column) {
            if let previous, rule.sameInRecords(previous, record) { continue }
            if case .extended = rule.fieldURI, previous != nil { continue }  // the CRM id never changes
            if rule.hasValue(model) {
                writer.element("t:SetItemField") { w in
                    rule.fieldURI.write(into: &w)
                    w.element("t:\(Model.elementName)") { w in writeFields([rule], of: model, into: &w) }
                }
            } else if previous != nil || !isExtended(rule) {
                writer.element("t:DeleteItemField") { w in rule.fieldURI.write(into: &w) }
            }
        }
        return writer.bytes
    }

    private func isExtended(_ rule: EWSFieldRule<Record, Model>) -> Bool {
        if case .extended = rule.fieldURI { return true }
        return false
    }

    /// Writes fields, opening each run of shared containers once (e.g. one `t:EmailAddresses` around
    /// all three addresses, one `t:Entry Key="Business"` around street, city, …).
    private func writeFields(_ rules: [EWSFieldRule<Record, Model>], of model: Model, into writer: inout XMLWriter) {
        var open: [EWSContainer] = []
        for rule in rules {
            var shared = 0
            while shared < open.count, shared < rule.containers.count, open[shared] == rule.containers[shared] {
                shared += 1
            }
            for _ in shared..<open.count { writer.endElement() }
            open.removeLast(open.count - shared)
            for container in rule.containers[shared...] {
                if let key = container.key {
                    writer.startElement(container.element, attributes: ["Key": key])
                } else {
                    writer.startElement(container.element)
                }
                open.append(container)
            }
            rule.writeValue(model, &writer)
        }
        for _ in open { writer.endElement() }
    }
}

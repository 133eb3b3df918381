import Foundation

extension EWSService {
    /// Finds a stored item by an `ItemId` element; errors as Exchange reports them.
    func lookupItem(_ e: XElement, in s: StoreState) throws(EWSFailure) -> (mailbox: String, item: StoredItem) {
        let p: (mailbox: String, number: UInt64)
        switch e.name {
        case "ItemId":
            guard let id = e.attr("Id"), let parsed = Identifier.parseItemId(id) else { throw .idMalformed() }
            p = parsed
        case "RecurringMasterItemId":
            // The master of the series an occurrence (or exception) id belongs to.
            guard let id = e.attr("OccurrenceId") else {
                throw .schemaValidation("RecurringMasterItemId requires an OccurrenceId.")
            }
            if let occurrence = Identifier.parseOccurrenceId(id) {
                p = (occurrence.mailbox, occurrence.master)
            } else if Identifier.parseItemId(id) != nil {
                throw EWSFailure(
                    code: "ErrorCalendarCannotUseIdForRecurringMasterId",
                    message:
                        "The Id of a single calendar item or recurring master cannot be used as the OccurrenceId of a RecurringMasterItemId."
                )
            } else {
                throw .idMalformed()
            }
        default:
            throw .schemaValidation("Unexpected item id element '\(e.name)'.")
        }
        guard let m = s.mailbox(p.mailbox) else { throw .itemNotFound() }
        guard let folder = m.locations[p.number], let item = m.folders[folder]?.items[p.number] else {
            throw .itemNotFound()
        }
        return (m.address, item)
    }

    func getItem(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        let shape = try ItemShape(body.child("ItemShape"))
        guard let ids = body.child("ItemIds") else { throw .schemaValidation("GetItem requires ItemIds.") }
        return store.withState { s in
            SOAPEnvelope.response("GetItem", capacity: 1024 * ids.children.count) { w in
                for id in ids.children {
                    do {
                        if try getOccurrence(id, in: s, shape: shape, into: &w) { continue }
                        let (mb, item) = try lookupItem(id, in: s)
                        SOAPEnvelope.openSuccess(&w, "GetItem")
                        w.open("m:Items")
                        Self.writeItem(&w, item, mailbox: mb, shape: shape)
                        w.close("m:Items")
                        w.close("m:GetItemResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "GetItem", error)
                    }
                }
            }
        }
    }

    /// Splits a request item element into stored fields and extended properties.
    static func decodeItem(
        _ e: XElement
    ) throws(EWSFailure) -> (ExchangeItemType, [String: XElement], [ExtendedProperty]) {
        guard let kind = ExchangeItemType(rawValue: e.name) else {
            throw EWSFailure(
                code: "ErrorObjectTypeChanged",
                message: "This server stores Contact, CalendarItem and Task items; '\(e.name)' is not supported.")
        }
        var fields: [String: XElement] = [:]
        fields.reserveCapacity(e.children.count + 12)  // and the computed fields the store adds (`applyComputed`)
        var ext: [ExtendedProperty] = []
        for c in e.children {
            switch c.name {
            case "ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "DateTimeReceived",
                "CalendarItemType",
                "IsRecurring", "IsMeeting", "IsComplete", "HasAttachments", "Size":
                continue
            case "ExtendedProperty":
                ext.append(try decodeExtended(c))
            default:
                guard kind.elementRank[c.name] != nil else {
                    throw .schemaValidation("The element '\(c.name)' is not valid in \(kind.rawValue).")
                }
                var v = c
                v.ns = NS.types
                if v.children.isEmpty { v.text = FieldValue.normalize(field: v.name, v.text) }
                fields[c.name] = v
            }
        }
        try checkPercentComplete(fields)
        return (kind, fields, ext)
    }

    /// A task's PercentComplete is a number from 0 to 100, or Exchange refuses the item.
    static func checkPercentComplete(_ fields: [String: XElement]) throws(EWSFailure) {
        guard let text = fields["PercentComplete"]?.text else { return }
        guard let value = Double(text), (0...100).contains(value) else {
            throw EWSFailure(
                code: "ErrorInvalidPercentCompleteValue", message: "PercentComplete must be between 0 and 100.")
        }
    }

    static func decodeExtended(_ c: XElement) throws(EWSFailure) -> ExtendedProperty {
        guard let uri = c.child("ExtendedFieldURI"), let key = ExtendedProperty.key(of: uri) else {
            throw .schemaValidation("ExtendedProperty needs a valid ExtendedFieldURI.")
        }
        if let values = c.child("Values") {
            return ExtendedProperty(
                key: key, uri: uri.attributes, values: values.all("Value").map(\.text), isMulti: true)
        }
        return ExtendedProperty(key: key, uri: uri.attributes, values: [c.child("Value")?.text ?? ""], isMulti: false)
    }

    static func defaultFolder(_ kind: ExchangeItemType) -> String {
        switch kind {
        case .contact: "contacts"
        case .calendarItem: "calendar"
        case .task: "tasks"
        }
    }

    func createItem(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let items = body.child("Items") else { throw .schemaValidation("CreateItem requires Items.") }
        let now = self.now()
        return try store.withState { (s: inout StoreState) throws(EWSFailure) -> [UInt8] in
            var target: (mailbox: String, key: String)?
            if let saved = body.child("SavedItemFolderId")?.children.first {
                target = try resolveFolder(saved, mailbox: mailbox, in: s)
            } else if s.mailbox(mailbox) == nil {
                throw .nonExistentMailbox(mailbox)
            }
            var created: [Result<(String, StoredItem), EWSFailure>] = []
            for e in items.children {
                do {
                    let (kind, fields, ext) = try Self.decodeItem(e)
                    let mb = target?.mailbox ?? mailbox
                    let folder = target?.key ?? Self.defaultFolder(kind)
                    let item = s.insertItem(
                        mailbox: mb, folder: folder, kind: kind, fields: fields, extended: ext, now: now)
                    created.append(.success((mb, item)))
                } catch {
                    created.append(.failure(EWSFailure(error)))
                }
            }
            return SOAPEnvelope.response("CreateItem", capacity: 256 * created.count) { w in
                for r in created {
                    switch r {
                    case .success(let (mb, item)):
                        SOAPEnvelope.openSuccess(&w, "CreateItem")
                        w.open("m:Items")
                        Self.writeItem(&w, item, mailbox: mb, shape: ItemShape())
                        w.close("m:Items")
                        w.close("m:CreateItemResponseMessage")
                    case .failure(let f):
                        SOAPEnvelope.error(&w, "CreateItem", f)
                    }
                }
            }
        }
    }

    func deleteItem(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let ids = body.child("ItemIds") else { throw .schemaValidation("DeleteItem requires ItemIds.") }
        let type = body.attr("DeleteType") ?? "MoveToDeletedItems"
        guard ["HardDelete", "SoftDelete", "MoveToDeletedItems"].contains(type) else {
            throw .schemaValidation("Invalid DeleteType '\(type)'.")
        }
        let now = self.now()
        return store.withState { s in
            SOAPEnvelope.response("DeleteItem") { w in
                for id in ids.children {
                    do {
                        if try deleteOccurrence(id, in: &s, now: now, into: &w) { continue }
                        let (mb, item) = try lookupItem(id, in: s)
                        if type == "MoveToDeletedItems" && item.folder != "deleteditems" {
                            _ = s.moveItem(mailbox: mb, number: item.number, to: "deleteditems", now: now)
                        } else {
                            _ = s.removeItem(mailbox: mb, number: item.number)
                        }
                        SOAPEnvelope.openSuccess(&w, "DeleteItem")
                        w.close("m:DeleteItemResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "DeleteItem", error)
                    }
                }
            }
        }
    }

    func updateItem(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let changes = body.child("ItemChanges") else {
            throw .schemaValidation("UpdateItem requires ItemChanges.")
        }
        let resolution = body.attr("ConflictResolution") ?? "AutoResolve"
        guard ["NeverOverwrite", "AutoResolve", "AlwaysOverwrite"].contains(resolution) else {
            throw .schemaValidation("Invalid ConflictResolution '\(resolution)'.")
        }
        let now = self.now()
        return store.withState { s in
            SOAPEnvelope.response("UpdateItem", capacity: 300 * changes.children.count) { w in
                for change in changes.children {
                    do {
                        guard let idElement = change.children.first(where: { $0.name.hasSuffix("ItemId") }) else {
                            throw EWSFailure.schemaValidation("ItemChange requires an ItemId.")
                        }
                        if try updateOccurrence(
                            change, id: idElement, in: &s, resolution: resolution, now: now, into: &w)
                        {
                            continue
                        }
                        let (mb, item) = try lookupItem(idElement, in: s)
                        var (updated, conflicts) = try Self.applyUpdates(
                            change.child("Updates")?.children ?? [], to: item,
                            changeKey: idElement.attr("ChangeKey"), resolution: resolution)
                        if updated.changed.contains("Recurrence") { Self.resetOccurrences(of: &updated.item) }
                        let stored = s.replaceItem(mailbox: mb, updated.item, changedFields: updated.changed, now: now)
                        SOAPEnvelope.openSuccess(&w, "UpdateItem")
                        w.open("m:Items")
                        Self.writeItem(&w, stored, mailbox: mb, shape: ItemShape())
                        w.close("m:Items")
                        w.open("m:ConflictResults"); w.leaf("t:Count", String(conflicts)); w.close("m:ConflictResults")
                        w.close("m:UpdateItemResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "UpdateItem", error)
                    }
                }
            }
        }
    }

    /// Applies Set/Append/Delete updates with Exchange's conflict rules. Returns the changed item and
    /// the number of conflicting properties overwritten.
    static func applyUpdates(
        _ updates: [XElement], to original: StoredItem, changeKey: String?,
        resolution: String
    ) throws(EWSFailure) -> ((item: StoredItem, changed: Set<String>), Int) {
        var item = original
        var changed: Set<String> = []
        var touched: [String] = []
        for u in updates {
            guard let pathElement = u.children.first(where: { $0.name.hasSuffix("FieldURI") }),
                let path = PropertyPath.parse(pathElement)
            else {
                throw .schemaValidation("\(u.name) requires a FieldURI, IndexedFieldURI or ExtendedFieldURI.")
            }
            let source = u.children.first { $0.name != pathElement.name }
            switch (u.name, path) {
            case ("DeleteItemField", .extended(let key, _)):
                item.extended.removeAll { $0.key == key }
                touched.append("ext:" + key)
            case ("DeleteItemField", .field(let name)):
                item.fields[name] = nil
                touched.append(name); changed.insert(name)
            case ("DeleteItemField", .indexed(let element, let sub, let key)):
                if var dict = item.fields[element], let i = dict.children.firstIndex(where: { $0.attr("Key") == key }) {
                    if let sub {
                        dict.children[i].children.removeAll { $0.name == sub }
                    } else {
                        dict.children.remove(at: i)
                    }
                    if let s = sub, dict.children[i].children.isEmpty && s != "" { dict.children.remove(at: i) }
                    item.fields[element] = dict.children.isEmpty ? nil : dict
                }
                touched.append(element); changed.insert(element)
            case ("SetItemField", _), ("AppendToItemField", _):
                guard let source else {
                    throw .schemaValidation("\(u.name) requires an item element with the new value.")
                }
                guard ExchangeItemType(rawValue: source.name) == item.kind || source.name == "Item" else {
                    throw EWSFailure(code: "ErrorObjectTypeChanged", message: "The item type cannot be changed.")
                }
                if case .extended(let key, _) = path {
                    guard let e = source.child("ExtendedProperty") else {
                        throw .schemaValidation("SetItemField needs an ExtendedProperty.")
                    }
                    let p = try decodeExtended(e)
                    if let i = item.extended.firstIndex(where: { $0.key == key }) {
                        item.extended[i] = p
                    } else {
                        item.extended.append(p)
                    }
                    touched.append("ext:" + key)
                    continue
                }
                guard var value = source.children.first else { throw .schemaValidation("\(u.name) has no value.") }
                guard item.kind.elementRank[value.name] != nil else {
                    throw .schemaValidation("The element '\(value.name)' is not valid in \(item.kind.rawValue).")
                }
                value.ns = NS.types
                let name = value.name
                if u.name == "AppendToItemField", let existing = item.fields[name] {
                    var merged = existing
                    if value.children.isEmpty { merged.text += value.text } else { merged.children += value.children }
                    item.fields[name] = merged
                } else if case .indexed = path, let existing = item.fields[name] {
                    item.fields[name] = mergeDictionary(existing, value)
                } else {
                    if value.children.isEmpty { value.text = FieldValue.normalize(field: name, value.text) }
                    item.fields[name] = value
                }
                touched.append(name); changed.insert(name)
            default:
                throw .schemaValidation("Unexpected update '\(u.name)'.")
            }
        }
        if changed.contains("PercentComplete") { try checkPercentComplete(item.fields) }
        // Conflict detection: compare the client's ChangeKey with the item's.
        var conflicts = 0
        if let changeKey {
            guard let known = Identifier.parseChangeKey(changeKey) else { throw .idMalformed() }
            if known != original.changeNumber {
                let conflicting = touched.filter { (original.fieldChanges[$0] ?? 0) > known }
                switch resolution {
                case "NeverOverwrite": throw .irresolvableConflict()
                case "AutoResolve": if !conflicting.isEmpty { throw .irresolvableConflict() }
                default: conflicts = conflicting.count
                }
            }
        } else if resolution == "NeverOverwrite" {
            throw .changeKeyRequired()
        }
        return ((item, changed), conflicts)
    }

    /// Merges dictionary entries (`Entry Key=...`) of `update` into `existing`, entry by entry and, for
    /// physical addresses, sub-element by sub-element in schema order.
    static func mergeDictionary(_ existing: XElement, _ update: XElement) -> XElement {
        var out = existing
        let addressOrder = ["Street", "City", "State", "CountryOrRegion", "PostalCode"]
        for entry in update.children {
            let key = entry.attr("Key")
            guard let i = out.children.firstIndex(where: { $0.attr("Key") == key }) else {
                out.children.append(entry); continue
            }
            if entry.children.isEmpty {
                out.children[i] = entry
            } else {
                var cur = out.children[i]
                for c in entry.children {
                    if let j = cur.children.firstIndex(where: { $0.name == c.name }) {
                        cur.children[j] = c
                    } else {
                        cur.children.append(c)
                    }
                }
                cur.children.sort {
                    (addressOrder.firstIndex(of: $0.name) ?? 9) < (addressOrder.firstIndex(of: $1.name) ?? 9)
                }
                out.children[i] = cur
            }
        }
        return out
    }
}

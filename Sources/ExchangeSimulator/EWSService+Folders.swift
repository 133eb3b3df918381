import Foundation

extension EWSService {
    /// Resolves a `DistinguishedFolderId` or `FolderId` element to (mailbox, folder key).
    func resolveFolder(
        _ e: XElement, mailbox: String, in s: StoreState
    ) throws(EWSFailure) -> (mailbox: String, key: String) {
        let mb: String, key: String
        switch e.name {
        case "DistinguishedFolderId":
            guard let id = e.attr("Id") else { throw .schemaValidation("DistinguishedFolderId has no Id attribute.") }
            mb = e.path("Mailbox", "EmailAddress")?.value.lowercased() ?? mailbox
            key = id
        case "FolderId":
            guard let id = e.attr("Id") else { throw .schemaValidation("FolderId has no Id attribute.") }
            guard let p = Identifier.parseFolderId(id) else { throw .idMalformed() }
            mb = p.mailbox; key = p.key
        default:
            throw .schemaValidation("Unexpected folder id element '\(e.name)'.")
        }
        guard let m = s.mailbox(mb) else { throw .nonExistentMailbox(mb) }
        guard m.folders[key] != nil else { throw .folderNotFound() }
        return (m.address, key)
    }

    /// Writes a folder element (`t:Folder`, `t:ContactsFolder`, ...) in schema order.
    func writeFolder(
        _ w: inout XMLWriter, _ f: StoredFolder, mailbox: StoredMailbox, idOnly: Bool, requested: Set<String>,
        extended: [XElement] = []
    ) {
        let q = "t:" + f.elementName
        w.open(q)
        w.empty(
            "t:FolderId",
            [
                ("Id", Identifier.folderId(mailbox: mailbox.address, key: f.key)),
                ("ChangeKey", Identifier.changeKey(f.version)),
            ])
        func want(_ n: String) -> Bool { !idOnly || requested.contains(n) }
        if want("ParentFolderId"), let p = f.parent {
            w.empty(
                "t:ParentFolderId",
                [("Id", Identifier.folderId(mailbox: mailbox.address, key: p)), ("ChangeKey", "AQAAAA==")])
        }
        if want("FolderClass"), let c = f.folderClass { w.leaf("t:FolderClass", c) }
        if want("DisplayName") { w.leaf("t:DisplayName", f.displayName) }
        if want("TotalCount") { w.leaf("t:TotalCount", String(f.items.count)) }
        if want("ChildFolderCount") {
            w.leaf("t:ChildFolderCount", String(mailbox.folders.values.filter { $0.parent == f.key }.count))
        }
        // Extended properties of the shape: the computed folder properties; a folder stores no others.
        for uri in extended {
            if let key = ExtendedProperty.key(of: uri), let value = MAPIProperty.byKey[key]?.value(in: f) {
                w.element(MAPIProperty.element(uri, value))
            }
        }
        if want("DistinguishedFolderId") { w.leaf("t:DistinguishedFolderId", f.key) }
        if want("UnreadCount"), f.elementName == "Folder" || f.elementName == "TasksFolder" {
            w.leaf("t:UnreadCount", "0")
        }
        w.close(q)
    }

    private func folderShape(_ body: XElement) -> (idOnly: Bool, requested: Set<String>, extended: [XElement]) {
        let shape = body.child("FolderShape")
        let idOnly = shape?.child("BaseShape")?.value == "IdOnly"
        var req: Set<String> = [], extended: [XElement] = []
        for p in shape?.child("AdditionalProperties")?.children ?? [] {
            if let uri = p.attr("FieldURI") { req.insert(PropertyPath.elementName(uri)) }
            if p.name == "ExtendedFieldURI" { extended.append(p) }
        }
        return (idOnly, req, extended)
    }

    func getFolder(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let ids = body.child("FolderIds") else { throw .schemaValidation("GetFolder requires FolderIds.") }
        let (idOnly, requested, extended) = folderShape(body)
        return store.withState { s in
            SOAPEnvelope.response("GetFolder") { w in
                for id in ids.children {
                    do {
                        let (mb, key) = try resolveFolder(id, mailbox: mailbox, in: s)
                        let m = s.mailbox(mb)!
                        SOAPEnvelope.openSuccess(&w, "GetFolder")
                        w.open("m:Folders")
                        writeFolder(
                            &w, m.folders[key]!, mailbox: m, idOnly: idOnly, requested: requested, extended: extended)
                        w.close("m:Folders")
                        w.close("m:GetFolderResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "GetFolder", error)
                    }
                }
            }
        }
    }

    func findFolder(_ body: XElement, mailbox: String) throws(EWSFailure) -> [UInt8] {
        guard let parents = body.child("ParentFolderIds") else {
            throw .schemaValidation("FindFolder requires ParentFolderIds.")
        }
        let deep = body.attr("Traversal") == "Deep"
        let (idOnly, requested, extended) = folderShape(body)
        let view = body.child("IndexedPageFolderView")
        let offset = view?.attr("Offset").flatMap(Int.init) ?? 0
        let maxEntries = view?.attr("MaxEntriesReturned").flatMap(Int.init) ?? Int.max
        return store.withState { s in
            SOAPEnvelope.response("FindFolder") { w in
                for id in parents.children {
                    do {
                        let (mb, key) = try resolveFolder(id, mailbox: mailbox, in: s)
                        let m = s.mailbox(mb)!
                        var found: [StoredFolder] = []
                        var frontier = [key]
                        while let k = frontier.first {
                            frontier.removeFirst()
                            let kids = m.folders.values.filter { $0.parent == k }.sorted {
                                $0.displayName < $1.displayName
                            }
                            found += kids
                            if deep { frontier += kids.map(\.key) }
                        }
                        let page = Array(found.dropFirst(offset).prefix(maxEntries))
                        SOAPEnvelope.openSuccess(&w, "FindFolder")
                        w.open(
                            "m:RootFolder",
                            [
                                ("IndexedPagingOffset", String(offset + page.count)),
                                ("TotalItemsInView", String(found.count)),
                                ("IncludesLastItemInRange", offset + page.count >= found.count ? "true" : "false"),
                            ])
                        w.open("t:Folders")
                        for f in page {
                            writeFolder(&w, f, mailbox: m, idOnly: idOnly, requested: requested, extended: extended)
                        }
                        w.close("t:Folders")
                        w.close("m:RootFolder")
                        w.close("m:FindFolderResponseMessage")
                    } catch {
                        SOAPEnvelope.error(&w, "FindFolder", error)
                    }
                }
            }
        }
    }

    /// ConvertId between the id formats. All formats carry the same store bytes here; `HexEntryId` is hex,
    /// the others base64.
    func convertId(_ body: XElement, mailbox: String) -> [UInt8] {
        let dest = body.attr("DestinationFormat") ?? "EwsId"
        return SOAPEnvelope.response("ConvertId") { w in
            for src in body.child("SourceIds")?.children ?? [] {
                let format = src.attr("Format") ?? "EwsId"
                let mb = src.attr("Mailbox") ?? mailbox
                guard mb.contains("@") else {
                    SOAPEnvelope.error(&w, "ConvertId", EWSFailure.invalidSmtpAddress()); continue
                }
                // The answer names the id's owner, whatever mailbox the client sent (Exchange reads the owner from the id).
                guard let raw = src.attr("Id"), let bytes = Self.idBytes(raw, format: format),
                    let owner = Self.owner(ofIdBytes: bytes)
                else {
                    SOAPEnvelope.error(&w, "ConvertId", EWSFailure.idMalformed()); continue
                }
                let out =
                    dest == "HexEntryId"
                    ? bytes.map { String(format: "%02X", $0) }.joined() : Data(bytes).base64EncodedString()
                SOAPEnvelope.openSuccess(&w, "ConvertId")
                w.empty(
                    "m:AlternateId",
                    [("xsi:type", "t:AlternateIdType"), ("Format", dest), ("Id", out), ("Mailbox", owner)])
                w.close("m:ConvertIdResponseMessage")
            }
        }
    }

    /// The mailbox an item, occurrence or folder id belongs to; nil when it is none of these.
    private static func owner(ofIdBytes bytes: [UInt8]) -> String? {
        let id = Data(bytes).base64EncodedString()
        return Identifier.parseItemId(id)?.mailbox ?? Identifier.parseOccurrenceId(id)?.mailbox
            ?? Identifier.parseFolderId(id)?.mailbox
    }

    private static func idBytes(_ id: String, format: String) -> [UInt8]? {
        if format == "HexEntryId" {
            let u = Array(id.utf8)
            guard u.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            var i = 0
            while i < u.count {
                guard let b = UInt8(String(decoding: u[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
                out.append(b); i += 2
            }
            return out
        }
        return Data(base64Encoded: id).map(Array.init)
    }
}

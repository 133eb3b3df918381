import Foundation
import Testing
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
@testable import ExchangeSimulator
import TestSupport

/// Locations derived from this file, never hard-coded: the package root and the shared EWS material.
enum Paths {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var shared: URL { SharedDirectory.url }

    /// `ews-schema/validate` of the shared directory, or a test failure naming what is missing.
    static func validator() throws -> URL {
        let v = shared.appendingPathComponent("ews-schema/validate")
        guard FileManager.default.isExecutableFile(atPath: v.path) else {
            Issue.record(
                "EWS schema validator missing at \(v.path): set SNAPSYNC_SHARED_DIR (docs/development.md says where to get the EWS schema)."
            )
            throw CancellationError()
        }
        return v
    }
}

/// A response from the simulator.
struct SimResponse {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small loopback HTTP client for talking EWS and JSON to a simulator.
struct SimClient {
    let sim: Simulator
    var user = SimulatorConfiguration.defaultAccount.user
    var password = SimulatorConfiguration.defaultAccount.password
    let session = URLSession(configuration: .ephemeral)

    init(_ sim: Simulator) { self.sim = sim }

    func post(
        path: String = "/EWS/Exchange.asmx", port: Int? = nil, body: Data, auth: Bool = true,
        headers: [String: String] = [:], method: String = "POST"
    ) async throws -> SimResponse {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port ?? sim.port)\(path)")!)
        req.httpMethod = method
        req.timeoutInterval = 30
        if path.hasPrefix("/EWS") { req.setValue("text/xml; charset=utf-8", forHTTPHeaderField: "Content-Type") }
        if auth {
            req.setValue(
                "Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        req.httpBody = body
        let (status, h, data) = try await Self.send(session, req)
        return SimResponse(status: status, headers: h, body: data)
    }

    /// Sends `req`; the status, the headers (names lower-cased) and the body.
    static func send(_ session: URLSession, _ req: URLRequest) async throws -> (Int, [String: String], Data) {
        let (data, response) = try await session.data(for: req)
        let http = response as! HTTPURLResponse
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
        return (http.statusCode, h, data)
    }

    /// Sends `<m:Op ...>` inside a SOAP envelope.
    func ews(
        _ operation: String, header: String = "<t:RequestServerVersion Version=\"Exchange2016\"/>",
        extraHeaders: [String: String] = [:]
    ) async throws -> SimResponse {
        try await post(body: Data(Self.envelope(operation, header: header).utf8), headers: extraHeaders)
    }

    static func envelope(
        _ operation: String, header: String = "<t:RequestServerVersion Version=\"Exchange2016\"/>"
    ) -> String {
        """
        <?xml version="1.0" encoding="utf-8"?>
        <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" \
        xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
        xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">\
        <s:Header>\(header)</s:Header><s:Body>\(operation)</s:Body></s:Envelope>
        """
    }

    func control(_ method: String, _ path: String, _ json: String = "") async throws -> SimResponse {
        try await post(path: path, body: Data(json.utf8), auth: false, method: method)
    }
}

/// Extracts values from responses in tests (regex on attributes is enough for assertions).
enum Scrape {
    static func all(_ text: String, attribute: String, of element: String) -> [String] {
        let pattern = "<\(element) [^>]*\(attribute)=\"([^\"]*)\""
        let re = try! NSRegularExpression(pattern: pattern)
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
    }

    /// The text of every `<element>…</element>` without child elements, in order.
    static func texts(_ text: String, element: String) -> [String] {
        let re = try! NSRegularExpression(pattern: "<\(element)>([^<]*)</\(element)>")
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
    }

    static func first(_ text: String, element: String) -> String? {
        guard let s = text.range(of: "<\(element)>"),
            let e = text.range(of: "</\(element)>", range: s.upperBound..<text.endIndex)
        else { return nil }
        return String(text[s.upperBound..<e.lowerBound])
    }

    static func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }
}

/// Runs the official-schema validator on saved envelopes.
enum SchemaValidator {
    static func validate(_ documents: [(String, Data)]) async throws -> (ok: Bool, output: String) {
        let validator = try Paths.validator()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sim-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for (name, data) in documents {
            let f = dir.appendingPathComponent(name + ".xml")
            try data.write(to: f)
            files.append(f.path)
        }
        let r = try await ChildProcess.run(validator, files)
        return (r.status == 0, r.output)
    }
}

/// Starts a simulator for one test and always shuts it down.
func withSimulator<T>(
    _ configure: (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: (Simulator, SimClient) async throws -> T
) async throws -> T {
    var config = SimulatorConfiguration()
    configure(&config)
    let sim = try await Simulator.start(config)
    do {
        let r = try await body(sim, SimClient(sim))
        try await sim.shutdown()
        return r
    } catch {
        try? await sim.shutdown()
        throw error
    }
}

/// Request fragments shared by tests.
enum Req {
    static func folder(_ id: String, mailbox: String? = nil) -> String {
        if let mailbox {
            return
                "<t:DistinguishedFolderId Id=\"\(id)\"><t:Mailbox><t:EmailAddress>\(mailbox)</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
        }
        return "<t:DistinguishedFolderId Id=\"\(id)\"/>"
    }

    static func findItem(
        _ folder: String, shape: String = "IdOnly", offset: Int = 0, max: Int = 1000, restriction: String = "",
        sort: String = "", additional: String = ""
    ) -> String {
        "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>\(shape)</t:BaseShape>"
            + (additional.isEmpty ? "" : "<t:AdditionalProperties>\(additional)</t:AdditionalProperties>")
            + "</m:ItemShape>"
            + "<m:IndexedPageItemView MaxEntriesReturned=\"\(max)\" Offset=\"\(offset)\" BasePoint=\"Beginning\"/>"
            + (restriction.isEmpty ? "" : "<m:Restriction>\(restriction)</m:Restriction>")
            + (sort.isEmpty ? "" : "<m:SortOrder>\(sort)</m:SortOrder>")
            + "<m:ParentFolderIds>\(folder)</m:ParentFolderIds></m:FindItem>"
    }

    static func getItem(_ ids: [String], shape: String = "AllProperties", additional: String = "") -> String {
        "<m:GetItem><m:ItemShape><t:BaseShape>\(shape)</t:BaseShape>"
            + (additional.isEmpty ? "" : "<t:AdditionalProperties>\(additional)</t:AdditionalProperties>")
            + "</m:ItemShape><m:ItemIds>"
            + ids.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>"
    }

    static func createItem(_ items: String, folder: String? = nil) -> String {
        "<m:CreateItem MessageDisposition=\"SaveOnly\" SendMeetingInvitations=\"SendToNone\">"
            + (folder.map { "<m:SavedItemFolderId>\($0)</m:SavedItemFolderId>" } ?? "")
            + "<m:Items>\(items)</m:Items></m:CreateItem>"
    }

    static func setSubject(
        id: String, changeKey: String?, subject: String, kind: String = "Contact", resolution: String = "AutoResolve"
    ) -> String {
        "<m:UpdateItem ConflictResolution=\"\(resolution)\" MessageDisposition=\"SaveOnly\" SendMeetingInvitationsOrCancellations=\"SendToNone\"><m:ItemChanges><t:ItemChange>"
            + "<t:ItemId Id=\"\(id)\"" + (changeKey.map { " ChangeKey=\"\($0)\"" } ?? "") + "/>"
            + "<t:Updates><t:SetItemField><t:FieldURI FieldURI=\"item:Subject\"/><t:\(kind)><t:Subject>\(subject)</t:Subject></t:\(kind)></t:SetItemField></t:Updates>"
            + "</t:ItemChange></m:ItemChanges></m:UpdateItem>"
    }

    static func deleteItem(_ ids: [String], type: String = "HardDelete") -> String {
        "<m:DeleteItem DeleteType=\"\(type)\" SendMeetingCancellations=\"SendToNone\" AffectedTaskOccurrences=\"AllOccurrences\"><m:ItemIds>"
            + ids.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:DeleteItem>"
    }

    static func sync(_ folder: String, state: String? = nil, max: Int = 512, shape: String = "IdOnly") -> String {
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>\(shape)</t:BaseShape></m:ItemShape><m:SyncFolderId>\(folder)</m:SyncFolderId>"
            + (state.map { "<m:SyncState>\($0)</m:SyncState>" } ?? "")
            + "<m:MaxChangesReturned>\(max)</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>"
    }

    static let crmIdURI =
        "<t:ExtendedFieldURI PropertySetId=\"c11ff724-aa03-4555-9952-8fa248a11c3e\" PropertyName=\"CrmId\" PropertyType=\"String\"/>"

    static func contact(_ n: Int, crmId: String? = nil) -> String {
        "<t:Contact><t:Subject>Contact \(n)</t:Subject><t:Body BodyType=\"Text\">Notes \(n) &amp; more</t:Body>"
            + "<t:Categories><t:String>Customer</t:String></t:Categories>"
            + (crmId.map { "<t:ExtendedProperty>\(crmIdURI)<t:Value>\($0)</t:Value></t:ExtendedProperty>" } ?? "")
            + "<t:GivenName>Zoë\(n)</t:GivenName><t:CompanyName>Contoso</t:CompanyName>"
            + "<t:EmailAddresses><t:Entry Key=\"EmailAddress1\">c\(n)@example.org</t:Entry></t:EmailAddresses>"
            + "<t:PhysicalAddresses><t:Entry Key=\"Business\"><t:Street>Hauptstraße \(n)</t:Street><t:City>Berlin</t:City></t:Entry></t:PhysicalAddresses>"
            + "<t:PhoneNumbers><t:Entry Key=\"MobilePhone\">+49 170 \(n)</t:Entry></t:PhoneNumbers>"
            + "<t:Birthday>1980-05-0\(n % 9 + 1)T00:00:00Z</t:Birthday><t:JobTitle>Buyer</t:JobTitle><t:Surname>Müller</t:Surname></t:Contact>"
    }
}

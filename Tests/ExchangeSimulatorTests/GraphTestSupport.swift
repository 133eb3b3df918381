import Synchronization
import Foundation
import Testing
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
@testable import ExchangeSimulator
import TestSupport

/// A Graph response in a test: status, headers (names lower-cased), the body and its JSON.
struct GraphReply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var json: JSON { (try? JSONParser.parse(body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
    var errorCode: String? { json["error"]?["code"]?.string }
    var values: [JSON] { json["value"]?.elements ?? [] }
}

/// Every Graph response body a test received, kept to be checked against Microsoft's schema in one run.
final class GraphDocuments: @unchecked Sendable {  // @unchecked: `list` is only touched under `lock`
    enum Kind: String, Sendable { case document, error, batch }
    private let lock = Mutex(())
    private var list: [(name: String, data: Data, kind: Kind)] = []

    func add(_ name: String, _ data: Data, _ kind: Kind) { lock.withLock { _ in list.append((name, data, kind)) } }
    var count: Int { lock.withLock { _ in list.count } }

    /// Runs `graph-schema/validate` once per kind (errors with `--type error`, batches with `--type batch`).
    func validate() async throws -> (ok: Bool, output: String) {
        let validator = SharedDirectory.fixtures.appendingPathComponent("graph-schema/validate")
        guard FileManager.default.isExecutableFile(atPath: validator.path) else {
            Issue.record(
                "Graph schema validator missing at \(validator.path): it is part of the repository (Tests/Fixtures).")
            throw CancellationError()
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graph-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var ok = true, output = ""
        let all = lock.withLock { _ in list }
        for kind in [Kind.document, .error, .batch] {
            var files: [String] = []
            for (i, d) in all.enumerated() where d.kind == kind {
                let f = dir.appendingPathComponent("\(i)-\(d.name.replacingOccurrences(of: "/", with: "_")).json")
                try d.data.write(to: f)
                files.append(f.path)
            }
            guard !files.isEmpty else { continue }
            let r = try await ChildProcess.run(validator, (kind == .document ? [] : ["--type", kind.rawValue]) + files)
            ok = ok && r.status == 0
            output += r.output
        }
        return (ok, output)
    }
}

/// A loopback Graph client with a client-credentials token from the simulator's own token endpoint.
struct GraphClient {
    let sim: Simulator
    let docs = GraphDocuments()
    let session = URLSession(configuration: .ephemeral)
    var token = ""
    var base: String { "http://127.0.0.1:\(sim.port)" }

    init(_ sim: Simulator) { self.sim = sim }

    /// Posts the client-credentials form to the token endpoint (not a Graph response: not recorded).
    func requestToken(
        clientId: String = GraphApp.demo.clientId, secret: String? = GraphApp.demo.secret,
        scope: String = "https://graph.microsoft.com/.default", grantType: String = "client_credentials"
    ) async throws -> GraphReply {
        var form =
            "grant_type=\(grantType)&client_id=\(clientId)&scope=" + scope.addingPercentEncoding(
                withAllowedCharacters: .alphanumerics)!
        if let secret { form += "&client_secret=\(secret)" }
        return try await raw(
            "POST", base + "/contoso.onmicrosoft.com/oauth2/v2.0/token", body: Data(form.utf8),
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
    }

    /// A client holding a fresh token.
    static func signedIn(_ sim: Simulator) async throws -> GraphClient {
        var c = GraphClient(sim)
        let r = try await c.requestToken()
        #expect(r.status == 200, "token endpoint: \(r.text)")
        c.token = try #require(r.json["access_token"]?.string)
        return c
    }

    func raw(
        _ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> GraphReply {
        var req = URLRequest(url: URL(string: url)!)
        req.httpMethod = method
        req.timeoutInterval = 30
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        req.httpBody = body
        let (status, h, data) = try await SimClient.send(session, req)
        return GraphReply(status: status, headers: h, body: data)
    }

    /// A Graph call on `/v1.0` + `path` (or an absolute link); its body is recorded for schema validation.
    @discardableResult
    func call(
        _ method: String, _ path: String, json: String? = nil, headers: [String: String] = [:], auth: Bool = true,
        record: Bool = true
    ) async throws -> GraphReply {
        var h = headers
        if auth { h["Authorization"] = "Bearer \(token)" }
        if json != nil { h["Content-Type"] = "application/json" }
        let url = path.hasPrefix("http") ? path : base + "/v1.0" + path
        let r = try await raw(method, url, body: json.map { Data($0.utf8) }, headers: h)
        if record, !r.body.isEmpty {
            let kind: GraphDocuments.Kind = r.status >= 400 ? .error : (path.hasSuffix("$batch") ? .batch : .document)
            docs.add("\(method) \(path.prefix(60))", r.body, kind)
        }
        return r
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> GraphReply {
        try await call("GET", path, headers: headers)
    }
    func post(_ path: String, _ json: String, headers: [String: String] = [:]) async throws -> GraphReply {
        try await call("POST", path, json: json, headers: headers)
    }
    func patch(_ path: String, _ json: String, headers: [String: String] = [:]) async throws -> GraphReply {
        try await call("PATCH", path, json: json, headers: headers)
    }
    func delete(_ path: String) async throws -> GraphReply { try await call("DELETE", path) }

    /// The tasks collection of the mailbox's default To Do list (`wellknownListName` `defaultList`).
    func defaultTasks(of user: String) async throws -> String {
        let lists = try await get("\(user)/todo/lists")
        let id = try #require(lists.values.first { $0["wellknownListName"]?.string == "defaultList" }?["id"]?.string)
        return "\(user)/todo/lists/\(seg(id))/tasks"
    }

    /// Every page of a collection, following `@odata.nextLink`.
    func all(
        _ path: String, headers: [String: String] = [:]
    ) async throws -> (values: [JSON], pages: Int, last: GraphReply) {
        var r = try await get(path, headers: headers)
        var values = r.values, pages = 1
        while let next = r.json["@odata.nextLink"]?.string {
            #expect(next.hasPrefix(base + "/v1.0/"), "nextLink \(next) is not absolute on the request's host")
            r = try await get(next, headers: headers)
            values += r.values
            pages += 1
        }
        return (values, pages, r)
    }

    /// Asserts every recorded body is valid against the Graph v1.0 schema.
    func expectSchemaValid(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (ok, output) = try await docs.validate()
        #expect(ok, "Graph schema validation failed:\n\(output)", sourceLocation: sourceLocation)
    }
}

/// Builds Graph JSON bodies in tests.
func json(_ members: [(String, JSON)]) -> String { String(decoding: JSON.object(members).bytes, as: UTF8.self) }

/// Percent-encodes an id for a path segment.
func seg(_ id: String) -> String {
    id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id
}

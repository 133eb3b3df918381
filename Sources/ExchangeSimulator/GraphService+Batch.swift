import Foundation

/// JSON batching (`POST /v1.0/$batch`): at most 20 requests with unique ids, `dependsOn` ordering (a request
/// whose dependency failed gets 424), each answered with its own status, headers and body; throttling applies
/// to each inner request on its own, so a batch can hold inner 429s next to 200s.
extension GraphService {
    static let batchLimit = 20

    struct BatchItem {
        var id: String
        var method: String
        var url: String
        var headers: [String: String]
        var body: JSON?
        var dependsOn: [String]
    }

    /// Parses and checks a batch body; every problem with the batch as a whole is a 400.
    static func parseBatch(_ request: GraphRequest) throws(GraphError) -> [BatchItem] {
        let body = try bodyObject(request)
        guard body.count == 1, body[0].0 == "requests", let list = body[0].1.elements else {
            throw GraphError.badRequest(
                "Invalid batch payload format: a batch holds a 'requests' array and nothing else.")
        }
        guard list.count <= batchLimit else {
            throw GraphError.badRequest("Number of batch requests exceeds the limit of \(batchLimit).")
        }
        guard !list.isEmpty else {
            throw GraphError.badRequest("Invalid batch payload format: the batch holds no requests.")
        }
        var items: [BatchItem] = []
        var ids = Set<String>()
        for r in list {
            guard let m = r.members else {
                throw GraphError.badRequest("Invalid batch payload format: a request must be an object.")
            }
            var item = BatchItem(id: "", method: "", url: "", headers: [:], body: nil, dependsOn: [])
            for (k, v) in m {
                switch k {
                case "id": item.id = try GraphInput.string(v, k) ?? ""
                case "method": item.method = (try GraphInput.string(v, k) ?? "").uppercased()
                case "url": item.url = try GraphInput.string(v, k) ?? ""
                case "dependsOn": item.dependsOn = try GraphInput.strings(v, k) ?? []
                case "headers":
                    guard let h = v.members else {
                        throw GraphError.badRequest("Invalid batch payload format: headers must be an object.")
                    }
                    for (name, value) in h {
                        // msgraph-sdk writes a header's values as an array.
                        if let s = value.string { item.headers[name.lowercased()] = s; continue }
                        guard let list = try? GraphInput.strings(value, name) else {
                            throw GraphError.badRequest("Invalid batch payload format: header values are strings.")
                        }
                        item.headers[name.lowercased()] = list.joined(separator: ", ")
                    }
                case "body": item.body = v
                default: continue  // the service ignores other members (msgraph-sdk 1.65 writes an empty `depends_on`)
                }
            }
            guard !item.id.isEmpty, !item.method.isEmpty, !item.url.isEmpty else {
                throw GraphError.badRequest(
                    "Invalid batch payload format: every request needs an id, a method and a url.")
            }
            guard ids.insert(item.id).inserted else {
                throw GraphError.badRequest("Batch request contains duplicate id '\(item.id)'.")
            }
            guard ["GET", "POST", "PATCH", "PUT", "DELETE"].contains(item.method) else {
                throw GraphError.badRequest("Invalid batch payload format: method '\(item.method)' is not supported.")
            }
            for d in item.dependsOn where !ids.contains(d) || d == item.id {
                throw GraphError.badRequest(
                    "Invalid dependsOn: request '\(item.id)' depends on '\(d)', which is not an earlier request of the batch."
                )
            }
            if item.body != nil, item.headers["content-type"] == nil {
                throw GraphError.badRequest(
                    "Invalid batch payload format: request '\(item.id)' has a body and no Content-Type header.")
            }
            items.append(item)
        }
        return items
    }

    /// Runs a batch: each inner request through `run` (which applies throttling and faults), in order.
    static func batch(_ request: GraphRequest, run: (GraphRequest) -> GraphResponse) throws(GraphError) -> GraphResponse
    {
        let items = try parseBatch(request)
        var status: [String: Int] = [:]
        // The answers are kept as they come and written once, into one buffer sized for them (their bodies are
        // JSON text already), rather than each into a buffer of its own that is then copied again.
        var responses: [(id: String, response: GraphResponse)] = []
        responses.reserveCapacity(items.count)
        for item in items {
            var inner = request
            var url = item.url
            // Relative (`/users/...`), or absolute on this service as msgraph-sdk writes it.
            if url.hasPrefix("http://") || url.hasPrefix("https://"), let slash = url.dropFirst(8).firstIndex(of: "/") {
                url = String(url[slash...])
            }
            if url.hasPrefix("/v1.0/") { url = String(url.dropFirst(5)) }
            if !url.hasPrefix("/") { url = "/" + url }
            let (path, query) = GraphRequest.split(url)
            inner.method = item.method; inner.path = path; inner.query = query; inner.body = Data();
            inner.parsedBody = item.body
            inner.headers = item.headers
            inner.mailbox = nil
            inner.route = nil
            // Inner errors carry the batch's request-id (a GUID per inner request cost more than the request itself).
            let response: GraphResponse
            if let failed = item.dependsOn.first(where: { (status[$0] ?? 500) >= 400 }) {
                response = failure(
                    GraphError(424, "FailedDependency", "The request depends on request '\(failed)', which failed."),
                    inner)
            } else {
                response = run(inner)
            }
            status[item.id] = response.status
            responses.append((item.id, response))
        }
        let capacity = responses.reduce(32) { total, r in
            if case .raw(let text) = r.response.body { return total + text.count + 256 }
            return total + 1024
        }
        var w = JSONWriter(capacity: capacity)
        w.raw("{\"responses\":[")
        // The service answers in any order; the last first, so a client that pairs by position fails here too.
        for (i, (id, response)) in responses.reversed().enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"id\":")
            w.string(id)
            w.raw(",\"status\":")
            w.int(response.status)
            if !response.headers.isEmpty || response.body != nil {
                w.raw(",\"headers\":{")
                for (i, (name, value)) in response.headers.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.string(name)
                    w.raw(":")
                    w.string(value)
                }
                if response.body != nil {
                    if !response.headers.isEmpty { w.raw(",") }
                    w.raw("\"Content-Type\":")
                    w.string(contentType)
                }
                w.raw("}")
            }
            if let body = response.body {
                w.raw(",\"body\":")
                w.value(body)
            }
            w.raw("}")
        }
        w.raw("]}")
        return GraphResponse(status: 200, body: .raw(w.bytes))
    }

    static let contentType =
        "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
}

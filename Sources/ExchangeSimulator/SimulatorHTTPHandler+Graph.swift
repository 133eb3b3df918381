import Foundation
import Synchronization
import NIOCore
import NIOHTTP1

/// The Graph side of a connection: the token endpoint `POST /{tenant}/oauth2/v2.0/token` and `/v1.0/...`,
/// with bearer authentication, throttling and the fault set applied per request (per inner request of a batch).
extension SimulatorHTTPHandler {
    /// The tenant of a token-endpoint path, nil for any other path.
    static func tokenEndpointTenant(_ path: String) -> String? {
        let parts = GraphRequest.segments(path)
        guard parts.count == 4, parts[1] == "oauth2", parts[2] == "v2.0", parts[3] == "token" else { return nil }
        return String(parts[0])
    }

    /// The tenant of an OpenID Connect discovery path (`/{tenant}/v2.0/.well-known/openid-configuration`).
    static func discoveryTenant(_ path: String) -> String? {
        let parts = GraphRequest.segments(path)
        guard parts.count == 4, parts[1] == "v2.0", parts[2] == ".well-known", parts[3] == "openid-configuration" else {
            return nil
        }
        return String(parts[0])
    }

    /// `scheme://host` as the client addressed the simulator (its `Host` header).
    func base(_ head: HTTPRequestHead) -> String {
        "\(sim.configuration.tls == nil ? "http" : "https")://\(head.headers.first(name: "host") ?? "\(sim.configuration.host):\(sim.port)")"
    }

    func serveToken(context: ChannelHandlerContext, head: HTTPRequestHead, tenant: String, body: Data) {
        guard head.method == .POST else {
            respond(context: context, head: head, status: .methodNotAllowed, body: []); return
        }
        let endpoint = base(head) + "/\(tenant)/oauth2/v2.0/token"
        sim.control.faults.withLock { $0.counters["Entra token", default: 0] += 1 }
        let r = sim.graphAuth.token(form: body, tenant: tenant, endpoint: endpoint, now: Date().timeIntervalSince1970)
        var h = HTTPHeaders()
        h.add(name: "Cache-Control", value: "no-store, no-cache")
        respond(
            context: context, head: head, status: HTTPResponseStatus(statusCode: r.status),
            contentType: "application/json; charset=utf-8",
            extra: h, body: r.body)
    }

    /// Entra's OpenID Connect discovery document for `tenant` (what MSAL reads before asking for a token).
    func serveDiscovery(context: ChannelHandlerContext, head: HTTPRequestHead, tenant: String) {
        guard head.method == .GET else {
            respond(context: context, head: head, status: .methodNotAllowed, body: []); return
        }
        let root = base(head) + "/\(tenant)"
        let body = JSON.object([
            ("token_endpoint", .string(root + "/oauth2/v2.0/token")),
            (
                "token_endpoint_auth_methods_supported",
                .array([.string("client_secret_post"), .string("private_key_jwt"), .string("client_secret_basic")])
            ),
            ("jwks_uri", .string(root + "/discovery/v2.0/keys")),
            ("response_modes_supported", .array([.string("query"), .string("fragment"), .string("form_post")])),
            ("subject_types_supported", .array([.string("pairwise")])),
            ("id_token_signing_alg_values_supported", .array([.string("RS256")])),
            (
                "response_types_supported",
                .array([.string("code"), .string("id_token"), .string("code id_token"), .string("id_token token")])
            ),
            (
                "scopes_supported",
                .array([.string("openid"), .string("profile"), .string("email"), .string("offline_access")])
            ),
            ("issuer", .string(root + "/v2.0")),
            ("request_uri_parameter_supported", .bool(false)),
            ("authorization_endpoint", .string(root + "/oauth2/v2.0/authorize")),
            ("device_authorization_endpoint", .string(root + "/oauth2/v2.0/devicecode")),
            ("end_session_endpoint", .string(root + "/oauth2/v2.0/logout")),
            ("tenant_region_scope", .string("EU")),
            ("cloud_instance_name", .string("microsoftonline.com")),
        ]).bytes
        respond(context: context, head: head, status: .ok, contentType: "application/json; charset=utf-8", body: body)
    }

    func serveGraph(context: ChannelHandlerContext, head: HTTPRequestHead, body: Data) {
        let (fullPath, query) = GraphRequest.split(head.uri)
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        var request = GraphRequest(
            method: head.method.rawValue, path: String(fullPath.dropFirst(5)), query: query, headers: headers,
            body: body, base: base(head), clientId: "")
        let now = Date().timeIntervalSince1970
        if tooLarge {
            sendGraph(
                context: context, head: head, request,
                GraphService.failure(.payloadTooLarge(sim.configuration.maxRequestBytes), request))
            return
        }
        do {
            request.clientId = try sim.graphAuth.authenticate(headers["authorization"], now: now)
        } catch {
            var r = GraphService.failure(error, request)
            r.headers.append(
                (
                    "WWW-Authenticate",
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""
                ))
            sendGraph(context: context, head: head, request, r)
            return
        }
        let latency = sim.control.faults.withLock { $0.config.latencyMilliseconds } ?? 0
        let deliver: (GraphResponse, Bool, (() -> Void)?) -> Void = { response, drop, finish in
            let write = {
                finish?()  // the request counts as running (MailboxConcurrency) until its response goes out
                if drop {
                    context.close(promise: nil)
                } else {
                    self.sendGraph(context: context, head: head, request, response)
                }
            }
            if latency > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(latency))) { write() }
            } else {
                write()
            }
        }
        if request.path == "/$batch" {
            guard request.method == "POST" else {
                deliver(GraphService.failure(.methodNotAllowed(), request), false, nil); return
            }
            sim.control.faults.withLock { $0.counters["Graph POST $batch", default: 0] += 1 }
            do {
                deliver(
                    try GraphService.batch(request) { inner in
                        let outcome = run(inner)
                        outcome.finish?()
                        return outcome.response
                    }, false, nil)
            } catch {
                deliver(GraphService.failure(error, request), false, nil)
            }
            return
        }
        let outcome = run(request)
        deliver(outcome.response, outcome.drop, outcome.finish)
    }

    /// One Graph request through the fault set and the service.
    private func run(_ request: GraphRequest) -> (response: GraphResponse, drop: Bool, finish: (() -> Void)?) {
        var request = request
        // Looked up once for throttling, fault rules and routing.
        let route = GraphService.PathRoute.memo(request.path)
        request.route = route
        let (resolved, mailbox) = sim.graph.throttlingMailbox(route)
        request.mailbox = resolved
        let operation = GraphService.operation(method: request.method, route: route)
        let decision = sim.control.faults.withLock {
            $0.admitGraph(
                operation: operation, app: request.clientId, mailbox: mailbox, now: Date().timeIntervalSince1970)
        }
        switch decision {
        case .unavailable(let retryAfter):
            return (
                GraphService.failure(
                    GraphError(
                        503, "ServiceUnavailable", "The service is temporarily unavailable. Try again later.",
                        headers: [("Retry-After", String(retryAfter))]), request), false, nil
            )
        case .gatewayTimeout:
            return (
                GraphService.failure(
                    GraphError(
                        504, "GatewayTimeout", "The gateway did not receive a timely response from the service."),
                    request), false, nil
            )
        case .throttled(let retryAfter, let message):
            return (GraphService.failure(.throttled(message, retryAfter: retryAfter), request), false, nil)
        case .proceed(let drop):
            let response = sim.graph.handle(request)
            let key = FaultState.graphKey(app: request.clientId, mailbox: mailbox)
            return (response, drop, { self.sim.control.faults.withLock { $0.finish(mailbox: key) } })
        }
    }

    private func sendGraph(
        context: ChannelHandlerContext, head: HTTPRequestHead, _ request: GraphRequest, _ response: GraphResponse
    ) {
        var h = HTTPHeaders()
        h.add(name: "request-id", value: request.requestId)
        h.add(name: "client-request-id", value: request.clientRequestId ?? request.requestId)
        h.add(name: "OData-Version", value: "4.0")
        h.add(name: "Cache-Control", value: "private")
        for (name, value) in response.headers { h.add(name: name, value: value) }
        respond(
            context: context, head: head, status: HTTPResponseStatus(statusCode: response.status),
            contentType: response.body == nil ? nil : GraphService.contentType, extra: h,
            body: response.body?.bytes ?? [])
    }
}

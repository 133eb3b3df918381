import Foundation
import Synchronization
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection: collects a request, routes it to EWS, Graph (SimulatorHTTPHandler+Graph.swift) or the
/// control API, and applies faults.
final class SimulatorHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let sim: Simulator
    private let controlOnly: Bool
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    var tooLarge = false

    init(sim: Simulator, controlOnly: Bool) {
        self.sim = sim
        self.controlOnly = controlOnly
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h; body = context.channel.allocator.buffer(capacity: 0); tooLarge = false
            if let len = h.headers.first(name: "content-length").flatMap(Int.init),
                len > sim.configuration.maxRequestBytes
            {
                tooLarge = true
            }
        case .body(var chunk):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > sim.configuration.maxRequestBytes {
                tooLarge = true; body = nil
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            let data = body.map { Data($0.readableBytesView) } ?? Data()
            self.head = nil; self.body = nil
            route(context: context, head: head, body: data)
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead, body: Data) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if path.hasPrefix("/sim/") || path == "/sim" {
            let r = ControlAPI.handle(
                control: sim.control, method: head.method, path: path, body: body, viaControlPort: controlOnly)
            guard let action = r.action else {
                respond(context: context, head: head, status: r.status, contentType: "application/json", body: r.body)
                return
            }
            if r.respondFirst {
                respond(context: context, head: head, status: r.status, contentType: "application/json", body: r.body)
                Task { await action() }
                return
            }
            let loop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
            Task {
                await action()
                loop.execute {
                    bound.value.handler.respond(
                        context: bound.value.context, head: head, status: r.status,
                        contentType: "application/json", body: r.body)
                }
            }
            return
        }
        guard !controlOnly else { respond(context: context, head: head, status: .notFound, body: []); return }
        if path == "/v1.0" || path.hasPrefix("/v1.0/") { serveGraph(context: context, head: head, body: body); return }
        if let tenant = Self.tokenEndpointTenant(path) {
            serveToken(context: context, head: head, tenant: tenant, body: body); return
        }
        if let tenant = Self.discoveryTenant(path) {
            serveDiscovery(context: context, head: head, tenant: tenant); return
        }
        guard path.lowercased() == "/ews/exchange.asmx" else {
            respond(context: context, head: head, status: .notFound, body: []); return
        }
        guard head.method == .POST else {
            respond(context: context, head: head, status: .methodNotAllowed, body: []); return
        }
        guard let account = authenticate(head.headers) else {
            var h = HTTPHeaders()
            h.add(name: "WWW-Authenticate", value: "Basic realm=\"exchange-sim\"")
            respond(context: context, head: head, status: .unauthorized, extra: h, body: [])
            return
        }
        if tooLarge {
            let f = EWSFailure(
                code: "ErrorMessageSizeExceeded",
                message: "The request exceeds the maximum request size of \(sim.configuration.maxRequestBytes) bytes.")
            respond(
                context: context, head: head, status: .payloadTooLarge, contentType: EWSContentType.value,
                body: SOAPEnvelope.fault(f))
            return
        }
        serveEWS(context: context, head: head, account: account, body: body)
    }

    private func authenticate(_ headers: HTTPHeaders) -> String? {
        guard let auth = headers.first(name: "authorization"), auth.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(auth.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let user = String(text[..<colon]), password = String(text[text.index(after: colon)...])
        for (u, p) in sim.configuration.accounts
        where u.lowercased() == user.lowercased() || Self.plainUser(u) == user.lowercased() {
            if p == password { return u.lowercased() }
        }
        return nil
    }

    /// `DOMAIN\user` and `user` forms of `user@domain`.
    private static func plainUser(_ u: String) -> String {
        String(u.lowercased().split(separator: "@").first ?? "")
    }

    private func serveEWS(context: ChannelHandlerContext, head: HTTPRequestHead, account: String, body: Data) {
        let caller = EWSCaller(
            account: account, anchorMailbox: head.headers.first(name: "X-AnchorMailbox")?.lowercased())
        let request: EWSRequest
        do { request = try EWSRequest.parse(body) } catch {
            sim.control.faults.withLock { $0.counters["(malformed)", default: 0] += 1 }
            respond(
                context: context, head: head, status: .internalServerError, contentType: EWSContentType.value,
                body: SOAPEnvelope.fault(error))
            return
        }
        let mailbox = EWSService.targetMailbox(request, caller: caller)
        if sim.control.isEWSBlocked(mailbox) {
            var h = HTTPHeaders()
            h.add(name: "X-EWS-Policy-Reason", value: "EWS is blocked for this mailbox by the tenant's policy")
            respond(context: context, head: head, status: .forbidden, extra: h, body: [])
            return
        }
        let decision = sim.control.faults.withLock {
            $0.admit(operation: request.operation, mailbox: mailbox, random: Double.random(in: 0..<1))
        }
        let latency = sim.control.faults.withLock { $0.config.latencyMilliseconds } ?? 0
        let send: (HTTPResponseStatus, HTTPHeaders, [UInt8]) -> Void = { status, extra, bytes in
            let write = {
                self.respond(
                    context: context, head: head, status: status,
                    contentType: bytes.isEmpty ? nil : EWSContentType.value, extra: extra, body: bytes)
            }
            if latency > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(latency))) { write() }
            } else {
                write()
            }
        }
        switch decision {
        case .unavailable(let retryAfter):
            var h = HTTPHeaders(); h.add(name: "Retry-After", value: String(retryAfter))
            send(.serviceUnavailable, h, [])
        case .busyFault(let backOff):
            send(.internalServerError, [:], SOAPEnvelope.fault(.serverBusy(backOffMilliseconds: backOff)))
        case .busyMessages(let backOff):
            send(
                .ok, [:],
                EWSService.failureResponse(
                    operation: request.operation, messages: EWSService.messageCount(request),
                    .serverBusy(backOffMilliseconds: backOff)))
        case .exceededConnections:
            send(
                .ok, [:],
                EWSService.failureResponse(
                    operation: request.operation, messages: EWSService.messageCount(request),
                    .exceededConnectionCount()))
        case .proceed(let drop):
            let reply = sim.service.handle(request, caller: caller)
            let finish = { self.sim.control.faults.withLock { $0.finish(mailbox: mailbox) } }
            if drop {
                let close = {
                    finish(); context.close(promise: nil)
                }
                if latency > 0 {
                    context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(latency))) { close() }
                } else {
                    close()
                }
                return
            }
            let write = {
                finish()
                self.respond(
                    context: context, head: head, status: HTTPResponseStatus(statusCode: reply.status),
                    contentType: EWSContentType.value, body: reply.body)
            }
            if latency > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(latency))) { write() }
            } else {
                write()
            }
        }
    }

    func respond(
        context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus,
        contentType: String? = nil, extra: HTTPHeaders = [:], body: [UInt8]
    ) {
        guard context.channel.isActive else { return }
        var headers = extra
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Server", value: "Microsoft-IIS/10.0")
        headers.add(name: "X-FEServer", value: "EXCHANGE-SIM")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if !body.isEmpty {
            var buf = context.channel.allocator.buffer(capacity: body.count)
            buf.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}

enum EWSContentType {
    static let value = "text/xml; charset=utf-8"
}

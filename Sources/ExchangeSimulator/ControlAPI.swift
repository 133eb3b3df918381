import Foundation
import NIOHTTP1

/// The JSON control API under `/sim/` (documented in README.md, section "Exchange simulator").
enum ControlAPI {
    struct Reply {
        var status: HTTPResponseStatus
        var body: [UInt8]
        /// Work the reply stands for (taking the EWS port down or up). It completes before the response is
        /// sent, so a client that got the response sees its effect, unless `respondFirst`.
        var action: (@Sendable () async -> Void)?
        /// Send the response before running `action` (`down` asked on the EWS port closes this very connection).
        var respondFirst = false
    }

    struct MailboxRequest: Codable { var address: String; var displayName: String? }
    struct BackupRequest: Codable { var name: String; var mailbox: String? }
    struct DownRequest: Codable { var seconds: Double? }
    struct GraphScopeRequest: Codable { var clientId: String; var mailboxes: [String]? }
    struct GraphRESTRequest: Codable { var mailbox: String; var enabled: Bool }
    struct ExpireRequest: Codable { var mailbox: String }
    struct EWSBlockRequest: Codable { var mailbox: String; var blocked: Bool }

    private static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) -> Reply {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = (try? enc.encode(value)) ?? Data("{}".utf8)
        return Reply(status: status, body: Array(data))
    }

    private static func failure(_ status: HTTPResponseStatus, _ code: String, _ detail: String) -> Reply {
        json(["error": code, "detail": detail], status: status)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        try JSONDecoder().decode(type, from: body.isEmpty ? Data("{}".utf8) : body)
    }

    /// `viaControlPort`: the request came in on the control-only port, which `down` leaves open.
    static func handle(
        control: SimulatorControl, method: HTTPMethod, path: String, body: Data, viaControlPort: Bool
    ) -> Reply {
        do {
            switch (method, path) {
            case (.GET, "/sim/health"):
                return json(["status": "ok"])
            case (.GET, "/sim/mailboxes"):
                return json(control.mailboxes())
            case (.POST, "/sim/mailboxes"):
                let r = try decode(MailboxRequest.self, body)
                return json(["created": control.createMailbox(r.address, displayName: r.displayName)])
            case (.POST, "/sim/seed"):
                let r = try decode(SeedRequest.self, body)
                return json(try control.seed(r))
            case (.GET, "/sim/backups"):
                return json(control.backups())
            case (.POST, "/sim/backups"):
                let r = try decode(BackupRequest.self, body)
                try control.backup(name: r.name, mailbox: r.mailbox)
                return json(["backup": r.name])
            case (.POST, "/sim/restore"):
                let r = try decode(BackupRequest.self, body)
                try control.restore(name: r.name, mailbox: r.mailbox)
                return json(["restored": r.name])
            case (.GET, "/sim/faults"):
                return json(control.currentFaults())
            case (.POST, "/sim/faults"), (.PUT, "/sim/faults"):
                let f = try decode(FaultConfiguration.self, body)
                control.setFaults(f)
                return json(f)
            case (.DELETE, "/sim/faults"), (.POST, "/sim/faults/reset"):
                control.resetFaults()
                return json(FaultConfiguration())
            case (.POST, "/sim/down"):
                let r = try decode(DownRequest.self, body)
                return Reply(
                    status: .ok, body: Array(#"{"down":true}"#.utf8),
                    action: { try? await control.goDown(seconds: r.seconds) },
                    respondFirst: !viaControlPort)
            case (.POST, "/sim/up"):
                return Reply(status: .ok, body: Array(#"{"down":false}"#.utf8), action: { try? await control.comeUp() })
            case (.POST, "/sim/graph/apps"):
                let r = try decode(GraphApp.self, body)
                control.registerGraphApp(r)
                return json(["registered": r.clientId])
            case (.POST, "/sim/graph/scope"):
                let r = try decode(GraphScopeRequest.self, body)
                control.setGraphScope(clientId: r.clientId, mailboxes: r.mailboxes)
                return json(r)
            case (.POST, "/sim/graph/rest"):
                let r = try decode(GraphRESTRequest.self, body)
                control.setRESTEnabled(mailbox: r.mailbox, r.enabled)
                return json(r)
            case (.POST, "/sim/ews/blocked"):
                let r = try decode(EWSBlockRequest.self, body)
                control.setEWSBlocked(mailbox: r.mailbox, r.blocked)
                return json(r)
            case (.POST, "/sim/sync-states/expire"):
                let r = try decode(ExpireRequest.self, body)
                try control.expireSyncStates(mailbox: r.mailbox)
                return json(["expired": r.mailbox])
            case (.GET, "/sim/counters"):
                return json(control.counters())
            case (.DELETE, "/sim/counters"), (.POST, "/sim/counters/reset"):
                control.resetCounters()
                return json([String: Int]())
            default:
                return failure(.notFound, "NoSuchEndpoint", "\(method) \(path)")
            }
        } catch let e as SimulatorControl.ControlError {
            return failure(.notFound, e.code, e.detail)
        } catch {
            return failure(.badRequest, "BadRequest", "The request body is not valid JSON for this endpoint.")
        }
    }
}

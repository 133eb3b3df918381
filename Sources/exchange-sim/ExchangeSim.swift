import ArgumentParser
import ExchangeSimulator
import Foundation
import Logging

@main
struct ExchangeSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-sim",
        abstract:
            "An Exchange simulator (EWS, and Microsoft Graph v1.0 as Exchange Online serves it) with fault controls.",
        subcommands: [Serve.self, Bench.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Serve EWS at /EWS/Exchange.asmx, Graph at /v1.0/ (token endpoint /{tenant}/oauth2/v2.0/token) and the control API at /sim/."
    )

    @Option(help: "Interface to bind.") var host = "127.0.0.1"
    @Option(help: "EWS and control API port (0 picks a free one).") var port = 8080
    @Option(help: "A port serving only the control API; it stays up while the EWS port is down.") var controlPort: Int?
    @Option(help: "Keep mailboxes in this directory across restarts.") var data: String?
    @Option(help: "PEM certificate chain: serve HTTPS.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(
        help:
            "An account as user:password[:RIGHTS] (repeatable). Without RIGHTS it may open every mailbox; RIGHTS restricts it to its own mailbox plus 'none', or a comma-separated list of 'impersonation' (ApplicationImpersonation) and 'fullaccess=MAILBOX'. Default: snapsync@example.com:snapsync-demo."
    )
    var account: [String] = []
    @Option(help: "Create this mailbox at start (repeatable).") var mailbox: [String] = []
    @Option(help: "Largest accepted request body in bytes.") var maxRequestBytes = 64 * 1024 * 1024
    @Option(help: "Event loop threads.") var threads = 2
    @Option(
        help:
            "A Graph app registration as CLIENT_ID:SECRET (repeatable). Default: snapsync-demo-app:snapsync-demo-secret."
    )
    var graphApp: [String] = []
    @Option(
        help:
            "A Graph app whose credential is a certificate, as CLIENT_ID:CERT.pem (repeatable): its token requests carry a client assertion signed with the certificate's RSA key."
    )
    var graphAppCert: [String] = []
    @Option(help: "Lifetime of the Graph access tokens the token endpoint issues, in seconds.") var graphTokenSeconds =
        3599

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var config = SimulatorConfiguration()
        config.host = host
        config.port = port
        config.controlPort = controlPort
        config.dataDirectory = data
        config.mailboxes = mailbox
        config.maxRequestBytes = maxRequestBytes
        config.threads = threads
        if !account.isEmpty {
            config.accounts = [:]
            for a in account {
                guard let colon = a.firstIndex(of: ":") else {
                    throw ValidationError("--account must be user:password[:RIGHTS]")
                }
                let user = String(a[..<colon])
                var password = String(a[a.index(after: colon)...])
                // A last `:RIGHTS` part that reads as rights restricts the account; a password may hold colons.
                if let last = password.lastIndex(of: ":"),
                    let rights = AccountAccess(rights: String(password[password.index(after: last)...]))
                {
                    config.access[user] = rights
                    password = String(password[..<last])
                }
                config.accounts[user] = password
            }
        }
        if !graphApp.isEmpty {
            config.graphApps = []
            for a in graphApp {
                guard let colon = a.firstIndex(of: ":") else {
                    throw ValidationError("--graph-app must be CLIENT_ID:SECRET")
                }
                config.graphApps.append(
                    GraphApp(clientId: String(a[..<colon]), secret: String(a[a.index(after: colon)...])))
            }
        }
        for a in graphAppCert {
            guard let colon = a.firstIndex(of: ":") else {
                throw ValidationError("--graph-app-cert must be CLIENT_ID:CERT.pem")
            }
            config.graphAppCertificates.append(
                GraphAppCertificate(clientId: String(a[..<colon]), certificatePath: String(a[a.index(after: colon)...]))
            )
        }
        guard graphTokenSeconds > 0 else { throw ValidationError("--graph-token-seconds must be positive") }
        config.graphTokenSeconds = graphTokenSeconds
        switch (tlsCert, tlsKey) {
        case (let c?, let k?): config.tls = .init(certificatePath: c, privateKeyPath: k)
        case (nil, nil): break
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        let sim = try await Simulator.start(config)
        FileHandle.standardOutput.write(
            Data(
                ("exchange-sim: EWS at \(sim.endpoint), Graph at \(sim.graphEndpoint)"
                    + (sim.controlPort.map { ", control API also on port \($0)" } ?? "") + "\n").utf8))
        // Serve until killed.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

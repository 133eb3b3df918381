import Logging

/// How to run a simulator.
public struct SimulatorConfiguration: Sendable {
    /// TLS certificate chain and private key (PEM files).
    public struct TLS: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath; self.privateKeyPath = privateKeyPath
        }
    }

    /// The demo's service account (`snapsync@example.com` / `snapsync-demo`).
    public static let defaultAccount = (user: "snapsync@example.com", password: "snapsync-demo")

    /// Interface to bind (loopback by default).
    public var host: String = "127.0.0.1"
    /// EWS (and control API) port; 0 picks a free port.
    public var port: Int = 0
    /// Optional second port serving only the control API; it stays up while the EWS port is "down".
    public var controlPort: Int?
    /// Accounts allowed to authenticate (Basic), user -> password. An account without an entry in `access` may act
    /// on any mailbox (impersonation or delegate access), as the demo account does.
    public var accounts: [String: String] = [defaultAccount.user: defaultAccount.password]
    /// Restricted accounts: their own mailbox, plus what their `AccountAccess` grants (ApplicationImpersonation,
    /// FullAccess on named mailboxes).
    public var access: [String: AccountAccess] = [:]
    /// App registrations the Graph token endpoint accepts (client credentials with a secret).
    public var graphApps: [GraphApp] = [.demo]
    /// Certificates registered as app credentials (client assertions signed with their keys); an app may have a
    /// secret in `graphApps` as well.
    public var graphAppCertificates: [GraphAppCertificate] = []
    /// Lifetime of the access tokens it issues (`expires_in`).
    public var graphTokenSeconds: Int = 3599
    /// Mailboxes created at start (the accounts' own mailboxes are always created).
    public var mailboxes: [String] = []
    /// Largest accepted request body; bigger ones get HTTP 413 with `ErrorMessageSizeExceeded`.
    public var maxRequestBytes: Int = 64 * 1024 * 1024
    /// Serve HTTPS on the EWS port.
    public var tls: TLS?
    /// Persist mailboxes in this directory (journal + snapshot), so a restarted simulator keeps its data.
    public var dataDirectory: String?
    /// Event loop threads.
    public var threads: Int = 2
    public var logger: Logger = Logger(label: "exchange-sim")

    public init() {}
}

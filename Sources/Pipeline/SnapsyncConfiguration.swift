import Foundation
import SyncCore

/// Where snapsync finds PostgreSQL and Exchange: environment variables, optionally a `key=value` file
/// (`--config FILE`); the environment wins over the file. Secrets (the EWS password or token) are read
/// by the EWS module from the environment or a file named there, never from the command line.
///
/// | environment | file key | meaning |
/// |---|---|---|
/// | `SNAPSYNC_DATABASE_URL` | `database_url` | libpq URL or conninfo of the CRM database |
/// | `SNAPSYNC_EWS_URL` | `ews_url` | EWS endpoint, e.g. `https://mail.example.com/EWS/Exchange.asmx` |
/// | `SNAPSYNC_EWS_USER` | `ews_user` | service account |
/// | `SNAPSYNC_EWS_PASSWORD_FILE` | `ews_password_file` | file holding its password (or `SNAPSYNC_EWS_PASSWORD`) |
/// | `SNAPSYNC_EWS_AUTH` | `ews_auth` | `basic` (default) or `ntlm` |
/// | `SNAPSYNC_EWS_ACCESS` | `ews_access` | `impersonation` (default) or `delegate` |
/// | `SNAPSYNC_EWS_CA_FILE` | `ews_ca_file` | CA bundle for the Exchange server's certificate |
/// | `SNAPSYNC_EWS_INSECURE` | `ews_insecure` | `true` skips TLS verification (logged as a warning) |
/// | `SNAPSYNC_EXCHANGE_PROTOCOL` | `exchange_protocol` | `ews` (default) or `graph` |
/// | `SNAPSYNC_GRAPH_TENANT` | `graph_tenant` | Entra tenant (directory) id or domain |
/// | `SNAPSYNC_GRAPH_CLIENT_ID` | `graph_client_id` | the app registration's client id |
/// | `SNAPSYNC_GRAPH_CLIENT_SECRET_FILE` | `graph_client_secret_file` | file holding its client secret |
/// | `SNAPSYNC_GRAPH_CLIENT_CERTIFICATE` | `graph_client_certificate` | or its certificate (PEM), instead of a secret |
/// | `SNAPSYNC_GRAPH_CLIENT_KEY` | `graph_client_key` | the certificate's private key (PEM), if not in its file |
/// | `SNAPSYNC_GRAPH_REQUEST_BUDGET` | `graph_request_budget` | requests per mailbox per 10 minutes, default 10000; 0: no pacing |
/// | `SNAPSYNC_GRAPH_URL` | `graph_url` | Graph root, default `https://graph.microsoft.com/v1.0` |
/// | `SNAPSYNC_GRAPH_AUTHORITY` | `graph_authority` | token authority, default `https://login.microsoftonline.com` |
/// | `SNAPSYNC_GRAPH_CA_FILE`, `SNAPSYNC_GRAPH_INSECURE` | `graph_ca_file`, `graph_insecure` | as for EWS |
public struct SnapsyncConfiguration: Sendable, Hashable {
    public var databaseURL: String?
    public var exchangeProtocol: ExchangeProtocol = .ews
    public var graphTenant: String?
    public var graphClientID: String?
    public var graphClientSecretFile: String?
    public var graphClientCertificate: String?
    public var graphClientKey: String?
    /// Requests per mailbox per 10 minutes the Graph client paces itself to (Exchange Online's limit); 0: none.
    public var graphRequestBudget = 10_000
    public var graphURL = "https://graph.microsoft.com/v1.0"
    public var graphAuthority = "https://login.microsoftonline.com"
    public var graphCAFile: String?
    public var graphInsecure = false
    public var ewsURL: String?
    public var ewsAccess: String = "impersonation"
    public var ewsCAFile: String?
    public var ewsInsecure = false
    /// The environment the EWS credentials are read from (file values merged in under their variable names).
    public var credentialEnvironment: [String: String] = [:]

    /// A configuration error: a clear message naming the key or file (never a secret's value).
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { "configuration error: \(message)" }
    }

    static let keys: [String: String] = [
        "database_url": "SNAPSYNC_DATABASE_URL", "ews_url": "SNAPSYNC_EWS_URL", "ews_user": "SNAPSYNC_EWS_USER",
        "ews_password_file": "SNAPSYNC_EWS_PASSWORD_FILE", "ews_password": "SNAPSYNC_EWS_PASSWORD",
        "ews_token_file": "SNAPSYNC_EWS_TOKEN_FILE", "ews_auth": "SNAPSYNC_EWS_AUTH",
        "ews_access": "SNAPSYNC_EWS_ACCESS",
        "ews_ca_file": "SNAPSYNC_EWS_CA_FILE", "ews_insecure": "SNAPSYNC_EWS_INSECURE",
        "exchange_protocol": "SNAPSYNC_EXCHANGE_PROTOCOL", "graph_tenant": "SNAPSYNC_GRAPH_TENANT",
        "graph_client_id": "SNAPSYNC_GRAPH_CLIENT_ID", "graph_client_secret_file": "SNAPSYNC_GRAPH_CLIENT_SECRET_FILE",
        "graph_client_certificate": "SNAPSYNC_GRAPH_CLIENT_CERTIFICATE",
        "graph_client_key": "SNAPSYNC_GRAPH_CLIENT_KEY",
        "graph_request_budget": "SNAPSYNC_GRAPH_REQUEST_BUDGET", "graph_url": "SNAPSYNC_GRAPH_URL",
        "graph_authority": "SNAPSYNC_GRAPH_AUTHORITY",
        "graph_ca_file": "SNAPSYNC_GRAPH_CA_FILE", "graph_insecure": "SNAPSYNC_GRAPH_INSECURE",
    ]

    public init() {}

    /// Loads the configuration from `environment` and, when given, the `key=value` file at `path`
    /// (`#` comments and blank lines allowed; keys as in the table above, or the variable names themselves).
    public static func load(environment: [String: String], file path: String?) throws(Error) -> SnapsyncConfiguration {
        var values: [String: String] = [:]
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Error("cannot read the config file \(path)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw Error("the config file \(path) is not UTF-8")
            }
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let equals = line.firstIndex(of: "=") else {
                    throw Error("\(path) line \(number + 1): expected key=value")
                }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.first == "\"", value.last == "\"" {
                    value = String(value.dropFirst().dropLast())
                }
                guard let variable = keys[key.lowercased()] ?? (keys.values.contains(key) ? key : nil) else {
                    throw Error("\(path) line \(number + 1): unknown key '\(key)'")
                }
                values[variable] = value
            }
        }
        for (key, value) in environment where key.hasPrefix("SNAPSYNC_") && !value.isEmpty { values[key] = value }

        var configuration = SnapsyncConfiguration()
        configuration.databaseURL = values["SNAPSYNC_DATABASE_URL"]
        configuration.ewsURL = values["SNAPSYNC_EWS_URL"]
        if let url = configuration.ewsURL {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                ["http", "https"].contains(scheme), parsed.host != nil
            else {
                throw Error(
                    "SNAPSYNC_EWS_URL must be an http(s) URL such as https://mail.example.com/EWS/Exchange.asmx")
            }
        }
        if let access = values["SNAPSYNC_EWS_ACCESS"]?.lowercased() {
            guard access == "impersonation" || access == "delegate" else {
                throw Error("SNAPSYNC_EWS_ACCESS must be impersonation or delegate, not \(access)")
            }
            configuration.ewsAccess = access
        }
        configuration.ewsCAFile = try readableFile(values, "SNAPSYNC_EWS_CA_FILE")
        configuration.ewsInsecure = try flag(values, "SNAPSYNC_EWS_INSECURE")
        if let name = values["SNAPSYNC_EXCHANGE_PROTOCOL"]?.lowercased() {
            guard let exchangeProtocol = ExchangeProtocol(rawValue: name) else {
                throw Error("SNAPSYNC_EXCHANGE_PROTOCOL must be ews or graph, not \(name)")
            }
            configuration.exchangeProtocol = exchangeProtocol
        }
        configuration.graphTenant = values["SNAPSYNC_GRAPH_TENANT"]
        configuration.graphClientID = values["SNAPSYNC_GRAPH_CLIENT_ID"]
        configuration.graphClientSecretFile = values["SNAPSYNC_GRAPH_CLIENT_SECRET_FILE"]
        configuration.graphClientCertificate = try readableFile(values, "SNAPSYNC_GRAPH_CLIENT_CERTIFICATE")
        configuration.graphClientKey = try readableFile(values, "SNAPSYNC_GRAPH_CLIENT_KEY")
        if let text = values["SNAPSYNC_GRAPH_REQUEST_BUDGET"] {
            guard let budget = Int(text), budget >= 0 else {
                throw Error("SNAPSYNC_GRAPH_REQUEST_BUDGET must be a number of requests (0: no pacing), not \(text)")
            }
            configuration.graphRequestBudget = budget
        }
        for (variable, example) in [
            ("SNAPSYNC_GRAPH_URL", "https://graph.microsoft.com/v1.0"),
            ("SNAPSYNC_GRAPH_AUTHORITY", "https://login.microsoftonline.com"),
        ] {
            guard let url = values[variable] else { continue }
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                ["http", "https"].contains(scheme), parsed.host != nil
            else {
                throw Error("\(variable) must be an http(s) URL such as \(example)")
            }
            if variable == "SNAPSYNC_GRAPH_URL" {
                configuration.graphURL = url
            } else {
                configuration.graphAuthority = url
            }
        }
        configuration.graphCAFile = try readableFile(values, "SNAPSYNC_GRAPH_CA_FILE")
        configuration.graphInsecure = try flag(values, "SNAPSYNC_GRAPH_INSECURE")
        configuration.credentialEnvironment = values.filter { $0.key.hasPrefix("SNAPSYNC_EWS_") }
        return configuration
    }

    static func readableFile(_ values: [String: String], _ variable: String) throws(Error) -> String? {
        guard let path = values[variable] else { return nil }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Error("\(variable) (\(path)) is not readable")
        }
        return path
    }

    static func flag(_ values: [String: String], _ variable: String) throws(Error) -> Bool {
        guard let text = values[variable]?.lowercased() else { return false }
        guard ["true", "false", "1", "0", "yes", "no"].contains(text) else {
            throw Error("\(variable) must be true or false")
        }
        return ["true", "1", "yes"].contains(text)
    }

    /// How the Graph app proves itself: the file of its client secret, or its certificate and private key files.
    public enum GraphProofFiles: Sendable, Hashable {
        case secret(file: String)
        case certificate(file: String, keyFile: String)
    }

    /// The Graph app's tenant, client id and proof, or an error naming the missing or conflicting setting.
    public func requireGraph() throws(Error) -> (tenant: String, clientID: String, proof: GraphProofFiles) {
        guard let graphTenant else {
            throw Error("no Graph tenant: set SNAPSYNC_GRAPH_TENANT (or graph_tenant in --config)")
        }
        guard let graphClientID else {
            throw Error("no Graph client id: set SNAPSYNC_GRAPH_CLIENT_ID (or graph_client_id in --config)")
        }
        switch (graphClientSecretFile, graphClientCertificate) {
        case (let secretFile?, nil):
            return (graphTenant, graphClientID, .secret(file: secretFile))
        case (nil, let certificate?):
            return (graphTenant, graphClientID, .certificate(file: certificate, keyFile: graphClientKey ?? certificate))
        case (_?, _?):
            throw Error(
                "both a Graph client secret and a certificate are set: keep one of SNAPSYNC_GRAPH_CLIENT_SECRET_FILE and SNAPSYNC_GRAPH_CLIENT_CERTIFICATE"
            )
        case (nil, nil):
            throw Error(
                "no Graph client credential: set SNAPSYNC_GRAPH_CLIENT_SECRET_FILE or SNAPSYNC_GRAPH_CLIENT_CERTIFICATE (or graph_client_secret_file or graph_client_certificate in --config)"
            )
        }
    }

    /// The database URL, or an error saying how to set it.
    public func requireDatabase() throws(Error) -> String {
        guard let databaseURL else {
            throw Error("no database: set SNAPSYNC_DATABASE_URL (or database_url in --config)")
        }
        return databaseURL
    }

    /// The EWS endpoint, or an error saying how to set it.
    public func requireEWS() throws(Error) -> String {
        guard let ewsURL else { throw Error("no Exchange endpoint: set SNAPSYNC_EWS_URL (or ews_url in --config)") }
        return ewsURL
    }
}

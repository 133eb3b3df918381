import Foundation

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
public struct SnapsyncConfiguration: Sendable, Hashable {
    public var databaseURL: String?
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
        "ews_token_file": "SNAPSYNC_EWS_TOKEN_FILE", "ews_auth": "SNAPSYNC_EWS_AUTH", "ews_access": "SNAPSYNC_EWS_ACCESS",
        "ews_ca_file": "SNAPSYNC_EWS_CA_FILE", "ews_insecure": "SNAPSYNC_EWS_INSECURE",
    ]

    public init() {}

    /// Loads the configuration from `environment` and, when given, the `key=value` file at `path`
    /// (`#` comments and blank lines allowed; keys as in the table above, or the variable names themselves).
    public static func load(environment: [String: String], file path: String?) throws(Error) -> SnapsyncConfiguration {
        var values: [String: String] = [:]
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else { throw Error("cannot read the config file \(path)") }
            guard let text = String(data: data, encoding: .utf8) else { throw Error("the config file \(path) is not UTF-8") }
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let equals = line.firstIndex(of: "=") else {
                    throw Error("\(path) line \(number + 1): expected key=value")
                }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
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
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), parsed.host != nil else {
                throw Error("SNAPSYNC_EWS_URL must be an http(s) URL such as https://mail.example.com/EWS/Exchange.asmx")
            }
        }
        if let access = values["SNAPSYNC_EWS_ACCESS"]?.lowercased() {
            guard access == "impersonation" || access == "delegate" else {
                throw Error("SNAPSYNC_EWS_ACCESS must be impersonation or delegate, not \(access)")
            }
            configuration.ewsAccess = access
        }
        configuration.ewsCAFile = values["SNAPSYNC_EWS_CA_FILE"]
        if let caFile = configuration.ewsCAFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw Error("SNAPSYNC_EWS_CA_FILE (\(caFile)) is not readable")
        }
        if let insecure = values["SNAPSYNC_EWS_INSECURE"]?.lowercased() {
            guard ["true", "false", "1", "0", "yes", "no"].contains(insecure) else {
                throw Error("SNAPSYNC_EWS_INSECURE must be true or false")
            }
            configuration.ewsInsecure = ["true", "1", "yes"].contains(insecure)
        }
        configuration.credentialEnvironment = values.filter { $0.key.hasPrefix("SNAPSYNC_EWS_") }
        return configuration
    }

    /// The database URL, or an error saying how to set it.
    public func requireDatabase() throws(Error) -> String {
        guard let databaseURL else { throw Error("no database: set SNAPSYNC_DATABASE_URL (or database_url in --config)") }
        return databaseURL
    }

    /// The EWS endpoint, or an error saying how to set it.
    public func requireEWS() throws(Error) -> String {
        guard let ewsURL else { throw Error("no Exchange endpoint: set SNAPSYNC_EWS_URL (or ews_url in --config)") }
        return ewsURL
    }
}

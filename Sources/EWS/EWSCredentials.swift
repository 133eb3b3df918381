import Foundation
import HTTP

/// Reads the service account's credentials from the environment, never from the command line, and
/// never logs them.
///
/// - `SNAPSYNC_EWS_TOKEN` or `SNAPSYNC_EWS_TOKEN_FILE`: an OAuth bearer token (wins when set).
/// - `SNAPSYNC_EWS_USER` with `SNAPSYNC_EWS_PASSWORD` or `SNAPSYNC_EWS_PASSWORD_FILE`: Basic, or NTLM when
///   `SNAPSYNC_EWS_AUTH=ntlm` (`basic` is the default).
/// A file's content is used without its trailing newline.
public enum EWSCredentials {
    /// The authentication the environment describes; `.none` when it names no credentials.
    public static func authentication(
        from environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(EWSError) -> HTTPAuthentication
    {
        if let token = try secret(environment, value: "SNAPSYNC_EWS_TOKEN", file: "SNAPSYNC_EWS_TOKEN_FILE") {
            return .bearer(token: token)
        }
        guard let user = environment["SNAPSYNC_EWS_USER"], !user.isEmpty else {
            if environment["SNAPSYNC_EWS_PASSWORD"] != nil || environment["SNAPSYNC_EWS_PASSWORD_FILE"] != nil {
                throw failure("SNAPSYNC_EWS_PASSWORD is set but SNAPSYNC_EWS_USER is not")
            }
            return .none
        }
        guard let password = try secret(environment, value: "SNAPSYNC_EWS_PASSWORD", file: "SNAPSYNC_EWS_PASSWORD_FILE")
        else {
            throw failure("SNAPSYNC_EWS_USER is set but neither SNAPSYNC_EWS_PASSWORD nor SNAPSYNC_EWS_PASSWORD_FILE")
        }
        switch environment["SNAPSYNC_EWS_AUTH"]?.lowercased() ?? "basic" {
        case "basic": return .basic(username: user, password: password)
        case "ntlm": return .ntlm(username: user, password: password)
        case let other: throw failure("SNAPSYNC_EWS_AUTH must be basic or ntlm, not \(other)")
        }
    }

    /// The secret files the environment names (`SNAPSYNC_EWS_PASSWORD_FILE`, `SNAPSYNC_EWS_TOKEN_FILE`) that users
    /// other than the owner may read (group or others have the read bit), with the variable naming each.
    public static func filesReadableByOthers(
        in environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> [(variable: String, path: String)]
    {
        ["SNAPSYNC_EWS_PASSWORD_FILE", "SNAPSYNC_EWS_TOKEN_FILE"].compactMap { variable in
            guard let path = environment[variable], !path.isEmpty,
                let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
                mode & 0o044 != 0
            else { return nil }
            return (variable, path)
        }
    }

    static func secret(_ environment: [String: String], value: String, file: String) throws(EWSError) -> String? {
        if let direct = environment[value], !direct.isEmpty { return direct }
        guard let path = environment[file], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot read \(file) (\(path))")
        }
        var text = String(decoding: data, as: UTF8.self)
        while let last = text.last, last == "\n" || last == "\r" { text.removeLast() }
        guard !text.isEmpty else { throw failure("\(file) (\(path)) is empty") }
        return text
    }

    static func failure(_ what: String) -> EWSError {
        EWSError(code: .configuration(what), operation: "credentials", message: "")
    }
}

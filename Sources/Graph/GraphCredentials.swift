import Foundation

/// How the app proves itself to Entra ID in the OAuth2 client-credentials grant: a client secret, or a certificate
/// whose key signs a client assertion.
public struct GraphCredentials: Sendable, CustomStringConvertible {
    /// What the app shows the token endpoint; never logged.
    public enum Proof: Sendable {
        case secret(String)
        case certificate(GraphClientCertificate)
    }

    /// The directory (tenant) id or domain.
    public var tenant: String
    public var clientID: String
    public var proof: Proof
    /// e.g. `https://login.microsoftonline.com`.
    public var authority: String
    /// The resource's `.default` scope.
    public var scope: String

    public init(
        tenant: String, clientID: String, proof: Proof, authority: String = "https://login.microsoftonline.com",
        scope: String = "https://graph.microsoft.com/.default"
    ) {
        self.tenant = tenant
        self.clientID = clientID
        self.proof = proof
        self.authority = authority
        self.scope = scope
    }

    public init(
        tenant: String, clientID: String, clientSecret: String, authority: String = "https://login.microsoftonline.com"
    ) {
        self.init(tenant: tenant, clientID: clientID, proof: .secret(clientSecret), authority: authority)
    }

    /// The token request's form fields that prove the app (`client_secret`, or a fresh `client_assertion`).
    func proofFields(now: Date) throws(GraphError) -> [(String, String)] {
        switch proof {
        case .secret(let secret):
            return [("client_secret", secret)]
        case .certificate(let certificate):
            return [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", try certificate.assertion(clientID: clientID, audience: tokenEndpoint, now: now)),
            ]
        }
    }

    /// The token endpoint: `{authority}/{tenant}/oauth2/v2.0/token`.
    public var tokenEndpoint: String {
        var base = authority
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/\(GraphPath.segment(tenant))/oauth2/v2.0/token"
    }

    public var description: String {
        switch proof {
        case .secret: "client \(clientID) of tenant \(tenant) (secret redacted)"
        case .certificate(let certificate): "client \(clientID) of tenant \(tenant) with \(certificate)"
        }
    }

    /// The client secret held in a file (its first line, trimmed); the error names the file, never its content.
    public static func secret(fromFile path: String) throws(GraphError) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw GraphError(
                .configuration("cannot read the Graph client secret file \(path)"), operation: "read secret")
        }
        let secret = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !secret.isEmpty else {
            throw GraphError(.configuration("the Graph client secret file \(path) is empty"), operation: "read secret")
        }
        return secret
    }

    /// True when a file can be read by users other than its owner (a secret file should be mode 0600).
    public static func isReadableByOthers(_ path: String) -> Bool {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else {
            return false
        }
        return mode & 0o044 != 0
    }
}

/// Paths and their encoding.
enum GraphPath {
    /// RFC 3986's unreserved characters: letters, digits, `-`, `.`, `_`, `~`.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// A path segment or query value, percent-encoded except for RFC 3986's unreserved characters.
    static func segment(_ text: String) -> String {
        if text.utf8.allSatisfy(isUnreserved) { return text }
        let hex: StaticString = "0123456789ABCDEF"
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A form body (`application/x-www-form-urlencoded`).
    static func form(_ fields: [(String, String)]) -> [UInt8] {
        Array(fields.map { "\(segment($0.0))=\(segment($0.1))" }.joined(separator: "&").utf8)
    }
}

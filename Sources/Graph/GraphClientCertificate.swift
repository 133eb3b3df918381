import Crypto
import Foundation
import _CryptoExtras

/// A certificate credential of the app registration: the certificate uploaded to Entra ID and its RSA private key.
/// The app proves itself with a client assertion (RFC 7523, as the Microsoft identity platform takes it): a JWT
/// signed PS256 with the key, naming the certificate by its SHA-256 thumbprint (`x5t#S256`).
/// The key never leaves this type; ``description`` names the certificate by thumbprint only.
public struct GraphClientCertificate: Sendable, CustomStringConvertible {
    /// SHA-256 of the certificate's DER bytes, base64url: the `x5t#S256` header.
    public let thumbprint: String
    let key: _RSA.Signing.PrivateKey

    /// The certificate's first PEM block and an RSA private key (PKCS#1 or PKCS#8 PEM, unencrypted), from their files
    /// (one file may hold both). Errors name the files, never their content.
    public init(certificateFile: String, keyFile: String) throws(GraphError) {
        let certificateText = try Self.read(certificateFile, what: "certificate")
        guard let der = Self.firstPEMBlock("CERTIFICATE", in: certificateText) else {
            throw Self.error("no PEM certificate in \(certificateFile)")
        }
        let keyText = try Self.read(keyFile, what: "private key")
        guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: Self.keyPEM(in: keyText)) else {
            throw Self.error("no unencrypted RSA private key of 2,048 bits or more in \(keyFile)")
        }
        self.init(certificateDER: der, key: key)
    }

    init(certificateDER: [UInt8], key: _RSA.Signing.PrivateKey) {
        thumbprint = Self.base64URL(Array(SHA256.hash(data: certificateDER)))
        self.key = key
    }

    public var description: String { "certificate \(thumbprint) (key redacted)" }

    /// A client assertion for `clientID` at the token endpoint `audience`, valid for ten minutes from `now`.
    func assertion(clientID: String, audience: String, now: Date) throws(GraphError) -> String {
        let seconds = Int(now.timeIntervalSince1970)
        let header: [String: Any] = ["alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint]
        let claims: [String: Any] = [
            "aud": audience, "iss": clientID, "sub": clientID, "jti": UUID().uuidString,
            "nbf": seconds, "iat": seconds, "exp": seconds + 600,
        ]
        guard let headerJSON = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]),
            let claimsJSON = try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        else {
            throw Self.error("cannot encode the client assertion")
        }
        let signed = Self.base64URL(Array(headerJSON)) + "." + Self.base64URL(Array(claimsJSON))
        guard let signature = try? key.signature(for: SHA256.hash(data: Array(signed.utf8)), padding: .PSS) else {
            throw Self.error("cannot sign the client assertion with the certificate's key")
        }
        return signed + "." + Self.base64URL(Array(signature.rawRepresentation))
    }

    static func read(_ path: String, what: String) throws(GraphError) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw error("cannot read the Graph client \(what) file \(path)")
        }
        return text
    }

    /// The DER bytes of the first `-----BEGIN LABEL-----` block.
    static func firstPEMBlock(_ label: String, in text: String) -> [UInt8]? {
        guard let begin = text.range(of: "-----BEGIN \(label)-----"),
            let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex)
        else { return nil }
        let body = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map(Array.init)
    }

    /// The private key's PEM block out of a file that may hold a certificate too.
    static func keyPEM(in text: String) -> String {
        for label in ["PRIVATE KEY", "RSA PRIVATE KEY"] {
            if let begin = text.range(of: "-----BEGIN \(label)-----"),
                let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex)
            {
                return String(text[begin.lowerBound..<end.upperBound])
            }
        }
        return text
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func error(_ message: String) -> GraphError {
        GraphError(.configuration(message), operation: "read certificate")
    }
}

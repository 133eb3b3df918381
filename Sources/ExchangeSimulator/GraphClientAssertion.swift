import Crypto
import Foundation
import NIOSSL
import _CryptoExtras

/// A certificate registered as an app's credential (`--graph-app-cert CLIENT_ID:CERT.pem`): the app proves itself
/// with a `client_assertion` JWT signed with the certificate's private key.
public struct GraphAppCertificate: Sendable {
    public var clientId: String
    /// PEM file holding the certificate (its first certificate is used; a private key in the file is ignored).
    public var certificatePath: String
    public init(clientId: String, certificatePath: String) {
        self.clientId = clientId; self.certificatePath = certificatePath
    }
}

/// What Entra keeps of an uploaded certificate to check client assertions: its thumbprints and its RSA public key.
struct RegisteredCertificate: Sendable {
    let sha1Thumbprint: [UInt8]
    let sha256Thumbprint: [UInt8]
    let publicKey: _RSA.Signing.PublicKey

    /// The certificate's first PEM block; Entra takes RSA keys of 2,048 bits and more only.
    init(pemFile path: String) throws {
        guard let certificate = try NIOSSLCertificate.fromPEMFile(path).first else {
            throw SimulatorConfigurationError("no certificate in \(path)")
        }
        let der = try certificate.toDERBytes()
        sha1Thumbprint = Array(Insecure.SHA1.hash(data: der))
        sha256Thumbprint = Array(SHA256.hash(data: der))
        do {
            publicKey = try _RSA.Signing.PublicKey(derRepresentation: try certificate.extractPublicKey().toSPKIBytes())
        } catch {
            throw SimulatorConfigurationError("the certificate in \(path) has no RSA key of 2,048 bits or more")
        }
    }
}

/// A configuration the simulator cannot start with (a file it cannot use).
public struct SimulatorConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Entra ID's check of a client assertion (RFC 7523 as the Microsoft identity platform applies it): a compact JWS,
/// RS256 or PS256, whose `x5t` (SHA-1) or `x5t#S256` (SHA-256) header names one of the app's certificates and
/// whose signature that certificate's key verifies; `aud` the token endpoint, `iss` = `sub` = the client id,
/// `exp` not passed, `nbf` reached (five minutes' clock skew, as Entra allows).
enum ClientAssertion {
    static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    static let skew = 300.0

    /// Checks `assertion` for `clientId` against its registered `certificates`; throws Entra's error.
    static func verify(
        _ assertion: String, clientId: String, certificates: [RegisteredCertificate], audiences: [String],
        now: Double
    ) throws(GraphAuth.EntraError) {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = base64URLDecode(parts[0]),
            let claimsBytes = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2]),
            let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: Data(claimsBytes))) as? [String: Any]
        else {
            throw malformed()
        }
        let padding: _RSA.Signing.Padding
        switch header["alg"] as? String {
        case "RS256": padding = .insecurePKCS1v1_5
        case "PS256": padding = .PSS
        default: throw malformed()
        }
        let thumbprint: (value: [UInt8], sha256: Bool)
        if let t = (header["x5t#S256"] as? String).flatMap({ base64URLDecode(Substring($0)) }) {
            thumbprint = (t, true)
        } else if let t = (header["x5t"] as? String).flatMap({ base64URLDecode(Substring($0)) }) {
            thumbprint = (t, false)
        } else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700027,
                description:
                    "Client assertion failed signature validation. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '\(clientId)'.]"
            )
        }
        guard
            let certificate = certificates.first(where: {
                (thumbprint.sha256 ? $0.sha256Thumbprint : $0.sha1Thumbprint) == thumbprint.value
            })
        else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700027,
                description:
                    "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '\(hex(thumbprint.value))', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '\(clientId)'.]"
            )
        }
        let signed = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        guard
            certificate.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signed),
                padding: padding)
        else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700027,
                description:
                    "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '\(hex(thumbprint.value))']"
            )
        }
        guard let audience = claims["aud"] as? String,
            audiences.contains(where: { $0.caseInsensitiveCompare(audience) == .orderedSame })
        else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700023,
                description:
                    "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
            )
        }
        guard claims["iss"] as? String == clientId, claims["sub"] as? String == clientId else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700021,
                description:
                    "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
            )
        }
        guard let expires = seconds(claims["exp"]) else { throw malformed() }
        let notBefore = seconds(claims["nbf"]) ?? seconds(claims["iat"]) ?? .infinity
        guard notBefore.isFinite, expires + skew > now, notBefore - skew <= now else {
            throw GraphAuth.EntraError(
                status: 401, error: "invalid_client", code: 700024,
                description:
                    "Client assertion is not within its valid time range. Current time: \(FieldValue.formatDate(now)), assertion valid from \(notBefore.isFinite ? FieldValue.formatDate(notBefore) : "(none)"), expiry time of assertion \(FieldValue.formatDate(expires))."
            )
        }
    }

    static func malformed() -> GraphAuth.EntraError {
        GraphAuth.EntraError(
            status: 401, error: "invalid_client", code: 50027, description: "JWT token is invalid or malformed.")
    }

    /// A NumericDate claim (seconds, integer or not: MSAL writes fractions).
    static func seconds(_ value: Any?) -> Double? {
        switch value {
        case let d as Double: d
        case let i as Int: Double(i)
        case let n as NSNumber: n.doubleValue
        default: nil
        }
    }

    /// Base64url (RFC 7515), its padding optional (MSAL pads the `x5t#S256` it writes); nil when not base64url.
    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        let body = text.prefix { $0 != "=" }
        guard text.dropFirst(body.count).allSatisfy({ $0 == "=" }) else { return nil }
        var s = String(body).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.utf8.count % 4) % 4)
        return Data(base64Encoded: s).map(Array.init)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02X", $0) }.joined()
    }
}

import Crypto
import Foundation
import Testing
import TestSupport
import _CryptoExtras
@testable import ExchangeSimulator

/// Certificate credentials at the token endpoint: a client assertion (RS256 with `x5t`, PS256 with `x5t#S256`)
/// signed with a registered certificate's key gets a token; every check Entra makes refuses with its AADSTS code.
@Suite struct GraphClientAssertionTests {
    static let app = "crm-cert-app"

    /// A signed client assertion; `claims` and `header` entries override the valid defaults.
    static func assertion(
        key: _RSA.Signing.PrivateKey, certificatePEM: String, audience: String, pss: Bool = false,
        sha256: Bool = false, header: [String: Any] = [:], claims: [String: Any] = [:]
    ) throws -> String {
        let der = try #require(
            Data(base64Encoded: certificatePEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
        var h: [String: Any] = ["alg": pss ? "PS256" : "RS256", "typ": "JWT"]
        if sha256 {
            h["x5t#S256"] = b64url(Data(SHA256.hash(data: der)))
        } else {
            h["x5t"] = b64url(Data(Insecure.SHA1.hash(data: der)))
        }
        h.merge(header) { $1 }
        let now = Int(Date().timeIntervalSince1970)
        var c: [String: Any] = [
            "aud": audience, "iss": app, "sub": app, "exp": now + 600, "nbf": now, "iat": now, "jti": UUID().uuidString,
        ]
        c.merge(claims) { $1 }
        let input =
            b64url(try JSONSerialization.data(withJSONObject: h)) + "."
            + b64url(try JSONSerialization.data(withJSONObject: c))
        let signature = try key.signature(
            for: SHA256.hash(data: Data(input.utf8)), padding: pss ? .PSS : .insecurePKCS1v1_5)
        return input + "." + b64url(signature.rawRepresentation)
    }

    static func b64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test func signedAssertionsGetTokensAndEveryEntraCheckRefusesWithItsCode() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let registered = try ca.appCertificate("registered"), other = try ca.appCertificate("other")
        let key = try _RSA.Signing.PrivateKey(
            pemRepresentation: try String(contentsOfFile: registered.key, encoding: .utf8))
        let otherKey = try _RSA.Signing.PrivateKey(
            pemRepresentation: try String(contentsOfFile: other.key, encoding: .utf8))
        let pem = try String(contentsOfFile: registered.certificate, encoding: .utf8)
        let otherPEM = try String(contentsOfFile: other.certificate, encoding: .utf8)
        try await withSimulator({
            $0.graphAppCertificates = [GraphAppCertificate(clientId: Self.app, certificatePath: registered.certificate)]
        }) { sim, _ in
            let g = GraphClient(sim)
            let endpoint = g.base + "/contoso.onmicrosoft.com/oauth2/v2.0/token"
            func token(
                _ assertion: String, type: String = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                secret: String? = nil
            ) async throws -> GraphReply {
                var form =
                    "grant_type=client_credentials&client_id=\(Self.app)&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                    + "&client_assertion_type=" + type.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    + "&client_assertion=\(assertion)"
                if let secret { form += "&client_secret=\(secret)" }
                return try await g.raw(
                    "POST", endpoint, body: Data(form.utf8),
                    headers: ["Content-Type": "application/x-www-form-urlencoded"])
            }
            func code(_ r: GraphReply) -> Int? {
                if case .array(let a) = r.json["error_codes"], case .int(let c) = a.first { c } else { nil }
            }

            for (pss, sha256) in [(false, false), (true, true), (true, false), (false, true)] {
                let ok = try await token(
                    try Self.assertion(key: key, certificatePEM: pem, audience: endpoint, pss: pss, sha256: sha256))
                #expect(
                    ok.status == 200 && ok.json["access_token"]?.string != nil,
                    "pss \(pss), sha256 \(sha256): \(ok.text)")
            }
            // The token it issued opens Graph.
            var signedIn = g
            let issued = try await token(try Self.assertion(key: key, certificatePEM: pem, audience: endpoint))
            signedIn.token = try #require(issued.json["access_token"]?.string)
            #expect(
                try await signedIn.get("/users/\(SimulatorConfiguration.defaultAccount.user)/contacts").status == 200)

            let now = Int(Date().timeIntervalSince1970)
            let refusals: [(String, String, Int)] = [
                (
                    "signed by another key", try Self.assertion(key: otherKey, certificatePEM: pem, audience: endpoint),
                    700027
                ),
                (
                    "an unregistered certificate",
                    try Self.assertion(key: otherKey, certificatePEM: otherPEM, audience: endpoint), 700027
                ),
                (
                    "no thumbprint",
                    try Self.assertion(key: key, certificatePEM: pem, audience: endpoint, header: ["x5t": NSNull()]),
                    700027
                ),
                (
                    "another audience",
                    try Self.assertion(key: key, certificatePEM: pem, audience: "https://login.example/token"), 700023
                ),
                (
                    "another issuer",
                    try Self.assertion(
                        key: key, certificatePEM: pem, audience: endpoint, claims: ["iss": "someone-else"]), 700021
                ),
                (
                    "another subject",
                    try Self.assertion(
                        key: key, certificatePEM: pem, audience: endpoint, claims: ["sub": "someone-else"]), 700021
                ),
                (
                    "expired",
                    try Self.assertion(
                        key: key, certificatePEM: pem, audience: endpoint,
                        claims: ["exp": now - 3600, "nbf": now - 7200]), 700024
                ),
                (
                    "not yet valid",
                    try Self.assertion(key: key, certificatePEM: pem, audience: endpoint, claims: ["nbf": now + 3600]),
                    700024
                ),
                (
                    "HS256",
                    try Self.assertion(key: key, certificatePEM: pem, audience: endpoint, header: ["alg": "HS256"]),
                    50027
                ),
                ("not a JWT", "not.a-jwt", 50027),
            ]
            for (what, assertion, expected) in refusals {
                let r = try await token(assertion)
                #expect(
                    r.status == 401 && r.json["error"]?.string == "invalid_client" && code(r) == expected,
                    "\(what): \(r.text)")
                #expect(r.json["error_description"]?.string?.hasPrefix("AADSTS\(expected): ") == true, "\(what)")
            }
            let tampered = try Self.assertion(key: key, certificatePEM: pem, audience: endpoint).split(separator: ".")
            let forged =
                tampered[0] + "."
                + Self.b64url(
                    try JSONSerialization.data(withJSONObject: [
                        "aud": endpoint, "iss": "x", "sub": "x", "exp": now + 60,
                    ])) + "." + tampered[2]
            #expect(code(try await token(String(forged))) == 700027)
            let wrongType = try await token(
                try Self.assertion(key: key, certificatePEM: pem, audience: endpoint), type: "password")
            #expect(wrongType.status == 400 && wrongType.json["error"]?.string == "invalid_request")
            // A certificate-only app has no secret.
            var secretForm =
                "grant_type=client_credentials&client_id=\(Self.app)&client_secret=guess&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
            #expect(code(try await g.raw("POST", endpoint, body: Data(secretForm.utf8))) == 7000215)
            // A secret app presenting an assertion: no certificate is registered for it.
            secretForm =
                "grant_type=client_credentials&client_id=\(GraphApp.demo.clientId)&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
                + (try Self.assertion(key: key, certificatePEM: pem, audience: endpoint))
            #expect(code(try await g.raw("POST", endpoint, body: Data(secretForm.utf8))) == 700027)

            // MSAL's discovery document names this token endpoint.
            let discovery = try await g.raw(
                "GET", g.base + "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
            #expect(discovery.status == 200 && discovery.json["token_endpoint"]?.string == endpoint)
        }
    }

    @Test func aCertificateFileWithoutAnRSAKeyIsRefusedAtStart() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        var config = SimulatorConfiguration()
        // EC P-256
        config.graphAppCertificates = [GraphAppCertificate(clientId: Self.app, certificatePath: ca.certificateFile)]
        await #expect(throws: SimulatorConfigurationError.self) { try await Simulator.start(config) }
    }
}

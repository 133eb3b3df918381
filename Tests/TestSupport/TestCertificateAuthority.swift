import Foundation

/// A throwaway certificate authority and a server certificate it signed for `127.0.0.1` and `localhost`,
/// made with the `openssl` command line tool in a fresh temporary directory (removed by ``remove()``).
public struct TestCertificateAuthority: Sendable {
    /// The directory holding the files.
    public let directory: String
    /// The CA certificate (PEM): what a client trusts.
    public var caFile: String { directory + "/ca.pem" }
    /// The server certificate (PEM), signed by the CA.
    public var certificateFile: String { directory + "/server.pem" }
    /// The server's private key (PEM).
    public var keyFile: String { directory + "/server.key" }

    /// Creates the CA and the server certificate (EC P-256 keys, valid for two days).
    public init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("snapsync-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        basicConstraints = CA:FALSE
        keyUsage = digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1, DNS:localhost
        """.write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + ec + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=snapsync test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        ])
    }

    /// A self-signed RSA 2,048 certificate for an app's client credentials (as Entra takes them), written to
    /// `NAME.pem` (the certificate), `NAME.key` (its private key) and `NAME-both.pem` (the two, as azure-identity
    /// reads them) in the directory; returns the three paths.
    public func appCertificate(_ name: String) throws -> (certificate: String, key: String, both: String) {
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).pem", "-days",
            "2",
            "-subj", "/CN=\(name)",
        ])
        let both =
            try String(contentsOfFile: directory + "/\(name).pem", encoding: .utf8)
            + String(contentsOfFile: directory + "/\(name).key", encoding: .utf8)
        try both.write(toFile: directory + "/\(name)-both.pem", atomically: true, encoding: .utf8)
        return (directory + "/\(name).pem", directory + "/\(name).key", directory + "/\(name)-both.pem")
    }

    /// Deletes the directory and its files.
    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func openssl(_ arguments: [String]) throws {
        // Called from synchronous initializers; openssl ends in a moment.
        let result = try ChildProcess.runBlocking(
            URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments,
            currentDirectory: URL(fileURLWithPath: directory))
        guard result.status == 0 else {
            throw TestCertificateError(message: "openssl \(arguments.first ?? "") failed: \(result.output)")
        }
    }
}

/// `openssl` failed while making test certificates.
public struct TestCertificateError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

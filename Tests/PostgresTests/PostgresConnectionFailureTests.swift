import Foundation
import Logging
import Postgres
import Testing
import TestSupport

/// Why a connection failed, as a caller needs it: a wrong connection string or a refused login is the setting's
/// fault (fix it), no answer is an outage (try again); no message quotes the password.
@Suite struct PostgresConnectionFailureTests {
    static let password = "Sw0rdfish-7"
    let logger = TestDatabase.quietLogger

    func failure(_ conninfo: String) async -> PostgresError? {
        await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(conninfo, logger: logger) }
    }

    @Test(arguments: [
        ("postgresql://crm:%P@x@127.0.0.1:5432/crm", "'@'"),
        ("postgresql://crm:%P@127.0.0.1:5432/crm?sslmode=bogus", "sslmode"),
        ("postgresql://crm:%P@127.0.0.1:54x2/crm", "port"),
        ("postgresql://crm:%P@127.0.0.1:99999/crm", "port"),
        ("postgresql://crm:%P@[127.0.0.1/crm", "invalid connection string"),
        ("postgresql://crm:%P%zz@127.0.0.1/crm", "invalid connection string"),
        ("host=127.0.0.1 password=%P dbname", "invalid connection string"),
        ("postgresql://crm:%P@127.0.0.1/crm?nosuchoption=1", "invalid connection string"),
    ])
    func aMalformedConnectionStringIsRefusedBeforeConnecting(_ template: String, _ named: String) async throws {
        let error = try #require(await failure(template.replacingOccurrences(of: "%P", with: Self.password)))
        #expect(error.code == .connectionFailed)
        #expect(error.connectionFailure == .invalidConnectionString, "\(error)")
        #expect(error.isConnectionSettingProblem)
        #expect(error.description.contains(named), "\(error)")
        #expect(!error.description.contains(Self.password), "\(error)")
        #expect(!error.description.contains("Sw0rd"), "\(error)")
    }

    @Test func aMissingDatabaseIsARejectedLogin() async throws {
        let server = try await TestDatabase.serverConninfo()
        let error = try #require(await failure(TestDatabase.conninfo(server, database: "no_such_database_here")))
        #expect(error.connectionFailure == .rejected, "\(error)")
        #expect(error.description.contains("does not exist"))
    }

    @Test func aRefusedPasswordIsARejectedLoginWithoutThePassword() async throws {
        let server = try await PasswordRefusingPostgresServer()
        let error = try #require(
            await failure("postgresql://crm:\(Self.password)@127.0.0.1:\(server.port)/crm?sslmode=disable"))
        try await server.shutdown()
        #expect(error.connectionFailure == .rejected, "\(error)")
        #expect(error.description.contains("password authentication failed"), "\(error)")
        #expect(!error.description.contains(Self.password))
    }

    @Test func noServerIsAnOutage() async throws {
        let error = try #require(await failure("postgresql://crm:\(Self.password)@127.0.0.1:1/crm?connect_timeout=5"))
        #expect(error.connectionFailure == .unreachable, "\(error)")
        #expect(!error.isConnectionSettingProblem)
    }
}

import Foundation
import Pipeline
import Testing

@Suite struct SnapsyncConfigurationTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("snapsync-\(UUID()).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        let path = try file("# CRM\ndatabase_url = host=/tmp dbname=file\news_url=https://mail.example.com/EWS/Exchange.asmx\n")
        let configuration = try SnapsyncConfiguration.load(environment: ["SNAPSYNC_DATABASE_URL": "dbname=env"], file: path)
        #expect(configuration.databaseURL == "dbname=env")
        #expect(configuration.ewsURL == "https://mail.example.com/EWS/Exchange.asmx")
    }

    @Test func badValuesAreClearErrorsNamingTheKey() throws {
        #expect(throws: SnapsyncConfiguration.Error("SNAPSYNC_EWS_ACCESS must be impersonation or delegate, not sideways")) {
            try SnapsyncConfiguration.load(environment: ["SNAPSYNC_EWS_ACCESS": "sideways"], file: nil)
        }
        let path = try file("database_url=x\nnonsense\n")
        #expect(throws: SnapsyncConfiguration.Error("\(path) line 2: expected key=value")) {
            try SnapsyncConfiguration.load(environment: [:], file: path)
        }
        #expect(throws: SnapsyncConfiguration.Error.self) { try SnapsyncConfiguration.load(environment: ["SNAPSYNC_EWS_URL": "ftp://x"], file: nil) }
        #expect(throws: SnapsyncConfiguration.Error.self) { try SnapsyncConfiguration.load(environment: [:], file: "/nonexistent/snapsync.conf") }
        #expect(throws: SnapsyncConfiguration.Error.self) { try SnapsyncConfiguration().requireDatabase() }
    }

    @Test func aPasswordNeverAppearsInErrors() throws {
        let path = try file("ews_password=hunter2\nbogus_key=1\n")
        do {
            _ = try SnapsyncConfiguration.load(environment: [:], file: path)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}

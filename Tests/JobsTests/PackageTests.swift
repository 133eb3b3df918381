import Foundation
import Postgres
import TestSupport
import Testing

/// The Debian package `jobs/dev/package.sh` builds (test.sh builds it before the suite): its metadata and layout,
/// lintian, and the installed snapsync migrating a database and running a snapshot through the installed cron job
/// against the installed simulator. Installing needs root (CI runs as root); it is purged afterwards.
@Suite(.serialized) struct PackageTests {
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let isRoot = getuid() == 0

    /// `SNAPSYNC_TEST_PACKAGE`, else the newest `.build-package/snapsync_*.deb` of the repository.
    static let package: URL? = {
        if let path = ProcessInfo.processInfo.environment["SNAPSYNC_TEST_PACKAGE"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let directory = JobScriptRunner.repositoryRoot.appendingPathComponent(".build-package")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("snapsync_") && $0.hasSuffix(".deb") }
            .map { directory.appendingPathComponent($0) }
            .max { modified($0) < modified($1) }
    }()

    private static func modified(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? .distantPast
    }

    private func run(
        _ tool: String, _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> ChildProcess.Result {
        try await ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [tool] + arguments, environment: environment)
    }

    private func requirePackage() throws -> URL {
        try #require(
            Self.package, "no package: run jobs/dev/package.sh (jobs/dev/test.sh does) or set SNAPSYNC_TEST_PACKAGE")
    }

    /// The version the snapsync of this build prints.
    private func builtVersion() async throws -> String {
        let result = try await ChildProcess.run(try CLIObservabilityTests.snapsyncBinary(), ["--version"])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: package != nil || inCI, "no package built (jobs/dev/package.sh)"))
    func thePackageDeclaresItsVersionDependenciesAndLayout() async throws {
        let deb = try requirePackage()
        let version = try await builtVersion()
        #expect(deb.lastPathComponent.hasPrefix("snapsync_\(version)_"))

        let info = try await run("dpkg-deb", ["--info", deb.path])
        #expect(info.status == 0, "\(info.output)")
        #expect(info.output.contains(" Package: snapsync\n"))
        #expect(info.output.contains(" Version: \(version)\n"))
        let depends = try #require(info.output.split(separator: "\n").first { $0.hasPrefix(" Depends: ") })
        for library in ["libpq5", "libcurl4", "libxml2", "libc6"] { #expect(depends.contains(library), "\(depends)") }
        #expect(!depends.contains("swift"))

        let contents = try await run("dpkg-deb", ["--contents", deb.path])
        #expect(contents.status == 0)
        let entries = contents.output.split(separator: "\n").map(String.init)
        func entry(_ path: String) -> String? {
            entries.first { $0.hasSuffix(" ./" + path) || $0.contains(" ./" + path + " -> ") }
        }
        for binary in ["snapsync", "exchange-sim"] {
            #expect(entry("opt/snapsync/bin/\(binary)")?.hasPrefix("-rwxr-xr-x root/root") == true)
            #expect(entry("usr/bin/\(binary)")?.hasSuffix("-> /opt/snapsync/bin/\(binary)") == true)
        }
        let migrations = try FileManager.default.contentsOfDirectory(atPath: TestDatabase.sqlDirectory.path)
            .filter { $0.hasSuffix(".sql") }
        #expect(!migrations.isEmpty)
        for name in migrations { #expect(entry("usr/share/snapsync/sql/\(name)") != nil, "\(name)") }
        for job in ["nightly-inbound.sh", "outbound.sh", "live-sync.sh", "onboard.sh", "doctor-report.sh"] {
            #expect(entry("opt/snapsync/jobs/\(job)")?.hasPrefix("-rwxr-xr-x") == true, "\(job)")
        }
        #expect(entry("opt/snapsync/jobs/lib/common.sh") != nil)
        #expect(entry("etc/snapsync/snapsync.conf")?.hasPrefix("-rw------- root/root") == true)
        #expect(entry("usr/share/doc/snapsync/examples/crontab") != nil)
        #expect(!entries.contains { $0.contains("/dev/") })

        let control = try await run("dpkg-deb", ["--field", deb.path, "Package"])
        #expect(control.output.trimmingCharacters(in: .whitespacesAndNewlines) == "snapsync")
        let conffiles = try await run("sh", ["-c", "dpkg-deb --ctrl-tarfile '\(deb.path)' | tar -xOf - ./conffiles"])
        #expect(conffiles.output.trimmingCharacters(in: .whitespacesAndNewlines) == "/etc/snapsync/snapsync.conf")
    }

    @Test(.enabled(if: package != nil || inCI, "no package built (jobs/dev/package.sh)"))
    func lintianReportsNoErrors() async throws {
        let deb = try requirePackage()
        let lintian = try await run("lintian", ["--fail-on", "error", "--no-tag-display-limit", deb.path])
        #expect(lintian.status == 0, "\(lintian.output)")
        #expect(!lintian.output.split(separator: "\n").contains { $0.hasPrefix("E: ") }, "\(lintian.output)")
    }

    @Test(.enabled(if: (package != nil && isRoot) || inCI, "installing the package needs root and a built package"))
    func theInstalledSnapsyncMigratesAndRunsASnapshotThroughItsCronJob() async throws {
        let deb = try requirePackage()
        try #require(Self.isRoot, "installing the package needs root")
        let installed = try await run("dpkg", ["--install", deb.path])
        #expect(installed.status == 0, "\(installed.output)")
        defer {
            // No `await` in a `defer`: the purge ends before the next test installs the package again.
            _ = try? ChildProcess.runBlocking(URL(fileURLWithPath: "/usr/bin/dpkg"), ["--purge", "snapsync"])
        }
        try #require(installed.status == 0)

        let snapsync = URL(fileURLWithPath: "/usr/bin/snapsync")
        let version = try await ChildProcess.run(snapsync, ["--version"])
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines) == (try await builtVersion()))

        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "snapsync-package-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let simulator = try await InstalledSimulator.start(
            mailbox: "anna@example.com", output: work.appendingPathComponent("sim.out"))
        defer { simulator.stop() }
        let seeded = try await run(
            "curl",
            [
                "-sf", "-X", "POST", "-d",
                #"{"mailbox":"anna@example.com","seed":7,"appointments":30,"tasks":20}"#,
                simulator.base + "/sim/seed",
            ])
        #expect(seeded.status == 0, "\(seeded.output)")

        try await TestDatabase.with(migrated: false) { conninfo in
            // `migrate` with no --sql-dir: the installed /usr/share/snapsync/sql is found through /usr/bin/snapsync.
            let migrate = try await ChildProcess.run(
                snapsync, ["migrate", "--log-format", "json"],
                environment: ["SNAPSYNC_DATABASE_URL": conninfo, "SNAPSYNC_SQL_DIR": ""],
                currentDirectory: work)
            #expect(migrate.status == 0, "\(migrate.output)")
            let connection = try await PostgresConnection.connect(conninfo, logger: TestDatabase.quietLogger)
            do {
                try await connection.execute(
                    "INSERT INTO crm.users (id, login, display_name, mailbox) VALUES ($1, 'anna', 'Anna', 'anna@example.com')",
                    [UUID()])
                let job = try await ChildProcess.run(
                    URL(fileURLWithPath: "/opt/snapsync/jobs/nightly-inbound.sh"), ["--max-duration", "10m"],
                    environment: [
                        "SNAPSYNC_DATABASE_URL": conninfo,
                        "SNAPSYNC_EWS_URL": simulator.base + "/EWS/Exchange.asmx",
                        "SNAPSYNC_EWS_USER": "snapsync@example.com",
                        "SNAPSYNC_EWS_PASSWORD": "snapsync-demo",
                        "SNAPSYNC_LOCK_DIR": work.path,
                        "PATH": "/usr/bin:/bin",
                    ])
                #expect(job.status == 0, "\(job.output)")
                let counts = try await connection.query(
                    "SELECT (SELECT count(*) FROM crm.appointments)::bigint, (SELECT count(*) FROM crm.tasks)::bigint")
                #expect(try counts[0].decode(Int.self, at: 0) == 30)
                #expect(try counts[0].decode(Int.self, at: 1) == 20)
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
        }
    }
}

/// The installed `exchange-sim serve` on a free loopback port, stopped by `stop()`.
struct InstalledSimulator {
    let process: ChildProcess
    let base: String

    static func start(mailbox: String, output: URL) async throws -> InstalledSimulator {
        let process = try ChildProcess.start(
            "/usr/bin/exchange-sim", ["serve", "--port", "0", "--mailbox", mailbox],
            standardOutput: .file(output.path, append: false))
        // It prints `exchange-sim: EWS at http://127.0.0.1:PORT/EWS/Exchange.asmx` once it listens.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /EWS at (http:\/\/[^\/\s]+)\//) {
                return InstalledSimulator(process: process, base: String(match.output.1))
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGTERM)
        throw SimulatorDidNotStart()
    }

    struct SimulatorDidNotStart: Error {}

    /// SIGTERM, then waits for the end blocking the calling thread (it is stopped in a `defer`, where no `await`
    /// is possible).
    func stop() {
        process.signal(SIGTERM)
        process.waitBlocking()
    }
}

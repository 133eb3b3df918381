import Foundation
import Testing
import TestSupport

/// The cron scripts in jobs/, run for real (bash, flock) against a fake snapsync that records its arguments and
/// exits with a chosen code.
@Suite struct JobScriptTests {
    /// The snapsync words each job runs.
    static let commands = [
        "nightly-inbound": ["snapshot", "inbound"],
        "outbound": ["snapshot", "outbound"],
        "live-sync": ["sync", "run", "--once"],
        "onboard": ["onboard"],
        "doctor-report": ["doctor"],
    ]

    /// Documented codes pass through with their outcome; anything else (a crash, a signal, a missing binary's
    /// 127) becomes 1, with the raw status in the summary.
    static let exitCodes: [(snapsync: Int32, job: Int32, outcome: String)] = [
        (0, 0, "success"), (1, 1, "failure"), (3, 3, "window-ended"), (4, 4, "partial-failure"),
        (64, 64, "usage-error"), (69, 69, "unavailable"), (75, 75, "locked"), (78, 78, "configuration-error"),
        (2, 1, "failure"), (127, 1, "failure"), (137, 1, "failure"),
    ]

    @Test(arguments: JobScriptRunner.jobs)
    func exitCodesMapAsDocumented(job: String) async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        for expected in Self.exitCodes {
            let result = try await runner.run(job, fakeExit: expected.snapsync)
            #expect(result.status == expected.job, "\(job): snapsync \(expected.snapsync) → \(result.status)")
            let summary = try result.summary()
            #expect(summary["exit.code"] as? Int == Int(expected.job))
            #expect(summary["exit.status"] as? Int == Int(expected.snapsync))
            #expect(summary["outcome"] as? String == expected.outcome)
            #expect(summary["job"] as? String == job)
            #expect(summary["label"] as? String == "snapsync.job")
            #expect(summary["timestamp"] is String && summary["level"] is String && summary["message"] is String)
        }
        let calls = try runner.calls()
        #expect(calls.count == Self.exitCodes.count)
        #expect(calls.allSatisfy { Array($0.prefix(Self.commands[job]!.count)) == Self.commands[job]! })
    }

    @Test func windowAndOptionsFromArgumentsReachSnapsync() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let result = try await runner.run(
            "nightly-inbound",
            [
                "--until", "05:30", "--max-duration=2h", "--mailbox", "anna@example.com", "--mailbox",
                "bob@example.com",
                "--workers", "3", "--log-format", "json", "--", "--folder", "calendar",
            ], environment: ["SNAPSYNC_WINDOW_UNTIL": "23:15", "SNAPSYNC_MAX_DURATION": "45m"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try runner.calls() == [
                [
                    "snapshot", "inbound", "--log-format", "json", "--until", "05:30", "--max-duration", "2h",
                    "--mailbox", "anna@example.com", "--mailbox", "bob@example.com", "--workers", "3", "--folder",
                    "calendar",
                ]
            ])
    }

    @Test func windowFormsSnapsyncAcceptsPassTheScripts() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let result = try await runner.run("onboard", ["--until", "5:30", "--max-duration", "1d2H"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try runner.calls() == [["onboard", "--log-format", "auto", "--until", "5:30", "--max-duration", "1d2H"]])
    }

    @Test func windowConfigAndMetricsFromEnvironmentReachSnapsync() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let config = runner.directory.appendingPathComponent("snapsync.conf")
        try "database_url = postgresql:///crm\n".write(to: config, atomically: true, encoding: .utf8)
        let metrics = runner.directory.appendingPathComponent("textfile")
        try FileManager.default.createDirectory(at: metrics, withIntermediateDirectories: true)
        let environment = [
            "SNAPSYNC_WINDOW_UNTIL": "23:15", "SNAPSYNC_MAX_DURATION": "45m", "SNAPSYNC_CONFIG": config.path,
            "SNAPSYNC_METRICS_DIR": metrics.path, "SNAPSYNC_MAILBOXES": "anna@example.com bob@example.com",
            "SNAPSYNC_WORKERS": "2", "SNAPSYNC_LOG_FORMAT": "text",
        ]
        let outbound = try await runner.run("outbound", environment: environment)
        #expect(outbound.status == 0, "\(outbound.stderr)")
        let sync = try await runner.run("live-sync", environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("snapsync.job: snapsync sync run --once finished job=live-sync exit.code=0"))
        // A crontab-wide window or mailbox list does not reach the jobs that take none (live-sync above too).
        let doctor = try await runner.run("doctor-report", environment: environment)
        #expect(doctor.status == 0, "\(doctor.stderr)")
        #expect(
            try runner.calls() == [
                [
                    "snapshot", "outbound", "--config", config.path, "--log-format", "text",
                    "--metrics-file", metrics.appendingPathComponent("snapsync-outbound.prom").path,
                    "--until", "23:15", "--max-duration", "45m",
                    "--mailbox", "anna@example.com", "--mailbox", "bob@example.com", "--workers", "2",
                ],
                [
                    "sync", "run", "--once", "--config", config.path, "--log-format", "text",
                    "--metrics-file", metrics.appendingPathComponent("snapsync-live-sync.prom").path,
                ],
                [
                    "doctor", "--config", config.path, "--log-format", "text",
                    "--metrics-file", metrics.appendingPathComponent("snapsync-doctor-report.prom").path,
                ],
            ])
    }

    @Test func secondConcurrentRunExitsLockedWithoutCallingSnapsync() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let started = runner.directory.appendingPathComponent("started")
        let release = runner.directory.appendingPathComponent("release")
        async let first = runner.run(
            "nightly-inbound",
            environment: [
                "FAKE_SNAPSYNC_STARTED": started.path, "FAKE_SNAPSYNC_RELEASE": release.path,
            ])
        try await runner.waitFor(started)

        // The first run holds the lock until the release file appears, which only happens below: a second run that
        // waited for the lock would end after the first (status 0), so 75 here means it gave up at once.
        let second = try await runner.run("nightly-inbound", ["--until", "05:00"])
        #expect(!FileManager.default.fileExists(atPath: release.path))
        #expect(second.status == 75)
        #expect(try second.summary()["outcome"] as? String == "locked")
        #expect(try runner.calls().count == 1)

        // Other jobs have their own locks.
        let other = try await runner.run("live-sync")
        #expect(other.status == 0)

        _ = FileManager.default.createFile(atPath: release.path, contents: nil)
        #expect(try await first.status == 0)
        #expect(try runner.calls().map(\.first) == ["snapshot", "sync"])

        // Once the first run is over, the lock is free again.
        let third = try await runner.run("nightly-inbound")
        #expect(third.status == 0)
    }

    @Test func badArgumentsAndConfigurationFailBeforeCallingSnapsync() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let cases: [(job: String, arguments: [String], environment: [String: String], status: Int32)] = [
            ("nightly-inbound", ["--until", "25:00"], [:], 64),
            ("nightly-inbound", ["--until"], [:], 64),
            ("outbound", ["--max-duration", "two hours"], [:], 64),
            ("outbound", ["--workers", "0"], [:], 64),
            ("live-sync", ["--mailbox", "anna@example.com"], [:], 64),
            ("doctor-report", ["--until", "05:00"], [:], 64),
            ("onboard", ["--frobnicate"], [:], 64),
            ("onboard", ["--log-format", "xml"], [:], 64),
            ("outbound", [], ["SNAPSYNC_WINDOW_UNTIL": "5am"], 64),
            ("live-sync", ["--until", "05:00"], [:], 64),
            ("live-sync", [], ["SNAPSYNC_BIN": "/nonexistent/snapsync"], 78),
            ("live-sync", [], ["SNAPSYNC_BIN": "snapsync-not-on-path"], 78),
            ("live-sync", [], ["SNAPSYNC_CONFIG": "/nonexistent/snapsync.conf"], 78),
            ("live-sync", [], ["SNAPSYNC_METRICS_DIR": "/nonexistent/textfile"], 78),
            ("live-sync", [], ["SNAPSYNC_LOCK_DIR": "/nonexistent/locks"], 78),
        ]
        for testCase in cases {
            let result = try await runner.run(testCase.job, testCase.arguments, environment: testCase.environment)
            #expect(result.status == testCase.status, "\(testCase.job) \(testCase.arguments) \(testCase.environment)")
            #expect(try result.summary()["exit.code"] as? Int == Int(testCase.status))
        }
        #expect(try runner.calls().isEmpty)
    }

    @Test func doctorReportPrintsAndKeepsTheReport() async throws {
        let runner = try JobScriptRunner()
        defer { runner.removeDirectory() }
        let reports = runner.directory.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        let report = "database: ok\nexchange: unreachable"

        let healthy = try await runner.run(
            "doctor-report", ["--only-problems", "--report-dir", reports.path],
            environment: ["FAKE_SNAPSYNC_STDOUT": report])
        #expect(healthy.status == 0)
        #expect(healthy.stdout.isEmpty)  // nothing for cron to mail

        let failing = try await runner.run(
            "doctor-report", ["--only-problems"], fakeExit: 69,
            environment: [
                "FAKE_SNAPSYNC_STDOUT": report,
                "SNAPSYNC_REPORT_DIR": reports.path,
            ])
        #expect(failing.status == 69)
        #expect(failing.stdout == report + "\n")
        let latest = try String(contentsOf: reports.appendingPathComponent("doctor-latest.txt"), encoding: .utf8)
        #expect(latest == report + "\n")
        let kept = try FileManager.default.contentsOfDirectory(atPath: reports.path)
        #expect(kept.contains("doctor-latest.txt") && kept.count >= 2)

        let plain = try await runner.run("doctor-report", environment: ["FAKE_SNAPSYNC_STDOUT": report])
        #expect(plain.stdout == report + "\n")
        #expect(try runner.calls().allSatisfy { $0.first == "doctor" })
    }
}

/// shellcheck over every script in jobs/ (and the fixture). Runs when shellcheck is installed; with `CI=true` it
/// runs regardless, so a CI machine without shellcheck fails instead of skipping.
@Suite struct JobScriptLintTests {
    static let shellcheck: String? = ["/usr/bin/shellcheck", "/usr/local/bin/shellcheck", "/bin/shellcheck"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    @Test(.enabled(if: shellcheck != nil || inCI, "shellcheck is not installed (apt-get install shellcheck)"))
    func scriptsAreShellcheckClean() async throws {
        let shellcheck = try #require(Self.shellcheck, "shellcheck is not installed (apt-get install shellcheck)")
        let jobs = JobScriptRunner.jobsDirectory
        var scripts: [String] = []
        for directory in [jobs, jobs.appendingPathComponent("lib"), jobs.appendingPathComponent("dev")] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            scripts += names.filter { $0.hasSuffix(".sh") }.sorted().map { directory.appendingPathComponent($0).path }
        }
        scripts.append(JobScriptRunner.fakeSnapsync.path)
        for job in JobScriptRunner.jobs {
            #expect(scripts.contains(jobs.appendingPathComponent("\(job).sh").path), "jobs/\(job).sh missing")
        }

        let result = try await ChildProcess.run(
            URL(fileURLWithPath: shellcheck), ["--external-sources", "--severity=style"] + scripts,
            currentDirectory: JobScriptRunner.repositoryRoot)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func everyJobUsesStrictMode() throws {
        for job in JobScriptRunner.jobs {
            let text = try String(
                contentsOf: JobScriptRunner.jobsDirectory.appendingPathComponent("\(job).sh"),
                encoding: .utf8)
            #expect(text.hasPrefix("#!/usr/bin/env bash\n"))
            #expect(text.contains("\nset -euo pipefail\n"), "jobs/\(job).sh")
        }
    }
}

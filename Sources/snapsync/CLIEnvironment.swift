import ArgumentParser
import EWS
import Foundation
import Graph
import HTTP
import Logging
import Observability
import Pipeline
import Postgres
import SyncCore
import SyncStore

/// What a command needs at run time: logging bootstrapped once, the configuration, and the exit-code
/// mapping of errors (see `Snapsync` discussion and the README).
struct CLIEnvironment {
    let options: GlobalOptions
    let configuration: SnapsyncConfiguration
    let logger: Logger
    /// This run's figures for `--metrics-file` (nil without it); written by ``run(_:)`` whatever the outcome.
    let metrics: RunMetrics?

    /// Bootstraps logging and loads the configuration; a bad configuration exits with 78. With a `statusArea` (a
    /// run's live display) log lines go through it, above the status, from `notice` up unless `--log-level` says.
    static func start(
        _ options: GlobalOptions, command: String, statusArea: TerminalStatusArea? = nil
    ) throws -> CLIEnvironment {
        let level = options.logLevel ?? (statusArea == nil ? .info : .notice)
        StructuredLogHandler.bootstrap(
            format: options.logFormat, level: level, sink: statusArea ?? FileDescriptorLogSink())
        var logger = Logger(label: "snapsync")
        logger[metadataKey: "command"] = "\(command)"
        let metrics = options.metricsFile.map { _ in
            RunMetrics(command: command.replacingOccurrences(of: " ", with: "-"))
        }
        do {
            let configuration = try SnapsyncConfiguration.load(
                environment: ProcessInfo.processInfo.environment, file: options.config)
            return CLIEnvironment(options: options, configuration: configuration, logger: logger, metrics: metrics)
        } catch {
            writeError("\(error)")
            writeMetrics(metrics, to: options.metricsFile, exitCode: 78, logger: logger)
            throw ExitCode(78)
        }
    }

    /// Writes `snapsync: MESSAGE` on stderr, through the log's redaction like every line snapsync writes.
    static func writeError(_ message: String) {
        FileHandle.standardError.write(Data("snapsync: \(LogRedaction.scrub(message))\n".utf8))
    }

    /// Writes the metrics file (when asked for) with the run's exit code. A failure is logged, never turned into
    /// another exit code: the run's outcome stays what it was.
    static func writeMetrics(_ metrics: RunMetrics?, to path: String?, exitCode: Int32, logger: Logger) {
        guard let metrics, let path else { return }
        do {
            try metrics.write(to: MetricsTextfile(path: path), exitCode: exitCode)
        } catch {
            logger.error("cannot write the metrics file", metadata: ["metrics.file": "\(path)", "error": "\(error)"])
        }
    }

    /// Connects to the CRM database.
    func database() async throws -> PostgresConnection {
        let url = try configured { () throws(SnapsyncConfiguration.Error) in try configuration.requireDatabase() }
        return try await PostgresConnection.connect(url, logger: logger)
    }

    /// The sync store in the CRM database, for Pipeline's APIs (each opens and closes its own connections).
    func syncDatabase() throws -> SyncDatabase {
        let url = try configured { () throws(SnapsyncConfiguration.Error) in try configuration.requireDatabase() }
        return SyncDatabase(conninfo: url, logger: logger)
    }

    /// The Exchange side: one source per configured protocol behind a ``MailboxSourceRouter`` that sends each
    /// mailbox's calls to its protocol (`snapsync mailbox set-protocol`, else `exchange_protocol`). The default
    /// protocol must be configured (78 otherwise); the other is used when its settings are present. `shutdown` the
    /// returned clients when done.
    func exchange() async throws -> (source: MailboxSourceRouter, http: ExchangeClients) {
        var sources: [ExchangeProtocol: any MailboxSource] = [:]
        var clients: [HTTPClient] = []
        let wanted: [ExchangeProtocol] = [
            configuration.exchangeProtocol, configuration.exchangeProtocol == .ews ? .graph : .ews,
        ]
        for reached in wanted where reached == configuration.exchangeProtocol || isConfigured(reached) {
            let (source, client) = reached == .graph ? try graph() : try ews()
            sources[reached] = source
            clients.append(client)
        }
        return (
            MailboxSourceRouter(
                sources: sources, defaultProtocol: configuration.exchangeProtocol,
                assignments: await mailboxProtocols()),
            ExchangeClients(clients: clients)
        )
    }

    /// Whether the protocol's settings are present (the default protocol's absence is reported when it is built).
    func isConfigured(_ reached: ExchangeProtocol) -> Bool {
        switch reached {
        case .ews: configuration.ewsURL != nil
        case .graph: (try? configuration.requireGraph()) != nil
        }
    }

    /// The mailboxes' own protocols; none when the database cannot tell (the command meets that failure itself).
    func mailboxProtocols() async -> [String: ExchangeProtocol] {
        guard configuration.databaseURL != nil else { return [:] }
        do {
            return try await SyncControl(database: try syncDatabase()).mailboxProtocols()
        } catch {
            logger.info("the mailboxes' protocols could not be read", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// The EWS mailbox source: the configured endpoint and credentials over libcurl.
    func ews() throws -> (source: any MailboxSource, http: HTTPClient) {
        let endpoint = try configured { () throws(SnapsyncConfiguration.Error) in try configuration.requireEWS() }
        var http = HTTPClient.Configuration()
        do {
            http.authentication = try EWSCredentials.authentication(from: configuration.credentialEnvironment)
        } catch {
            report("configuration error: \(error)")
            throw ExitCode(78)
        }
        for (variable, path) in EWSCredentials.filesReadableByOthers(in: configuration.credentialEnvironment) {
            logger.warning(
                "the EWS secret file is readable by other users: chmod 600 it",
                metadata: ["setting": "\(variable)", "file": "\(path)"])
        }
        http.caFile = configuration.ewsCAFile
        http.allowInsecureTLS = configuration.ewsInsecure
        let client = try HTTPClient(configuration: http, logger: logger)
        var ews = EWSClient.Configuration(endpoint: endpoint)
        ews.access = configuration.ewsAccess == "delegate" ? .delegate : .impersonation
        return (EWSMailboxSource(client: EWSClient(configuration: ews, transport: client, logger: logger)), client)
    }

    /// The Graph mailbox source: the app's client credentials (a secret or a certificate, read from their files),
    /// the Graph root and TLS.
    func graph() throws -> (source: any MailboxSource, http: HTTPClient) {
        let (tenant, clientID, proofFiles) = try configured { () throws(SnapsyncConfiguration.Error) in
            try configuration.requireGraph()
        }
        let proof: GraphCredentials.Proof
        let (setting, privateFile): (String, String)
        do {
            switch proofFiles {
            case .secret(let file):
                proof = .secret(try GraphCredentials.secret(fromFile: file))
                (setting, privateFile) = ("SNAPSYNC_GRAPH_CLIENT_SECRET_FILE", file)
            case .certificate(let file, let keyFile):
                proof = .certificate(try GraphClientCertificate(certificateFile: file, keyFile: keyFile))
                (setting, privateFile) = ("SNAPSYNC_GRAPH_CLIENT_KEY", keyFile)
            }
        } catch {
            report("configuration error: \(error.code)")
            throw ExitCode(78)
        }
        if GraphCredentials.isReadableByOthers(privateFile) {
            logger.warning(
                "the Graph credential file is readable by other users: chmod 600 it",
                metadata: ["setting": "\(setting)", "file": "\(privateFile)"])
        }
        var http = HTTPClient.Configuration()
        http.caFile = configuration.graphCAFile
        http.allowInsecureTLS = configuration.graphInsecure
        let client = try HTTPClient(configuration: http, logger: logger)
        let credentials = GraphCredentials(
            tenant: tenant, clientID: clientID, proof: proof, authority: configuration.graphAuthority)
        var graph = GraphClient.Configuration(baseURL: configuration.graphURL, credentials: credentials)
        graph.requestBudget =
            configuration.graphRequestBudget > 0
            ? GraphRequestBudget(requests: configuration.graphRequestBudget, window: .seconds(600)) : nil
        return (
            GraphMailboxSource(client: GraphClient(configuration: graph, transport: client, logger: logger)), client
        )
    }

    func configured<T>(_ body: () throws(SnapsyncConfiguration.Error) -> T) throws -> T {
        do { return try body() } catch {
            report("\(error)")
            throw ExitCode(78)
        }
    }

    /// Runs `body`, mapping what it throws to the documented exit codes with a one-line message.
    func run(_ body: () async throws -> Int32) async throws {
        let code: Int32
        do {
            code = try await body()
        } catch let exit as ExitCode {
            Self.writeMetrics(metrics, to: options.metricsFile, exitCode: exit.rawValue, logger: logger)
            throw exit
        } catch let error as PostgresError where error.code == .connectionFailed {
            code = reportConnectionFailure(error, "\(error)")
        } catch let error as SyncStoreError where error.postgres?.code == .connectionFailed {
            code = reportConnectionFailure(error.postgres!, "\(error)")
        } catch let error as SyncStoreError where error.code == .migrationsNotFound {
            report("\(error)")
            code = 78
        } catch let error as PostgresLocalClusterError {
            report("\(error)")
            code = 69
        } catch let error as MailboxSourceError where error.isSourceWide {
            code = reportSourceFailure(error, run: nil)
        } catch let error as PipelineError where error.code == .sourceUnavailable && error.sourceError != nil {
            code = reportSourceFailure(error.sourceError!, run: error.runID)
        } catch let error as PipelineError
            where error.code == .unknownMailbox || error.code == .invalidRequest || error.code == .unknownRun
        {
            report("\(error)")
            code = 64
        } catch {
            report("\(error)")
            code = 1
        }
        Self.writeMetrics(metrics, to: options.metricsFile, exitCode: code, logger: logger)
        if code != 0 { throw ExitCode(code) }
    }

    func report(_ message: String) {
        logger.error("\(message)")
        Self.writeError(message)
    }

    /// PostgreSQL did not answer (69), or the database setting is wrong (78, naming it).
    func reportConnectionFailure(_ error: PostgresError, _ text: String) -> Int32 {
        if error.isConnectionSettingProblem {
            report("configuration error: SNAPSYNC_DATABASE_URL (database_url): \(text)")
            return 78
        }
        report("cannot reach PostgreSQL: \(text)")
        return 69
    }

    /// Exchange is unavailable (69: the next run retries, a snapshot run resumes), refuses the account or is not at
    /// the configured URL (78, naming the setting).
    func reportSourceFailure(_ error: MailboxSourceError, run: Int64?) -> Int32 {
        let resume =
            run.map {
                "; run \($0) stays unfinished: the next run of the same command, or snapsync resume, continues it"
            } ?? ""
        switch error.kind {
        case .unauthorized:
            // The secret in use, in EWSCredentials' order: a token wins over a password, a password over its file.
            let settings = configuration.credentialEnvironment
            let secret =
                settings["SNAPSYNC_EWS_TOKEN"] != nil || settings["SNAPSYNC_EWS_TOKEN_FILE"] != nil
                ? "SNAPSYNC_EWS_TOKEN or SNAPSYNC_EWS_TOKEN_FILE (ews_token_file)"
                : settings["SNAPSYNC_EWS_PASSWORD"] != nil
                    ? "SNAPSYNC_EWS_PASSWORD" : "SNAPSYNC_EWS_PASSWORD_FILE (ews_password_file)"
            report(
                "configuration error: Exchange refused the credentials: check SNAPSYNC_EWS_USER (ews_user) and \(secret), "
                    + "and the account's impersonation rights: \(error)\(resume)")
            return 78
        case .wrongEndpoint:
            report(
                "configuration error: SNAPSYNC_EWS_URL (ews_url) is not an EWS endpoint (\(configuration.ewsURL ?? "")): \(error)\(resume)"
            )
            return 78
        default:
            report("Exchange is unavailable (SNAPSYNC_EWS_URL \(configuration.ewsURL ?? "")): \(error)\(resume)")
            return 69
        }
    }
}

/// The HTTP clients of the configured protocols' sources.
struct ExchangeClients {
    let clients: [HTTPClient]

    func shutdown() { for client in clients { client.shutdown() } }
}

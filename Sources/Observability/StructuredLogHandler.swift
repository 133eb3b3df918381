import Foundation
import Logging

/// The swift-log handler the CLI bootstraps: writes every event as one line (human text or a JSON object, see
/// ``LogFormat``) to a ``LogLineSink`` (standard error by default).
///
/// Every line carries the timestamp, level, label, message and all metadata: the handler's own (set with
/// `logger[metadataKey:]`, e.g. `run.id`, `stage.name`, `mailbox`), the metadata provider's and the event's, the
/// later overriding the earlier. Secrets are removed first (``LogRedaction``).
public struct StructuredLogHandler: LogHandler {
    /// The logger's label (`Logger(label:)`), written in every line.
    public let label: String
    /// The concrete line format (never ``LogFormat/auto``).
    public let format: LogFormat
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: any LogLineSink
    private let clock: @Sendable () -> Date

    /// A handler for `label`. `format` ``LogFormat/auto`` is resolved against standard error now.
    public init(
        label: String, format: LogFormat, level: Logger.Level = .info,
        sink: any LogLineSink = FileDescriptorLogSink(),
        metadataProvider: Logger.MetadataProvider? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.format = format.resolvedForStandardError()
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { $1 }
        }
        if let eventMetadata = event.metadata, !eventMetadata.isEmpty {
            merged.merge(eventMetadata) { $1 }
        }
        let line = LogLineFormatter(
            timestamp: LogTimestamp.format(clock()), level: event.level, label: label,
            message: LogRedaction.scrub(event.message.description), source: event.source,
            metadata: LogRedaction.redact(merged))
        sink.write(line: format == .json ? line.json() : line.text())
    }
}

extension StructuredLogHandler {
    /// Bootstraps swift-log once per process with this handler for every label. Only the CLI calls this.
    public static func bootstrap(
        format: LogFormat, level: Logger.Level = .info, sink: any LogLineSink = FileDescriptorLogSink(),
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        let resolved = format.resolvedForStandardError()
        LoggingSystem.bootstrap(
            { label, provider in
                StructuredLogHandler(
                    label: label, format: resolved, level: level, sink: sink, metadataProvider: provider)
            }, metadataProvider: metadataProvider)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How log lines are written (`--log-format`).
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
    /// One human-readable line per event: `timestamp level label: message key=value ...`.
    case text
    /// One JSON object per line (JSON Lines), for log shippers and `jq`.
    case json
    /// ``text`` when standard error is a terminal, ``json`` otherwise (cron, systemd, pipes).
    case auto

    /// The concrete format: ``auto`` becomes ``text`` or ``json`` depending on `isTerminal`.
    public func resolved(isTerminal: Bool) -> LogFormat {
        switch self {
        case .auto: isTerminal ? .text : .json
        case .text, .json: self
        }
    }

    /// The concrete format for standard error of this process.
    public func resolvedForStandardError() -> LogFormat {
        resolved(isTerminal: isatty(STDERR_FILENO) == 1)
    }
}

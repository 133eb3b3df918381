import ArgumentParser

/// `snapsync-bench`: benchmarks that print throughput figures and peak RSS next to a baseline measured
/// in the same run (never timed tests; see /work/shared/docs/performance-notes.md for the limits).
/// Build and run in release: `swift run -c release snapsync-bench <benchmark>`.
@main
struct SnapsyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapsync-bench",
        abstract: "snapsync benchmarks: throughput and peak RSS next to a same-run baseline.",
        subcommands: [EWSDecodeBenchmark.self, GraphDecodeBenchmark.self, CopyBenchmark.self, PipelineBenchmark.self])
}

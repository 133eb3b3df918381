import ChildProcesses
import Foundation
import SyncCore

/// The figures of the same steps through EWS and through Graph, side by side, with the ratio Graph/EWS.
struct PipelineComparison {
    var results: [(ExchangeProtocol, [PipelineFigures])]

    /// One row a step and measure: the value for each protocol, then the ratio of the last to the first.
    var lines: [String] {
        func left(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        func right(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(width - text.count, 0)) + text
        }
        let names = results.map { $0.0.rawValue.uppercased() }
        var lines = [
            left("step", 10) + " " + left("measure", 26) + names.map { " " + right($0, 12) }.joined()
                + (names.count > 1 ? " " + right("\(names.last!)/\(names.first!)", 12) : "")
        ]
        let measures: [(String, (PipelineFigures) -> Double)] = [
            ("items/s", { $0.rate }),
            ("snapsync CPU µs/item", { 1e6 * $0.usage.cpuSeconds / Double(max($0.items, 1)) }),
            ("postgres CPU µs/item", { 1e6 * $0.postgresCPU / Double(max($0.items, 1)) }),
            ("exchange-sim CPU µs/item", { 1e6 * $0.simulatorCPU / Double(max($0.items, 1)) }),
            ("snapsync peak RSS MB", { Double($0.usage.peakResidentBytes ?? 0) / 1_000_000 }),
        ]
        for step in results.first?.1.map(\.name) ?? [] {
            for (index, (measure, value)) in measures.enumerated() {
                let values = results.map { result in result.1.first { $0.name == step }.map(value) ?? .nan }
                var line = left(index == 0 ? step : "", 10) + " " + left(measure, 26)
                line += values.map { " " + right(String(format: "%.1f", $0), 12) }.joined()
                if values.count > 1 { line += " " + right(String(format: "%.2f", values.last! / values.first!), 12) }
                lines.append(line)
            }
        }
        return lines
    }
}

import Foundation
import Observability
import Testing

/// Checks a metrics text against the exposition format rules independently of `PrometheusText.parse`:
/// name charsets, label syntax and escapes, values, one HELP and one TYPE per family, TYPE before samples.
func checkExpositionFormat(_ text: String) throws {
    #expect(text.hasSuffix("\n"))
    let metricName = try Regex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    let sampleLine = try Regex(
        #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*\})? (\+Inf|-Inf|NaN|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$"#
    )
    var typed: [String: String] = [:]
    var helped = Set<String>()
    var sampled = Set<String>()
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ", maxSplits: 3)
        if line.hasPrefix("# HELP ") {
            let name = String(fields[2])
            #expect(name.wholeMatch(of: metricName) != nil, "bad name \(name)")
            #expect(helped.insert(name).inserted, "second HELP for \(name)")
        } else if line.hasPrefix("# TYPE ") {
            let name = String(fields[2])
            #expect(name.wholeMatch(of: metricName) != nil, "bad name \(name)")
            #expect(typed[name] == nil, "second TYPE for \(name)")
            #expect(!sampled.contains(name), "TYPE after samples of \(name)")
            #expect(["counter", "gauge"].contains(String(fields[3])))
            typed[name] = String(fields[3])
            if fields[3] == "counter" { #expect(name.hasSuffix("_total"), "counter \(name) without _total") }
        } else {
            let match = try #require(line.wholeMatch(of: sampleLine), "not a sample line: \(line)")
            let name = String(match.output[1].substring!)
            #expect(typed[name] != nil, "sample before TYPE: \(line)")
            sampled.insert(name)
        }
    }
}

@Suite struct PrometheusTextTests {
    static let families = [
        MetricFamily(
            name: "snapsync_items_total", help: "Items written.\nSecond line with a \\ backslash.",
            kind: .counter,
            samples: [
                MetricSample(["command": "snapshot-inbound", "stage": "contacts"], value: 20_000),
                MetricSample(["command": "snapshot-inbound", "stage": "say \"hi\"\\\nbye"], value: 0),
            ]),
        MetricFamily(
            name: "snapsync_stage_duration_seconds", help: "Seconds.", kind: .gauge,
            samples: [
                MetricSample(["stage": "tasks"], value: 1.25),
                MetricSample(["stage": "inf"], value: .infinity),
                MetricSample(["stage": "nan"], value: .nan),
            ]),
        MetricFamily(
            name: "snapsync:last_success_timestamp_seconds", help: "Unix time.", kind: .gauge,
            samples: [
                MetricSample(value: 1_795_608_713.5)
            ]),
    ]

    @Test func rendersTheGoldenText() throws {
        let text = try PrometheusText.render(Self.families)
        #expect(
            text == #"""
                # HELP snapsync_items_total Items written.\nSecond line with a \\ backslash.
                # TYPE snapsync_items_total counter
                snapsync_items_total{command="snapshot-inbound",stage="contacts"} 20000
                snapsync_items_total{command="snapshot-inbound",stage="say \"hi\"\\\nbye"} 0
                # HELP snapsync_stage_duration_seconds Seconds.
                # TYPE snapsync_stage_duration_seconds gauge
                snapsync_stage_duration_seconds{stage="tasks"} 1.25
                snapsync_stage_duration_seconds{stage="inf"} +Inf
                snapsync_stage_duration_seconds{stage="nan"} NaN
                # HELP snapsync:last_success_timestamp_seconds Unix time.
                # TYPE snapsync:last_success_timestamp_seconds gauge
                snapsync:last_success_timestamp_seconds 1795608713.5

                """#)
        try checkExpositionFormat(text)
    }

    @Test func parsesWhatItRenders() throws {
        let parsed = try PrometheusText.parse(try PrometheusText.render(Self.families))
        #expect(parsed.map(\.name) == Self.families.map(\.name))
        #expect(parsed.map(\.help) == Self.families.map(\.help))
        #expect(parsed[0] == Self.families[0])
        #expect(parsed[1].samples[0] == Self.families[1].samples[0])
        #expect(parsed[1].samples[2].value.isNaN)
        #expect(parsed[2] == Self.families[2])
    }

    @Test func rejectsInvalidNames() {
        #expect(throws: ObservabilityError.self) {
            try PrometheusText.render([MetricFamily(name: "9items", help: "", kind: .gauge)])
        }
        #expect(throws: ObservabilityError.self) {
            try PrometheusText.render([MetricFamily(name: "items-total", help: "", kind: .gauge)])
        }
        for label in ["stage.name", "__reserved", "", "1x"] {
            #expect(throws: ObservabilityError.self) {
                try PrometheusText.render([
                    MetricFamily(
                        name: "items", help: "", kind: .gauge,
                        samples: [MetricSample(labels: [MetricLabel(name: label, value: "v")], value: 1)])
                ])
            }
        }
        #expect(throws: ObservabilityError.self) {
            try PrometheusText.render([
                MetricFamily(name: "items", help: "", kind: .gauge),
                MetricFamily(name: "items", help: "", kind: .counter),
            ])
        }
        #expect(throws: ObservabilityError.self) {
            try PrometheusText.render([
                MetricFamily(
                    name: "items", help: "", kind: .gauge,
                    samples: [
                        MetricSample(["a": "1", "b": "2"], value: 1), MetricSample(["b": "2", "a": "1"], value: 2),
                    ])
            ])
        }
    }

    @Test func parserEnforcesTheFormatRules() {
        let bad = [
            "# TYPE a gauge\n# TYPE a counter\na 1\n",  // two TYPE lines
            "a 1\n# TYPE a gauge\n",  // TYPE after samples
            "a{b=\"x\\t\"} 1\n",  // unknown escape
            "a{b=\"x} 1\n",  // unterminated value
            "a{b=x} 1\n",  // unquoted value
            "a{b.c=\"x\"} 1\n",  // bad label name
            "a-b 1\n",  // bad metric name
            "a one\n",  // not a number
            "a{b=\"1\"} 1\na{b=\"1\"} 2\n",  // repeated label set
        ]
        for text in bad {
            #expect(throws: ObservabilityError.self, "accepted: \(text)") { try PrometheusText.parse(text) }
        }
        let good = "# a comment\n# TYPE up gauge\nup{job=\"x\",} 1 1700000000000\n\nother -Inf\n"
        #expect(throws: Never.self) { try PrometheusText.parse(good) }
    }
}

import ExchangeSimulator
import SyncCore

extension FaultConfiguration {
    /// Throttling and lost responses as each protocol meets them, for one test body run through both: EWS answers
    /// `ErrorServerBusy` every `busyEveryNth` request and loses `lost` `CreateItem` responses after their commit;
    /// Graph answers `throttled` requests with 429 `ApplicationThrottled` and loses `lost` `$batch` responses after
    /// their commit (its creates go in batches). Both get `unavailable` 503s.
    static func throttlingAndLostResponses(
        _ sourceProtocol: ExchangeProtocol, unavailable: Int, busyEveryNth: Int, busyBackOffMilliseconds: Int,
        throttled: Int, lost: Int
    ) -> FaultConfiguration {
        switch sourceProtocol {
        case .ews:
            FaultConfiguration(
                unavailable: .init(count: unavailable, retryAfterSeconds: 0),
                serverBusy: .init(everyNth: busyEveryNth, backOffMilliseconds: busyBackOffMilliseconds),
                dropAfterCommit: .init(operation: "CreateItem", count: lost))
        case .graph:
            FaultConfiguration(
                unavailable: .init(count: unavailable, retryAfterSeconds: 0),
                dropAfterCommit: .init(operation: "POST $batch", count: lost),
                graphThrottle: .init(count: throttled, retryAfterSeconds: 0))
        }
    }
}

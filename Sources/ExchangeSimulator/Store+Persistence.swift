import Logging

extension Store {
    /// Opens a store, persistent when `dataDirectory` is set.
    static func open(dataDirectory: String?, logger: Logger) throws -> Store {
        if dataDirectory != nil {
            throw SimulatorControl.ControlError(code: "Unsupported", detail: "--data is not available yet")
        }
        return Store()
    }

    func close() {}
}

extension HTTPResponse {
    /// The response itself when its status is below 400; otherwise an ``HTTPError`` with code
    /// ``HTTPError/Code/httpStatus`` and the status (the body stays out of the error: it may hold record data).
    public func validated() throws(HTTPError) -> HTTPResponse {
        guard status >= 400 else { return self }
        throw HTTPError(code: .httpStatus, status: status, message: "server answered \(status)")
    }
}

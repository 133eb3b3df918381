import CCurl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A libcurl share handle holding the client's cookie jar and TLS session cache, so every easy handle of the
/// client sees the cookies the server set (Exchange and load balancers route by cookie) and resumes TLS
/// sessions on new connections.
///
/// Ownership: owns `handle` and its mutexes and frees them in `deinit`. Every ``CurlTransfer`` attached to
/// the share holds a strong reference to it, so the share outlives every easy handle using it (libcurl
/// refuses to clean up a share still in use). Easy handles are configured on callers' threads and run on the
/// loop thread, so libcurl locks the shared data through the mutexes here.
final class CurlShare: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>
    private let mutexCount = Int(CURL_LOCK_DATA_LAST.rawValue)

    init() throws(HTTPError) {
        guard let handle = curl_share_init() else {
            throw HTTPError(code: .other, message: "curl_share_init failed")
        }
        self.handle = handle
        mutexes = .allocate(capacity: mutexCount)
        for index in 0..<mutexCount {
            (mutexes + index).initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutexes + index, nil)
        }
        let results = [
            snapsync_curl_share_setopt_pointer(handle, CURLSHOPT_USERDATA, UnsafeMutableRawPointer(mutexes)),
            snapsync_curl_share_setopt_lock_function(handle, curlShareLock),
            snapsync_curl_share_setopt_unlock_function(handle, curlShareUnlock),
            snapsync_curl_share_setopt_long(handle, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_COOKIE.rawValue)),
            snapsync_curl_share_setopt_long(handle, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue)),
        ]
        if let failed = results.first(where: { $0 != CURLSHE_OK }) {
            throw HTTPError(code: .other, message: "curl_share_setopt: \(String(cString: curl_share_strerror(failed)))")
        }
    }

    deinit {
        curl_share_cleanup(handle)
        for index in 0..<mutexCount { pthread_mutex_destroy(mutexes + index) }
        mutexes.deinitialize(count: mutexCount)
        mutexes.deallocate()
    }
}

private let curlShareLock: curl_lock_function = { _, data, _, mutexes in
    guard let mutexes else { return }
    pthread_mutex_lock(mutexes.assumingMemoryBound(to: pthread_mutex_t.self) + Int(data.rawValue))
}

private let curlShareUnlock: curl_unlock_function = { _, data, mutexes in
    guard let mutexes else { return }
    pthread_mutex_unlock(mutexes.assumingMemoryBound(to: pthread_mutex_t.self) + Int(data.rawValue))
}

import CCurl
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A libcurl multi handle driven by one dedicated thread: requests are handed over through a locked inbox,
/// run concurrently (at most `maxActive` on the wire, the rest wait in order), and their callers are resumed
/// through continuations. Swift's cooperative pool never blocks on a transfer.
///
/// Ownership: the thread owns `multi` and frees it when it exits (closing the cached connections), after
/// removing and finishing every transfer; `init` frees it if the thread cannot start. Transfers belong to the
/// thread from submission until it finishes them. Only `curl_multi_wakeup` is called from other threads
/// (libcurl documents it as thread-safe), under the inbox lock and only while `multi` is alive.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Inbox {
        var submitted: [CurlTransfer] = []
        var stopping = false
        var thread: pthread_t? = nil
        /// Set by the thread, under the lock, just before it frees `multi`.
        var multiFreed = false
    }

    private let multi: UnsafeMutableRawPointer
    private let maxActive: Int
    private let inbox = Mutex(Inbox())

    init(maxActive: Int) throws(HTTPError) {
        guard let multi = curl_multi_init() else {
            throw HTTPError(code: .other, message: "curl_multi_init failed")
        }
        self.multi = multi
        self.maxActive = max(1, maxActive)
        // Keep an idle connection per concurrent request for reuse.
        snapsync_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, self.maxActive)

        var thread = pthread_t()
        let context = Unmanaged.passRetained(self)
        let created = pthread_create(
            &thread, nil,
            { context in
                let loop = Unmanaged<CurlMultiLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            }, context.toOpaque())
        guard created == 0 else {
            context.release()
            curl_multi_cleanup(multi)
            inbox.withLock { $0.multiFreed = true }
            throw HTTPError(code: .other, message: "could not start the HTTP thread (error \(created))")
        }
        inbox.withLock { $0.thread = thread }
    }

    /// Hands a transfer to the loop; returns it unsent when the loop is stopping.
    func submit(_ transfer: CurlTransfer) -> CurlTransfer? {
        let accepted = inbox.withLock { inbox in
            guard !inbox.stopping else { return false }
            inbox.submitted.append(transfer)
            return true
        }
        guard accepted else { return transfer }
        wakeUp()
        return nil
    }

    /// Interrupts the thread's wait so it looks at its inbox and its transfers' cancellation flags.
    func wakeUp() {
        inbox.withLock { inbox in
            if !inbox.multiFreed { curl_multi_wakeup(multi) }
        }
    }

    /// Stops the thread: transfers in flight or waiting fail with ``HTTPError/Code/shutdown`` and the
    /// connections close. Waits for the thread to finish unless called on it. Idempotent.
    func stop() {
        let thread = inbox.withLock { inbox in
            inbox.stopping = true
            defer { inbox.thread = nil }
            return inbox.thread
        }
        guard let thread else { return }
        wakeUp()
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    // MARK: - Loop thread

    private func run() {
        drive()
        inbox.withLock { $0.multiFreed = true }
        curl_multi_cleanup(multi)
    }

    private func drive() {
        var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
        var waiting: [CurlTransfer] = []
        while true {
            let (submitted, stopping) = inbox.withLock { inbox in
                defer { inbox.submitted = [] }
                return (inbox.submitted, inbox.stopping)
            }
            waiting.append(contentsOf: submitted)
            if stopping {
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi, easy)
                    transfer.finish(.failure(transfer.error(.shutdown, message: "the HTTP client shut down")))
                }
                for transfer in waiting {
                    transfer.finish(.failure(transfer.error(.shutdown, message: "the HTTP client shut down")))
                }
                return
            }
            abortCancelled(&active, &waiting)
            while active.count < maxActive, !waiting.isEmpty {
                let transfer = waiting.removeFirst()
                let added = curl_multi_add_handle(multi, transfer.easy)
                guard added == CURLM_OK else {
                    let reason = String(cString: curl_multi_strerror(added))
                    transfer.finish(.failure(transfer.error(.other, message: "curl_multi_add_handle: \(reason)")))
                    continue
                }
                active[transfer.easy] = transfer
            }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = message.pointee.data.result
                curl_multi_remove_handle(multi, easy)
                active.removeValue(forKey: easy)?.complete(result)
            }
            if active.count < maxActive, !waiting.isEmpty { continue }
            // Returns on socket activity, on libcurl's next timer, on wakeUp(), or after a second.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func abortCancelled(
        _ active: inout [UnsafeMutableRawPointer: CurlTransfer], _ waiting: inout [CurlTransfer]
    ) {
        for (easy, transfer) in active where transfer.cancellation.withLock({ $0 }) {
            curl_multi_remove_handle(multi, easy)
            active.removeValue(forKey: easy)
            transfer.finish(.failure(transfer.error(.cancelled, message: "the request was cancelled")))
        }
        waiting.removeAll { transfer in
            guard transfer.cancellation.withLock({ $0 }) else { return false }
            transfer.finish(.failure(transfer.error(.cancelled, message: "the request was cancelled")))
            return true
        }
    }
}

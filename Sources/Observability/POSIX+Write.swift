#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes all of `bytes` to `descriptor`, retrying on `EINTR` and short writes. Returns `false` (with `errno`
/// set) when the descriptor refuses.
func writeFully(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return true }
        var offset = 0
        while offset < buffer.count {
            #if canImport(Darwin)
                let written = Darwin.write(descriptor, base + offset, buffer.count - offset)
            #elseif canImport(Musl)
                let written = Musl.write(descriptor, base + offset, buffer.count - offset)
            #else
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
            #endif
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

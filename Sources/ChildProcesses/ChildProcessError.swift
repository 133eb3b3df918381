#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// `posix_spawn` failed (the program is missing or not executable, or the directory cannot be entered).
        case cannotStart
        /// The temporary files for its output could not be made.
        case outputUnavailable
    }

    public var code: Code
    /// The program, as given.
    public var executable: String
    public var errno: Int32

    public var description: String {
        switch code {
        case .cannotStart: "cannot run \(executable): \(String(cString: strerror(errno)))"
        case .outputUnavailable: "cannot make the files for the output of \(executable)"
        }
    }
}

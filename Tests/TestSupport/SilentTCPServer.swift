import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that accepts connections and never reads or writes: a peer that hangs, for
/// testing connect (TLS handshake) and response timeouts.
public final class SilentTCPServer: Sendable {
    private let channel: any Channel
    /// The port the server listens on.
    public let port: Int

    public init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Stops listening.
    public func shutdown() async throws {
        try await channel.close()
    }
}

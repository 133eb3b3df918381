import NIOCore
import NIOPosix

/// A PostgreSQL server on 127.0.0.1 that speaks the start of the wire protocol and refuses every password the way
/// a real server does (`FATAL 28P01 password authentication failed`), for testing what a client does with a wrong
/// password without changing a real cluster's `pg_hba.conf`. It declines SSL and GSSAPI encryption, asks for a
/// cleartext password, reads it and answers with the error.
public final class PasswordRefusingPostgresServer: Sendable {
    private let channel: any Channel
    /// The port the server listens on.
    public let port: Int

    public init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Stops listening.
    public func shutdown() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var buffer = ByteBuffer()
        private var startedUp = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            while true {
                if !startedUp {
                    // Untyped messages: SSLRequest, GSSENCRequest, StartupMessage (length, then code).
                    guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self),
                        buffer.readableBytes >= Int(length),
                        let code = buffer.getInteger(at: buffer.readerIndex + 4, as: Int32.self)
                    else { return }
                    buffer.moveReaderIndex(forwardBy: Int(length))
                    if code == 80_877_103 || code == 80_877_104 {
                        send(context) { $0.writeString("N") }
                    } else {
                        startedUp = true
                        send(context) {
                            $0.writeString("R"); $0.writeInteger(Int32(8)); $0.writeInteger(Int32(3))
                        }
                    }
                } else {
                    // The PasswordMessage: type byte, then length.
                    guard let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self),
                        buffer.readableBytes >= 1 + Int(length)
                    else { return }
                    buffer.moveReaderIndex(forwardBy: 1 + Int(length))
                    var fields = ByteBuffer()
                    for (type, value) in [
                        ("S", "FATAL"), ("V", "FATAL"), ("C", "28P01"),
                        ("M", "password authentication failed for user \"crm\""),
                    ] {
                        fields.writeString(type)
                        fields.writeString(value)
                        fields.writeInteger(UInt8(0))
                    }
                    fields.writeInteger(UInt8(0))
                    send(context) {
                        $0.writeString("E"); $0.writeInteger(Int32(4 + fields.readableBytes));
                        $0.writeImmutableBuffer(fields)
                    }
                    context.close(promise: nil)
                    return
                }
            }
        }

        private func send(_ context: ChannelHandlerContext, _ build: (inout ByteBuffer) -> Void) {
            var out = context.channel.allocator.buffer(capacity: 64)
            build(&out)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }
}

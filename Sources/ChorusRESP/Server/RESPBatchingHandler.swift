import NIOCore

/// Groups the commands of one socket read into one batch, so a pipelined
/// burst is executed in one pass and answered with one write and one flush
/// (one syscall), as redis-server answers a read's worth of commands before
/// it writes. A batch holds at most `maximumCommands`; a protocol error ends
/// its batch.
final class RESPBatchingHandler: ChannelInboundHandler {
    typealias InboundIn = RESPFrame
    typealias InboundOut = [RESPFrame]

    private let maximumCommands: Int
    private var pending: [RESPFrame] = []

    init(maximumCommands: Int) {
        precondition(maximumCommands > 0, "a batch holds at least one command")
        self.maximumCommands = maximumCommands
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        pending.append(frame)
        if pending.count >= maximumCommands { forward(context: context) }
        if case .protocolError = frame { forward(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        forward(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { forward(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        forward(context: context)
        context.fireChannelInactive()
    }

    private func forward(context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        pending.reserveCapacity(min(batch.count, maximumCommands))
        context.fireChannelRead(wrapInboundOut(batch))
    }
}

@available(*, unavailable)
extension RESPBatchingHandler: Sendable {}

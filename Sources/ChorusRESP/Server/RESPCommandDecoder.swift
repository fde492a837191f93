import NIOCore

/// The codec on the channel: `RESPCommandParser` over the cumulation
/// buffer, one `RESPFrame` per command. The parser consumes what it has
/// read, including the bytes of an unfinished bulk, so the cumulation buffer
/// never holds more than one unfinished line or chunk; after a protocol
/// error it discards everything that follows (the connection is closing).
struct RESPCommandDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPFrame

    private var parser: RESPCommandParser
    private let gate: RESPAuthenticationGate

    init(limits: RESPLimits, gate: RESPAuthenticationGate) {
        self.parser = RESPCommandParser(limits: limits)
        self.gate = gate
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let (consumed, outcome) = parser.parse(buffer.readableBytesUInt8Span, authenticated: gate.isAuthenticated)
        buffer.moveReaderIndex(forwardBy: consumed)
        switch outcome {
        case .needMoreData:
            return .needMoreData
        case .command(let arguments):
            context.fireChannelRead(wrapInboundOut(.command(arguments)))
            return .continue
        case .protocolError(let error):
            context.fireChannelRead(wrapInboundOut(.protocolError(error)))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // An unfinished command at EOF is dropped, as redis-server drops it.
        try decode(context: context, buffer: &buffer)
    }
}

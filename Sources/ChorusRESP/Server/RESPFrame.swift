/// What the decoder hands the connection: one command's arguments, or the
/// protocol error after which the connection must close.
enum RESPFrame: Sendable, Hashable {
    case command([[UInt8]])
    case protocolError(RESPProtocolError)
}

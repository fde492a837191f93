/// An incremental parser of client commands, as redis-server reads them
/// (networking.c, `processMultibulkBuffer` and `processInlineBuffer`):
///
/// - a buffer starting with `*` is a multibulk: `*<count>\r\n` then
///   `count` × `$<length>\r\n<bytes>\r\n`; a count of 0 or less is no command;
/// - anything else is an inline command: one line up to `\n` (a `\r` before
///   it is dropped), split by `RESPInlineSplitter`; an empty line is no command.
///
/// Sans-IO: the caller hands in the bytes it has (`Span`, no copy) and learns
/// how many it may discard. A bulk's bytes are copied into the argument as
/// they arrive, so a large value does not stay in the caller's buffer and
/// memory grows with the bytes received, never with a length announced.
///
/// ```
///  parse(bytes) ─▶ (consumed, .needMoreData)        keep bytes[consumed...], append more, call again
///               ─▶ (consumed, .command(arguments))  call again with bytes[consumed...]
///               ─▶ (consumed, .protocolError(e))    answer e.reply, close; the parser discards the rest
/// ```
///
/// Every length is checked against `RESPLimits` before anything is reserved
/// or awaited. A line is searched once even when it arrives one byte at a
/// time (`scannedLineBytes`), so a slow sender of a long line costs linear
/// time. Nothing here traps on input: every index is checked.
public struct RESPCommandParser: Sendable {
    public enum Outcome: Sendable, Hashable {
        case needMoreData
        case command([[UInt8]])
        case protocolError(RESPProtocolError)
    }

    public let limits: RESPLimits

    private enum Mode: Sendable {
        /// Between commands.
        case idle
        /// Inside a multibulk, reading its arguments.
        case arguments
        /// After a protocol error: every later byte is discarded.
        case failed
    }

    private var mode = Mode.idle
    /// Arguments still to read of the current multibulk.
    private var remainingArguments = 0
    private var arguments: [[UInt8]] = []
    private var argumentBytes = 0
    /// The announced length of the bulk being read; -1 while its `$` line is awaited.
    private var bulkLength = -1
    private var bulk: [UInt8] = []
    /// Bytes of the current, unterminated line already searched for its end.
    private var scannedLineBytes = 0

    public init(limits: RESPLimits = .default) {
        precondition(limits.violations().isEmpty, "invalid RESP limits: \(limits.violations())")
        self.limits = limits
    }

    /// Whether the parser has stopped at a protocol error.
    public var hasFailed: Bool { mode == .failed }

    /// Whether a command has begun but not ended (its bytes are held here).
    public var isInsideCommand: Bool { mode == .arguments }

    /// Reads at most one command from `bytes`. `authenticated` selects the
    /// pre-authentication bounds when false.
    public mutating func parse(_ bytes: Span<UInt8>, authenticated: Bool = true) -> (consumed: Int, outcome: Outcome) {
        var index = 0
        while true {
            switch mode {
            case .failed:
                return (bytes.count, .needMoreData)
            case .idle:
                guard index < bytes.count else { return (index, .needMoreData) }
                if bytes[index] == UInt8(ascii: "*") {
                    switch readMultibulkHeader(bytes, at: &index, authenticated: authenticated) {
                    case .needMoreData: return (index, .needMoreData)
                    case .protocolError(let error): return fail(error, consumed: index)
                    case .command: continue
                    }
                }
                switch readInline(bytes, at: &index) {
                case .command(let words) where words.isEmpty: continue
                case .protocolError(let error): return fail(error, consumed: index)
                case let outcome: return (index, outcome)
                }
            case .arguments:
                if bulkLength < 0 {
                    if let error = readBulkHeader(bytes, at: &index, authenticated: authenticated) {
                        return fail(error, consumed: index)
                    }
                    if bulkLength < 0 { return (index, .needMoreData) }
                }
                switch readBulkBody(bytes, at: &index) {
                case .needMoreData: return (index, .needMoreData)
                case .protocolError(let error): return fail(error, consumed: index)
                case .command:
                    if remainingArguments == 0 {
                        let command = arguments
                        resetCommand()
                        return (index, .command(command))
                    }
                }
            }
        }
    }

    /// The convenience form for byte arrays (tests, tools).
    public mutating func parse(_ bytes: [UInt8], authenticated: Bool = true) -> (consumed: Int, outcome: Outcome) {
        parse(bytes.span, authenticated: authenticated)
    }

    // MARK: Steps

    /// `*<count>\r\n`. Returns `.command` when the header was read (and the
    /// mode set), `.needMoreData` when the line is not complete.
    private mutating func readMultibulkHeader(
        _ bytes: Span<UInt8>, at index: inout Int, authenticated: Bool
    ) -> Outcome {
        let line: Int
        switch findLine(bytes, from: index, tooLong: .multibulkCountTooBig) {
        case .incomplete: return .needMoreData
        case .failed(let error): return .protocolError(error)
        case .found(let carriageReturn): line = carriageReturn
        }
        guard let count = RESPDecimal.parse(bytes.extracting((index + 1)..<line)),
            count <= Int64(limits.maximumArrayElements)
        else { return .protocolError(RESPProtocolError(.invalidMultibulkLength)) }
        if !authenticated && count > Int64(limits.maximumUnauthenticatedArrayElements) {
            return .protocolError(RESPProtocolError(.unauthenticatedMultibulkLength))
        }
        index = line + 2
        if count > 0 {
            mode = .arguments
            remainingArguments = Int(count)
            // Reserve for what a command usually has, not for what it claims.
            arguments.reserveCapacity(min(Int(count), 16))
        }
        return .command([])
    }

    /// `$<length>\r\n`; sets `bulkLength` once it is read.
    private mutating func readBulkHeader(
        _ bytes: Span<UInt8>, at index: inout Int, authenticated: Bool
    ) -> RESPProtocolError? {
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "$") else { return RESPProtocolError(.expectedBulk(found: bytes[index])) }
        let line: Int
        switch findLine(bytes, from: index, tooLong: .bulkCountTooBig) {
        case .incomplete: return nil
        case .failed(let error): return error
        case .found(let carriageReturn): line = carriageReturn
        }
        guard let length = RESPDecimal.parse(bytes.extracting((index + 1)..<line)), length >= 0,
            length <= Int64(limits.maximumBulkBytes)
        else { return RESPProtocolError(.invalidBulkLength) }
        if !authenticated && length > Int64(limits.maximumUnauthenticatedBulkBytes) {
            return RESPProtocolError(.unauthenticatedBulkLength)
        }
        guard argumentBytes + Int(length) <= limits.maximumCommandBytes else {
            return RESPProtocolError(.commandTooBig)
        }
        index = line + 2
        bulkLength = Int(length)
        bulk = []
        return nil
    }

    /// The bulk's bytes and its CRLF. `.command` when the argument is complete.
    private mutating func readBulkBody(_ bytes: Span<UInt8>, at index: inout Int) -> Outcome {
        let missing = bulkLength - bulk.count
        if missing > 0 {
            let available = bytes.count - index
            if bulk.isEmpty && available >= missing {
                // The common case: the whole bulk is here; one copy.
                bulk = Self.copy(bytes, index..<(index + missing))
                index += missing
            } else {
                let taken = min(available, missing)
                if taken > 0 {
                    bytes.extracting(index..<(index + taken)).withUnsafeBufferPointer { bulk.append(contentsOf: $0) }
                    index += taken
                }
                if taken < missing { return .needMoreData }
            }
        }
        return finishBulk(bytes, at: &index)
    }

    private mutating func finishBulk(_ bytes: Span<UInt8>, at index: inout Int) -> Outcome {
        guard bytes.count - index >= 2 else {
            // A lone CR may already be here; check it early so garbage fails fast.
            if index < bytes.count && bytes[index] != 13 {
                return .protocolError(RESPProtocolError(.missingBulkTerminator))
            }
            return .needMoreData
        }
        guard bytes[index] == 13, bytes[index + 1] == 10 else {
            return .protocolError(RESPProtocolError(.missingBulkTerminator))
        }
        index += 2
        argumentBytes += bulk.count
        arguments.append(bulk)
        bulk = []
        bulkLength = -1
        remainingArguments -= 1
        return .command([])
    }

    /// One inline line, split into words (empty for a blank line).
    private mutating func readInline(_ bytes: Span<UInt8>, at index: inout Int) -> Outcome {
        let start = index
        var position = start + scannedLineBytes
        while position < bytes.count && bytes[position] != 10 { position += 1 }
        guard position < bytes.count else {
            scannedLineBytes = position - start
            // A final CR may be the line's end; only what precedes it counts,
            // so the verdict does not depend on where the reads split.
            let endsWithCarriageReturn = position > start && bytes[position - 1] == 13
            if scannedLineBytes - (endsWithCarriageReturn ? 1 : 0) > limits.maximumInlineLineBytes {
                return .protocolError(RESPProtocolError(.inlineRequestTooBig))
            }
            return .needMoreData
        }
        scannedLineBytes = 0
        var end = position
        if end > start && bytes[end - 1] == 13 { end -= 1 }
        guard end - start <= limits.maximumInlineLineBytes else {
            return .protocolError(RESPProtocolError(.inlineRequestTooBig))
        }
        guard let words = RESPInlineSplitter.split(Self.copy(bytes, start..<end)) else {
            return .protocolError(RESPProtocolError(.unbalancedQuotes))
        }
        index = position + 1
        return .command(words)
    }

    private enum LineSearch {
        case found(carriageReturn: Int)
        case incomplete
        case failed(RESPProtocolError)
    }

    /// Finds the CR LF ending the length line that starts at `start`.
    private mutating func findLine(
        _ bytes: Span<UInt8>, from start: Int, tooLong: RESPProtocolError.Reason
    ) -> LineSearch {
        var position = start + scannedLineBytes
        while position < bytes.count && bytes[position] != 13 { position += 1 }
        guard position < bytes.count else {
            scannedLineBytes = position - start
            // A length line is a type byte and at most 20 digits; past the
            // inline bound it is refused as redis-server refuses it.
            return scannedLineBytes > limits.maximumInlineLineBytes ? .failed(RESPProtocolError(tooLong)) : .incomplete
        }
        scannedLineBytes = position - start
        guard scannedLineBytes <= limits.maximumInlineLineBytes else { return .failed(RESPProtocolError(tooLong)) }
        guard position + 1 < bytes.count else { return .incomplete }
        scannedLineBytes = 0
        guard bytes[position + 1] == 10 else { return .failed(RESPProtocolError(.missingLineFeed)) }
        return .found(carriageReturn: position)
    }

    private mutating func fail(_ error: RESPProtocolError, consumed: Int) -> (consumed: Int, outcome: Outcome) {
        resetCommand()
        mode = .failed
        return (consumed, .protocolError(error))
    }

    private mutating func resetCommand() {
        mode = .idle
        remainingArguments = 0
        arguments = []
        argumentBytes = 0
        bulkLength = -1
        bulk = []
        scannedLineBytes = 0
    }

    static func copy(_ bytes: Span<UInt8>, _ range: Range<Int>) -> [UInt8] {
        bytes.extracting(range).withUnsafeBufferPointer { Array($0) }
    }
}

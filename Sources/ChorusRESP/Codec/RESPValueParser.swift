/// Reads one RESP2 or RESP3 value (a server's reply) from the front of a
/// byte buffer: the inverse of `RESPEncoder`, for clients, tools and the
/// round-trip tests. Every type of the RESP3 specification is read;
/// attributes (`|`) are read, bounded, and dropped, returning the value they
/// annotate, as RESP3 allows a client that does not use them to do.
///
/// Not incremental: it returns `.needMoreData` until the whole value is
/// there, and the caller calls again with more bytes. Each length and count
/// is checked against `RESPLimits` before anything is reserved; reservation
/// never exceeds what the remaining bytes could hold; nesting is bounded by
/// `maximumNestingDepth`, so neither memory nor the stack grow with a claim.
public enum RESPValueParser {
    public enum Outcome: Sendable, Hashable {
        case needMoreData
        case value(RESPValue)
        case protocolError(RESPProtocolError)
    }

    public static func parse(_ bytes: Span<UInt8>, limits: RESPLimits = .default) -> (consumed: Int, outcome: Outcome) {
        var reader = Reader(limits: limits)
        do throws(Failure) {
            let value = try reader.readValue(bytes, depth: 0)
            return (reader.index, .value(value))
        } catch {
            switch error {
            case .incomplete: return (0, .needMoreData)
            case .invalid(let problem): return (0, .protocolError(problem))
            }
        }
    }

    public static func parse(_ bytes: [UInt8], limits: RESPLimits = .default) -> (consumed: Int, outcome: Outcome) {
        parse(bytes.span, limits: limits)
    }

    enum Failure: Error {
        case incomplete
        case invalid(RESPProtocolError)
    }

    /// The read position; the bytes are passed to every step (a `Span`
    /// cannot be stored).
    struct Reader {
        let limits: RESPLimits
        var index = 0

        mutating func readValue(_ bytes: Span<UInt8>, depth: Int) throws(Failure) -> RESPValue {
            guard depth < limits.maximumNestingDepth else { throw .invalid(RESPProtocolError(.nestingTooDeep)) }
            guard index < bytes.count else { throw .incomplete }
            let type = bytes[index]
            index += 1
            switch type {
            case UInt8(ascii: "+"): return .simpleString(try readText(bytes))
            case UInt8(ascii: "-"): return .error(try readText(bytes))
            case UInt8(ascii: ":"): return .integer(try readInteger(bytes))
            case UInt8(ascii: "$"):
                let length = try readInteger(bytes)
                if length == -1 { return .null }
                return .bulkString(try readBulk(bytes, length: length))
            case UInt8(ascii: "*"):
                let count = try readInteger(bytes)
                if count == -1 { return .nullArray }
                return .array(try readElements(bytes, count: count, per: 1, depth: depth))
            case UInt8(ascii: "~"):
                return .set(try readElements(bytes, count: try readInteger(bytes), per: 1, depth: depth))
            case UInt8(ascii: ">"):
                return .push(try readElements(bytes, count: try readInteger(bytes), per: 1, depth: depth))
            case UInt8(ascii: "%"):
                return .map(try readEntries(bytes, count: try readInteger(bytes), depth: depth))
            case UInt8(ascii: "|"):
                _ = try readEntries(bytes, count: try readInteger(bytes), depth: depth)
                return try readValue(bytes, depth: depth)
            case UInt8(ascii: "_"):
                guard try readLine(bytes).isEmpty else { throw invalid("a null carries nothing") }
                return .null
            case UInt8(ascii: "#"):
                let line = try readLine(bytes)
                switch line {
                case [UInt8(ascii: "t")]: return .boolean(true)
                case [UInt8(ascii: "f")]: return .boolean(false)
                default: throw invalid("a boolean is t or f")
                }
            case UInt8(ascii: ","):
                let text = String(decoding: try readLine(bytes), as: UTF8.self)
                switch text {
                case "inf": return .double(.infinity)
                case "-inf": return .double(-.infinity)
                case "nan": return .double(.nan)
                default:
                    guard let number = Double(text), number.isFinite else { throw invalid("not a double") }
                    return .double(number)
                }
            case UInt8(ascii: "("):
                let line = try readLine(bytes)
                let digits = line.first == UInt8(ascii: "-") ? line.dropFirst() : line[...]
                guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    throw invalid("not a big number")
                }
                return .bigNumber(String(decoding: line, as: UTF8.self))
            case UInt8(ascii: "!"):
                return .bulkError(try readBulk(bytes, length: try readInteger(bytes)))
            case UInt8(ascii: "="):
                let body = try readBulk(bytes, length: try readInteger(bytes))
                guard body.count >= 4, body[3] == UInt8(ascii: ":"),
                    let format = String(validating: body[0..<3], as: UTF8.self), RESPEncoder.isLineSafe(format)
                else { throw invalid("a verbatim string starts with a three-byte format and ':'") }
                return .verbatimString(format: format, Array(body[4...]))
            default:
                throw .invalid(RESPProtocolError(.unknownType(type)))
            }
        }

        private mutating func readElements(_ bytes: Span<UInt8>, count: Int64, per width: Int64, depth: Int) throws(Failure) -> [RESPValue] {
            guard count >= 0, count * width <= Int64(limits.maximumArrayElements) else {
                throw invalid("aggregate length \(count) out of bounds")
            }
            var elements: [RESPValue] = []
            // Each element takes at least three bytes ("_\r\n").
            elements.reserveCapacity(min(Int(count), (bytes.count - index) / 3))
            for _ in 0..<count { elements.append(try readValue(bytes, depth: depth + 1)) }
            return elements
        }

        private mutating func readEntries(_ bytes: Span<UInt8>, count: Int64, depth: Int) throws(Failure) -> [RESPMapEntry] {
            guard count >= 0, count <= Int64(limits.maximumArrayElements) / 2 else {
                throw invalid("map length \(count) out of bounds")
            }
            var entries: [RESPMapEntry] = []
            entries.reserveCapacity(min(Int(count), (bytes.count - index) / 6))
            for _ in 0..<count {
                let key = try readValue(bytes, depth: depth + 1)
                let value = try readValue(bytes, depth: depth + 1)
                entries.append(RESPMapEntry(key, value))
            }
            return entries
        }

        private mutating func readBulk(_ bytes: Span<UInt8>, length: Int64) throws(Failure) -> [UInt8] {
            guard length >= 0, length <= Int64(limits.maximumBulkBytes) else {
                throw .invalid(RESPProtocolError(.invalidBulkLength))
            }
            let count = Int(length)
            guard bytes.count - index >= count + 2 else { throw .incomplete }
            let body = RESPCommandParser.copy(bytes, index..<(index + count))
            guard bytes[index + count] == 13, bytes[index + count + 1] == 10 else {
                throw .invalid(RESPProtocolError(.missingBulkTerminator))
            }
            index += count + 2
            return body
        }

        private mutating func readInteger(_ bytes: Span<UInt8>) throws(Failure) -> Int64 {
            let line = try readLine(bytes)
            guard let number = RESPDecimal.parse(line) else { throw invalid("not an integer") }
            return number
        }

        /// A status or error line. RESP does not require UTF-8 there; bytes
        /// that are not become U+FFFD, as a client shows them.
        private mutating func readText(_ bytes: Span<UInt8>) throws(Failure) -> String {
            String(decoding: try readLine(bytes), as: UTF8.self)
        }

        /// The bytes up to the next CR LF (a bare CR or LF is refused).
        private mutating func readLine(_ bytes: Span<UInt8>) throws(Failure) -> [UInt8] {
            var position = index
            while position < bytes.count && bytes[position] != 13 && bytes[position] != 10 {
                position += 1
                guard position - index <= limits.maximumInlineLineBytes else {
                    throw .invalid(RESPProtocolError(.invalidLine("line longer than \(limits.maximumInlineLineBytes) bytes")))
                }
            }
            guard position + 1 < bytes.count else { throw .incomplete }
            guard bytes[position] == 13, bytes[position + 1] == 10 else { throw .invalid(RESPProtocolError(.missingLineFeed)) }
            let line = RESPCommandParser.copy(bytes, index..<position)
            index = position + 2
            return line
        }

        private func invalid(_ what: String) -> Failure {
            .invalid(RESPProtocolError(.invalidLine(what)))
        }
    }
}

/// A small pull parser for exactly the JSON of editing traces, reading bytes
/// from a `GzipByteStream` and writing straight into `EditingTrace`'s arrays.
///
/// Foundation's `JSONSerialization` would build an object graph of the whole
/// file first (hundreds of megabytes of boxed numbers and strings for the
/// automerge-paper trace); this parser keeps memory at the size of the
/// result. It accepts standard JSON (RFC 8259): unknown keys are skipped,
/// whitespace anywhere, all string escapes including surrogate pairs.
struct TraceParser: ~Copyable {
    private var stream: GzipByteStream

    private var startContent: [Unicode.Scalar]? = nil
    private var endContent: [Unicode.Scalar]? = nil
    private var kindName: [Unicode.Scalar]? = nil
    private var agentCount: Int? = nil
    private var patches: [EditingTrace.Patch] = []
    private var transactions: [EditingTrace.Transaction] = []
    private var parents: [UInt32] = []
    private var insertedScalars: [UInt32] = []
    private var sawTransactions = false

    init(path: String) throws(TraceError) {
        stream = try GzipByteStream(path: path)
    }

    /// Parses the whole file into a trace.
    static func load(path: String) throws(TraceError) -> EditingTrace {
        var parser = try TraceParser(path: path)
        return try parser.parseDocument()
    }

    private mutating func parseDocument() throws(TraceError) -> EditingTrace {
        try expect(UInt8(ascii: "{"))
        try parseObjectMembers { parser, key throws(TraceError) in
            switch key {
            case "startContent": parser.startContent = try parser.parseString()
            case "endContent": parser.endContent = try parser.parseString()
            case "kind": parser.kindName = try parser.parseString()
            case "numAgents":
                parser.agentCount = try parser.parseInteger(limit: TraceLimits.maximumAgentCount, field: "numAgents")
            case "txns":
                guard !parser.sawTransactions else { throw parser.syntax("repeated \"txns\"") }
                parser.sawTransactions = true
                try parser.parseTransactions()
            default: try parser.skipValue()
            }
        }
        try skipWhitespace()
        if try stream.peek() != nil { throw syntax("trailing data after the top-level object") }

        let kind: EditingTrace.Kind
        switch kindName.map({ String(String.UnicodeScalarView($0)) }) {
        case nil: kind = .sequential
        case "concurrent": kind = .concurrent
        case let other?: throw TraceError.invalidValue("unknown trace kind \"\(other)\"")
        }
        guard let endContent else { throw TraceError.missingField("endContent") }
        guard sawTransactions else { throw TraceError.missingField("txns") }
        var agents = 1
        if kind == .concurrent {
            guard let agentCount else { throw TraceError.missingField("numAgents") }
            guard agentCount >= 1 else { throw TraceError.invalidValue("a concurrent trace needs at least one agent") }
            agents = agentCount
            for (index, transaction) in transactions.enumerated() {
                guard transaction.agent < UInt32(agents) else {
                    throw TraceError.invalidValue("transaction \(index) has agent \(transaction.agent) of \(agents)")
                }
                for parent in parents[Int(transaction.parentStart)..<Int(transaction.parentEnd)]
                where parent >= UInt32(index) {
                    throw TraceError.invalidValue("transaction \(index) has parent \(parent), not an earlier transaction")
                }
            }
        }
        return EditingTrace(
            kind: kind, startContent: startContent ?? [], endContent: endContent, agentCount: agents, patches: patches,
            transactions: transactions, parents: parents, insertedScalars: insertedScalars)
    }

    // MARK: Trace structure

    private mutating func parseTransactions() throws(TraceError) {
        try skipWhitespace()
        try expect(UInt8(ascii: "["))
        try parseArrayElements { parser throws(TraceError) in
            guard parser.transactions.count < TraceLimits.maximumTransactionCount else {
                throw TraceError.limitExceeded("more than \(TraceLimits.maximumTransactionCount) transactions")
            }
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "{"))
            var transaction = EditingTrace.Transaction(
                patchStart: UInt32(parser.patches.count), patchEnd: UInt32(parser.patches.count),
                parentStart: UInt32(parser.parents.count), parentEnd: UInt32(parser.parents.count), agent: 0)
            var sawPatches = false
            var sawParents = false
            try parser.parseObjectMembers { parser, key throws(TraceError) in
                switch key {
                case "patches":
                    guard !sawPatches else { throw parser.syntax("repeated \"patches\"") }
                    sawPatches = true
                    transaction.patchStart = UInt32(parser.patches.count)
                    try parser.parsePatches()
                    transaction.patchEnd = UInt32(parser.patches.count)
                case "parents":
                    guard !sawParents else { throw parser.syntax("repeated \"parents\"") }
                    sawParents = true
                    transaction.parentStart = UInt32(parser.parents.count)
                    try parser.skipWhitespace()
                    try parser.expect(UInt8(ascii: "["))
                    try parser.parseArrayElements { parser throws(TraceError) in
                        let parent = try parser.parseInteger(limit: TraceLimits.maximumTransactionCount, field: "parents")
                        parser.parents.append(UInt32(parent))
                    }
                    transaction.parentEnd = UInt32(parser.parents.count)
                case "agent":
                    transaction.agent = UInt32(try parser.parseInteger(limit: TraceLimits.maximumAgentCount, field: "agent"))
                default:
                    try parser.skipValue()
                }
            }
            guard sawPatches else { throw TraceError.missingField("patches") }
            parser.transactions.append(transaction)
        }
    }

    private mutating func parsePatches() throws(TraceError) {
        try skipWhitespace()
        try expect(UInt8(ascii: "["))
        try parseArrayElements { parser throws(TraceError) in
            guard parser.patches.count < TraceLimits.maximumPatchCount else {
                throw TraceError.limitExceeded("more than \(TraceLimits.maximumPatchCount) patches")
            }
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "["))
            let position = try parser.parseInteger(limit: TraceLimits.maximumScalarCount, field: "patch position")
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: ","))
            let deleteCount = try parser.parseInteger(limit: TraceLimits.maximumScalarCount, field: "patch delete count")
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: ","))
            let insertStart = parser.insertedScalars.count
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "\""))
            try parser.parseStringBody { parser, scalar throws(TraceError) in
                guard parser.insertedScalars.count < TraceLimits.maximumScalarCount else {
                    throw TraceError.limitExceeded("more than \(TraceLimits.maximumScalarCount) inserted scalars")
                }
                parser.insertedScalars.append(scalar.value)
            }
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "]"))
            parser.patches.append(
                EditingTrace.Patch(
                    position: UInt32(position), deleteCount: UInt32(deleteCount), insertStart: UInt32(insertStart),
                    insertCount: UInt32(parser.insertedScalars.count - insertStart)))
        }
    }

    // MARK: JSON

    private func syntax(_ message: String) -> TraceError {
        TraceError.syntax(offset: stream.offset, message: message)
    }

    private mutating func skipWhitespace() throws(TraceError) {
        while let byte = try stream.peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            _ = try stream.next()
        }
    }

    private mutating func expect(_ expected: UInt8) throws(TraceError) {
        guard let byte = try stream.next() else {
            throw syntax("unexpected end of input, expected '\(Character(Unicode.Scalar(expected)))'")
        }
        guard byte == expected else {
            throw syntax("expected '\(Character(Unicode.Scalar(expected)))', found byte \(byte)")
        }
    }

    /// Calls `member` for each key of an object whose `{` was consumed; the
    /// callback must consume the value.
    private mutating func parseObjectMembers(
        _ member: (inout TraceParser, String) throws(TraceError) -> Void
    ) throws(TraceError) {
        try skipWhitespace()
        if try stream.peek() == UInt8(ascii: "}") {
            _ = try stream.next()
            return
        }
        while true {
            try skipWhitespace()
            try expect(UInt8(ascii: "\""))
            var keyScalars = String.UnicodeScalarView()
            var keyLength = 0
            try parseStringBody { parser, scalar throws(TraceError) in
                keyLength += 1
                guard keyLength <= 256 else { throw parser.syntax("object key too long") }
                keyScalars.append(scalar)
            }
            let key = String(keyScalars)
            try skipWhitespace()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            try skipWhitespace()
            switch try stream.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return
            case nil: throw syntax("unexpected end of input in an object")
            case let byte?: throw syntax("expected ',' or '}' in an object, found byte \(byte)")
            }
        }
    }

    /// Calls `element` for each element of an array whose `[` was consumed;
    /// the callback must consume the element.
    private mutating func parseArrayElements(_ element: (inout TraceParser) throws(TraceError) -> Void) throws(TraceError) {
        try skipWhitespace()
        if try stream.peek() == UInt8(ascii: "]") {
            _ = try stream.next()
            return
        }
        while true {
            try element(&self)
            try skipWhitespace()
            switch try stream.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return
            case nil: throw syntax("unexpected end of input in an array")
            case let byte?: throw syntax("expected ',' or ']' in an array, found byte \(byte)")
            }
        }
    }

    /// A non-negative integer no larger than `limit`.
    private mutating func parseInteger(limit: Int, field: String) throws(TraceError) -> Int {
        try skipWhitespace()
        var value = 0
        var digits = 0
        while let byte = try stream.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            _ = try stream.next()
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            guard value <= limit else { throw TraceError.limitExceeded("\(field) above \(limit)") }
        }
        guard digits > 0 else { throw TraceError.invalidValue("\(field) must be a non-negative integer") }
        if let byte = try stream.peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw TraceError.invalidValue("\(field) must be an integer")
        }
        return value
    }

    private mutating func parseString() throws(TraceError) -> [Unicode.Scalar] {
        try skipWhitespace()
        try expect(UInt8(ascii: "\""))
        var scalars: [Unicode.Scalar] = []
        try parseStringBody { parser, scalar throws(TraceError) in
            guard scalars.count < TraceLimits.maximumScalarCount else {
                throw TraceError.limitExceeded("string longer than \(TraceLimits.maximumScalarCount) scalars")
            }
            scalars.append(scalar)
        }
        return scalars
    }

    /// Decodes the rest of a string whose opening quote was consumed, UTF-8
    /// and escapes, calling `emit` per scalar.
    private mutating func parseStringBody(_ emit: (inout TraceParser, Unicode.Scalar) throws(TraceError) -> Void) throws(TraceError) {
        while true {
            guard let byte = try stream.next() else { throw syntax("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                try emit(&self, try parseEscape())
            case 0..<0x20:
                throw syntax("unescaped control character in a string")
            case 0..<0x80:
                try emit(&self, Unicode.Scalar(byte))
            default:
                try emit(&self, try parseUTF8(lead: byte))
            }
        }
    }

    private mutating func parseEscape() throws(TraceError) -> Unicode.Scalar {
        guard let byte = try stream.next() else { throw syntax("unterminated escape") }
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHexUnit()
            switch unit {
            case 0xD800..<0xDC00:
                // A high surrogate must be followed by an escaped low one.
                try expect(UInt8(ascii: "\\"))
                try expect(UInt8(ascii: "u"))
                let low = try parseHexUnit()
                guard (0xDC00..<0xE000).contains(low) else { throw syntax("unpaired surrogate escape") }
                let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                guard let scalar = Unicode.Scalar(value) else { throw syntax("invalid surrogate pair") }
                return scalar
            case 0xDC00..<0xE000:
                throw syntax("unpaired low surrogate escape")
            default:
                guard let scalar = Unicode.Scalar(unit) else { throw syntax("invalid \\u escape") }
                return scalar
            }
        default:
            throw syntax("invalid escape \\\(Character(Unicode.Scalar(byte)))")
        }
    }

    private mutating func parseHexUnit() throws(TraceError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = try stream.next() else { throw syntax("unterminated \\u escape") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }

    /// One multi-byte UTF-8 sequence, rejecting overlong forms, surrogates
    /// and values beyond U+10FFFF.
    private mutating func parseUTF8(lead: UInt8) throws(TraceError) -> Unicode.Scalar {
        let count: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF:
            count = 1
            value = UInt32(lead & 0x1F)
        case 0xE0...0xEF:
            count = 2
            value = UInt32(lead & 0x0F)
        case 0xF0...0xF4:
            count = 3
            value = UInt32(lead & 0x07)
        default:
            throw syntax("invalid UTF-8 lead byte \(lead)")
        }
        for _ in 0..<count {
            guard let byte = try stream.next(), byte & 0xC0 == 0x80 else { throw syntax("invalid UTF-8 continuation") }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        let minimum: UInt32 = count == 1 ? 0x80 : count == 2 ? 0x800 : 0x10000
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { throw syntax("invalid UTF-8 sequence") }
        return scalar
    }

    /// Skips one JSON value, checking its grammar, with a bound on nesting.
    private mutating func skipValue(depth: Int = 0) throws(TraceError) {
        guard depth < TraceLimits.maximumNestingDepth else {
            throw syntax("nesting deeper than \(TraceLimits.maximumNestingDepth)")
        }
        try skipWhitespace()
        guard let byte = try stream.next() else { throw syntax("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            try parseObjectMembers { parser, _ throws(TraceError) in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try parseArrayElements { parser throws(TraceError) in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            try parseStringBody { _, _ throws(TraceError) in }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber(first: byte)
        case UInt8(ascii: "t"):
            try expectLiteral("rue")
        case UInt8(ascii: "f"):
            try expectLiteral("alse")
        case UInt8(ascii: "n"):
            try expectLiteral("ull")
        default:
            throw syntax("unexpected byte \(byte), expected a value")
        }
    }

    /// The rest of a number: `-? int frac? exp?` (RFC 8259 §6).
    private mutating func skipNumber(first: UInt8) throws(TraceError) {
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
        var leading = first
        if first == UInt8(ascii: "-") {
            guard let digit = try stream.next(), isDigit(digit) else { throw syntax("a '-' must be followed by a digit") }
            leading = digit
        }
        if leading != UInt8(ascii: "0") {
            while isDigit(try stream.peek()) { _ = try stream.next() }
        }
        if try stream.peek() == UInt8(ascii: ".") {
            _ = try stream.next()
            guard isDigit(try stream.peek()) else { throw syntax("a '.' must be followed by a digit") }
            while isDigit(try stream.peek()) { _ = try stream.next() }
        }
        if let byte = try stream.peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            _ = try stream.next()
            if let sign = try stream.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { _ = try stream.next() }
            guard isDigit(try stream.peek()) else { throw syntax("an exponent must have digits") }
            while isDigit(try stream.peek()) { _ = try stream.next() }
        }
    }

    private mutating func expectLiteral(_ rest: StaticString) throws(TraceError) {
        for index in 0..<rest.utf8CodeUnitCount {
            try expect(rest.utf8Start[index])
        }
    }
}

extension EditingTrace {
    /// Loads a trace from a `.json.gz` (or plain `.json`) file.
    public static func load(path: String) throws(TraceError) -> EditingTrace {
        try TraceParser.load(path: path)
    }
}

import ChorusRESP

/// Feeds `chunks` to a command parser the way the server's decoder does
/// (append what arrived, parse, drop what was consumed) and returns every
/// outcome other than `.needMoreData`, plus the bytes left unconsumed.
func feed(
    _ chunks: [[UInt8]], limits: RESPLimits = .default, authenticated: Bool = true
) -> (outcomes: [RESPCommandParser.Outcome], leftover: Int) {
    var parser = RESPCommandParser(limits: limits)
    var buffer: [UInt8] = []
    var outcomes: [RESPCommandParser.Outcome] = []
    for chunk in chunks {
        buffer.append(contentsOf: chunk)
        while true {
            let (consumed, outcome) = parser.parse(buffer, authenticated: authenticated)
            precondition(consumed >= 0 && consumed <= buffer.count, "consumed \(consumed) of \(buffer.count)")
            buffer.removeFirst(consumed)
            if outcome == .needMoreData { break }
            outcomes.append(outcome)
        }
    }
    return (outcomes, buffer.count)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func command(_ words: String...) -> RESPCommandParser.Outcome { .command(words.map(bytes)) }

/// The multibulk encoding of a command, as clients send it.
func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var out = bytes("*\(arguments.count)\r\n")
    for argument in arguments {
        out += bytes("$\(argument.count)\r\n") + argument + bytes("\r\n")
    }
    return out
}

func multibulk(_ words: String...) -> [UInt8] { multibulk(words.map(bytes)) }

/// Splits `input` into chunks at the given sorted cut points.
func chunks(_ input: [UInt8], cuts: [Int]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var start = 0
    for cut in cuts where cut > start && cut < input.count {
        result.append(Array(input[start..<cut]))
        start = cut
    }
    result.append(Array(input[start...]))
    return result
}

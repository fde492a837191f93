/// Splits an inline command line into arguments exactly as redis-server's
/// `sdssplitargs` does, so `redis-cli`-style typing over telnet works the
/// same: blanks separate words; `"…"` allows `\n \r \t \b \a \\ \"` and
/// `\xHH` escapes; `'…'` allows only `\'`; a closing quote must be followed
/// by a blank or the end; the line ends at a NUL byte (C strings). Returns
/// nil for unbalanced quotes (`-ERR Protocol error: unbalanced quotes in request`).
enum RESPInlineSplitter {
    static func split(_ line: [UInt8]) -> [[UInt8]]? {
        // The C code reads a NUL-terminated string: nothing after a NUL exists.
        let end = line.firstIndex(of: 0) ?? line.count
        var arguments: [[UInt8]] = []
        var index = 0
        func byte(at position: Int) -> UInt8 { position < end ? line[position] : 0 }

        while true {
            while index < end && isSpace(line[index]) { index += 1 }
            guard index < end else { return arguments }
            var current: [UInt8] = []
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            while !done {
                let character = byte(at: index)
                if inDoubleQuotes {
                    if character == UInt8(ascii: "\\") && byte(at: index + 1) == UInt8(ascii: "x"),
                        let high = hexValue(byte(at: index + 2)), let low = hexValue(byte(at: index + 3))
                    {
                        current.append(high << 4 | low)
                        index += 3
                    } else if character == UInt8(ascii: "\\") && byte(at: index + 1) != 0 {
                        index += 1
                        switch byte(at: index) {
                        case UInt8(ascii: "n"): current.append(10)
                        case UInt8(ascii: "r"): current.append(13)
                        case UInt8(ascii: "t"): current.append(9)
                        case UInt8(ascii: "b"): current.append(8)
                        case UInt8(ascii: "a"): current.append(7)
                        case let other: current.append(other)
                        }
                    } else if character == UInt8(ascii: "\"") {
                        let next = byte(at: index + 1)
                        if next != 0 && !isSpace(next) { return nil }
                        done = true
                    } else if character == 0 {
                        return nil
                    } else {
                        current.append(character)
                    }
                } else if inSingleQuotes {
                    if character == UInt8(ascii: "\\") && byte(at: index + 1) == UInt8(ascii: "'") {
                        index += 1
                        current.append(UInt8(ascii: "'"))
                    } else if character == UInt8(ascii: "'") {
                        let next = byte(at: index + 1)
                        if next != 0 && !isSpace(next) { return nil }
                        done = true
                    } else if character == 0 {
                        return nil
                    } else {
                        current.append(character)
                    }
                } else {
                    switch character {
                    case UInt8(ascii: " "), 10, 13, 9, 0: done = true
                    case UInt8(ascii: "\""): inDoubleQuotes = true
                    case UInt8(ascii: "'"): inSingleQuotes = true
                    default: current.append(character)
                    }
                }
                if index < end { index += 1 }
            }
            arguments.append(current)
        }
    }

    /// C's `isspace` in the C locale.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 32 || (9...13).contains(byte)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

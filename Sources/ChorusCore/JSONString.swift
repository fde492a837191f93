/// Writes a string as a JSON string literal (RFC 8259 §7): quotes, backslashes
/// and control characters escaped, everything else as is.
///
/// Every hand-written JSON in Chorus (history files, reports, benchmark lines,
/// API errors) quotes its strings through this one function.
public enum JSONString {
    public static func write(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        var output = ""
        write(text, to: &output)
        return output
    }
}

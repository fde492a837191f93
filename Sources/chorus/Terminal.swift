#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a line to standard output with one unbuffered `write`, so that it is
/// in the pipe before anything else happens, even if the process is killed next.
func writeLine(_ line: String) {
    writeAll(1, line + "\n")
}

/// Writes a line to standard error, unbuffered. Every subcommand reports
/// errors through this one function.
func printError(_ line: String) {
    writeAll(2, line + "\n")
}

private func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeMutableBytes { raw in
            write(descriptor, raw.baseAddress! + written, raw.count - written)
        }
        if result > 0 {
            written += result
        } else if result < 0 && errno != EINTR {
            return
        }
    }
}

import CZlib

/// Bytes of a file, inflated on the fly when it is gzip'd, read in 64 KiB
/// slices so the whole decompressed file is never in memory at once.
///
/// We use the system zlib (`gzopen`/`gzread`) rather than an inflater of our
/// own: zlib is on every machine (CI installs `zlib1g-dev`), it is the
/// reference implementation of DEFLATE, and its `gzread` also reads a file
/// that is not compressed as it is, so plain `.json` traces load too. An
/// inflater written here would be a few hundred lines of bit twiddling with
/// its own fuzzing burden, for no gain: trace loading is not the hot path.
struct GzipByteStream: ~Copyable {
    static let chunkSize = 1 << 16

    private let file: gzFile
    private var buffer: [UInt8]
    private var position = 0
    private var filled = 0
    private var isFinished = false
    /// The offset of `buffer[0]` in the decompressed stream.
    private var bufferStart = 0

    init(path: String) throws(TraceError) {
        guard let file = gzopen(path, "rb") else { throw TraceError.cannotOpen(path: path) }
        self.file = file
        buffer = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    deinit { gzclose(file) }

    /// The offset of the next byte in the decompressed stream.
    var offset: Int { bufferStart + position }

    /// The next byte without consuming it, or nil at the end.
    mutating func peek() throws(TraceError) -> UInt8? {
        if position == filled {
            try refill()
            if position == filled { return nil }
        }
        return buffer[position]
    }

    /// The next byte, or nil at the end.
    mutating func next() throws(TraceError) -> UInt8? {
        if position == filled {
            try refill()
            if position == filled { return nil }
        }
        defer { position += 1 }
        return buffer[position]
    }

    private mutating func refill() throws(TraceError) {
        if isFinished { return }
        bufferStart += filled
        position = 0
        filled = 0
        let read = buffer.withUnsafeMutableBytes { raw in
            gzread(file, raw.baseAddress, UInt32(raw.count))
        }
        if read < 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
            throw TraceError.decompression(message: message)
        }
        if read == 0 {
            isFinished = true
            // A truncated gzip member reads as end of file; zlib records why.
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
            if code != Z_OK && code != Z_STREAM_END {
                throw TraceError.decompression(message: message.isEmpty ? "zlib error \(code)" : message)
            }
        }
        filled = Int(read)
    }
}

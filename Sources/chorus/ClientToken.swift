import ArgumentParser
import Foundation

/// The bearer token of the client commands (`kv`, `events`): `--token`,
/// else `CHORUS_TOKEN`, else the file of `--token-file` or
/// `CHORUS_TOKEN_FILE` (what `chorus cluster up` and `chorus demo` print:
/// `DATA_DIR/admin.token`); none at all sends no token (an insecure cluster).
struct TokenOptions: ParsableArguments {
    @Option(name: .customLong("token"), help: "The bearer token (default: $CHORUS_TOKEN, then --token-file).")
    var token: String?

    @Option(
        name: .customLong("token-file"),
        help: "A file holding the bearer token (default: $CHORUS_TOKEN_FILE, e.g. DATA_DIR/admin.token of `chorus cluster up`).")
    var tokenFile: String?

    func resolve() throws -> String? {
        if let token { return token }
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["CHORUS_TOKEN"], !token.isEmpty { return token }
        guard let file = tokenFile ?? environment["CHORUS_TOKEN_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read the token file \(file)") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ValidationError("the token file \(file) is empty") }
        return text
    }
}

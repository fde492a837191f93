import ArgumentParser
import ChorusCertificates
import ChorusCore

/// `chorus certs create-ca|issue`: the cluster CA and node certificates of
/// mutual TLS between nodes (Sources/ChorusCertificates). `chorus cluster up`
/// and `chorus demo` make them by themselves; these make them by hand, for
/// nodes started with `chorus node --tls-ca --tls-cert --tls-key`.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make a cluster CA and node certificates for mutual TLS between nodes.",
        discussion: """
            Files (PEM): DIR/ca.pem and DIR/ca-key.pem, DIR/node-N.pem and DIR/node-N-key.pem; \
            keys are written with mode 0600 and nothing is ever overwritten. A node certificate \
            names its node as the URI chorus://node/N (the identity peers check) and CN=chorus-node-N. \
            Exit status: 64 for a bad argument, 65 for a malformed or mismatched file, 66 for an \
            unreadable one, 73 when an output exists or cannot be written.
            """,
        subcommands: [CertsCreateAuthority.self, CertsIssue.self]
    )
}

struct CertsCreateAuthority: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-ca", abstract: "Write a new cluster CA (P-256 ECDSA, self-signed): DIR/ca.pem and DIR/ca-key.pem.")

    @Option(name: .customLong("out"), help: "The directory to write into (created if missing).")
    var output: String

    @Option(name: .customLong("validity-days"), help: "How long the CA is valid.")
    var validityDays: Int = ClusterCertificateAuthority.authorityValidityDaysDefault

    func run() throws {
        try runReportingCertificateErrors("chorus certs create-ca") { () throws(ClusterCertificateError) in
            try CertificateFiles.write(ClusterCertificateAuthority.create(validityDays: validityDays), to: output)
        }
        writeLine("wrote \(output)/\(CertificateFiles.authorityCertificateName) and \(output)/\(CertificateFiles.authorityKeyName)")
    }
}

struct CertsIssue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue", abstract: "Issue node N's certificate with the CA of a directory: DIR/node-N.pem and DIR/node-N-key.pem.")

    @Option(name: .customLong("ca"), help: "The directory holding ca.pem and ca-key.pem.")
    var authorityDirectory: String

    @Option(name: .customLong("node"), help: "The node id the certificate names (a positive integer).")
    var node: UInt64

    @Option(name: .customLong("out"), help: "The directory to write into (default: the CA's).")
    var output: String?

    @Option(name: .customLong("host"), help: "An extra DNS name or IP address SAN (besides localhost, 127.0.0.1, ::1); repeatable.")
    var hosts: [String] = []

    @Option(name: .customLong("validity-days"), help: "How long the certificate is valid.")
    var validityDays: Int = ClusterCertificateAuthority.nodeValidityDaysDefault

    func run() throws {
        guard node > 0 else { throw ValidationError("--node must be a positive integer") }
        let directory = output ?? authorityDirectory
        try runReportingCertificateErrors("chorus certs issue") { () throws(ClusterCertificateError) in
            let authority = try CertificateFiles.readAuthority(from: authorityDirectory)
            try CertificateFiles.write(
                authority.issue(node: NodeID(node), hosts: hosts, validityDays: validityDays), to: directory)
        }
        writeLine(
            "wrote \(directory)/\(CertificateFiles.nodeCertificateName(NodeID(node))) and \(directory)/\(CertificateFiles.nodeKeyName(NodeID(node)))"
        )
    }
}

/// Runs `body`; a certificate error becomes a message on standard error and
/// its exit status (sysexits.h): a bad argument is a usage error.
func runReportingCertificateErrors(_ command: String, _ body: () throws(ClusterCertificateError) -> Void) throws {
    do {
        try body()
    } catch {
        if case .invalidArgument(let reason) = error { throw ValidationError(reason) }
        printError("\(command): \(error)")
        throw ExitCode(certificateExitCode(error))
    }
}

func certificateExitCode(_ error: ClusterCertificateError) -> Int32 {
    switch error {
    case .invalidArgument: 64  // EX_USAGE
    case .malformed, .mismatch: 65  // EX_DATAERR
    case .unreadable: 66  // EX_NOINPUT
    case .exists, .unwritable: 73  // EX_CANTCREAT
    }
}

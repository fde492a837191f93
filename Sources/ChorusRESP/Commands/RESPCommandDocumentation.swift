/// The replies of `COMMAND` and its subcommands, built from
/// `RESPCommandSpecification`, in the shapes redis-server 7 uses (so
/// `redis-cli`'s hints and client libraries' command tables load):
///
/// - `COMMAND` / `COMMAND INFO`: per command `[name, arity, flags, first key,
///   last key, step, ACL categories, tips, key specifications, subcommands]`;
///   `COMMAND INFO` answers null for a name it does not know.
/// - `COMMAND DOCS`: a map from name to `{summary, since, group[, subcommands]}`;
///   unknown names are left out.
/// - `COMMAND COUNT`, `COMMAND LIST`.
enum RESPCommandDocumentation {
    static func reply(_ subcommand: RESPCommandSubcommand) -> RESPValue {
        switch subcommand {
        case .all:
            return .array(RESPCommandSpecification.all.map(information))
        case .count:
            return .integer(Int64(RESPCommandSpecification.all.count))
        case .list:
            return .array(RESPCommandSpecification.all.map { .bulk($0.name) })
        case .info(let names):
            guard !names.isEmpty else { return .array(RESPCommandSpecification.all.map(information)) }
            return .array(names.map { RESPCommandSpecification.named($0).map(information) ?? .nullArray })
        case .docs(let names):
            let specifications =
                names.isEmpty ? RESPCommandSpecification.all : names.compactMap(RESPCommandSpecification.named)
            return .map(specifications.map { RESPMapEntry(.bulk($0.name), documentation($0)) })
        case .help:
            return .array([
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)", "    Return details about all commands.",
                "COUNT", "    Return the total number of commands in this server.",
                "LIST", "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]", "    Return details about multiple commands.",
                "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
                "HELP", "    Print this help.",
            ].map(RESPValue.simpleString))
        }
    }

    static func information(_ specification: RESPCommandSpecification) -> RESPValue {
        .array([
            .bulk(specification.name),
            .integer(Int64(specification.arity)),
            .set(specification.flags.map(RESPValue.simpleString)),
            .integer(Int64(specification.firstKey)),
            .integer(Int64(specification.lastKey)),
            .integer(Int64(specification.keyStep)),
            .set(categories(specification).map(RESPValue.simpleString)),
            .array([]),
            .array([]),
            .array(specification.subcommands.map(information)),
        ])
    }

    /// The ACL categories as Redis derives them: read or write, the group's
    /// category (`generic` is `@keyspace`), then fast or slow.
    static func categories(_ specification: RESPCommandSpecification) -> [String] {
        var categories: [String] = []
        if specification.flags.contains("write") { categories.append("@write") }
        if specification.flags.contains("readonly") { categories.append("@read") }
        categories.append(specification.group == "generic" ? "@keyspace" : "@\(specification.group)")
        categories.append(specification.flags.contains("fast") ? "@fast" : "@slow")
        return categories
    }

    static func documentation(_ specification: RESPCommandSpecification) -> RESPValue {
        var entries = [
            RESPMapEntry(.bulk("summary"), .bulk(specification.summary)),
            RESPMapEntry(.bulk("since"), .bulk(specification.since)),
            RESPMapEntry(.bulk("group"), .bulk(specification.group)),
        ]
        if !specification.subcommands.isEmpty {
            entries.append(RESPMapEntry(
                .bulk("subcommands"),
                .map(specification.subcommands.map { RESPMapEntry(.bulk($0.name), documentation($0)) })))
        }
        return .map(entries)
    }
}

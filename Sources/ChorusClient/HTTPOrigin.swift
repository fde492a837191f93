/// Where a request goes: a scheme, a host and a port, no path. The client
/// knows nodes by their origins (an endpoint, or a leader learned from a
/// redirect's `Location`).
public struct HTTPOrigin: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case http
        case https

        public var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int

    public init(scheme: Scheme = .http, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `http[s]://host[:port][/path…]` (an IPv6 host in brackets) into
    /// its origin and its path with query (`/` if none), or nil.
    public static func parse(_ url: String) -> (origin: HTTPOrigin, path: String)? {
        let scheme: Scheme
        if url.hasPrefix("http://") {
            scheme = .http
        } else if url.hasPrefix("https://") {
            scheme = .https
        } else {
            return nil
        }
        let rest = url.dropFirst(scheme.rawValue.count + "://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = rest[..<slash]
        var port = scheme.defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = parsePort(after.dropFirst()) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = parsePort(host[host.index(after: colon)...]) else { return nil }
            port = parsed
            host = host[..<colon]
        }
        let forbidden: Set<Character> = ["@", " ", "?", "#"]
        guard !host.isEmpty, !host.contains(where: forbidden.contains) else { return nil }
        return (HTTPOrigin(scheme: scheme, host: String(host), port: port), path)
    }

    private static func parsePort(_ text: Substring) -> Int? {
        guard let port = Int(text), (1...65_535).contains(port) else { return nil }
        return port
    }

    public var description: String {
        host.contains(":") ? "\(scheme.rawValue)://[\(host)]:\(port)" : "\(scheme.rawValue)://\(host):\(port)"
    }
}

/// What every connection's session shares: the database table, the codec
/// limits, and the names the server reports.
public struct RESPSessionConfiguration: Sendable {
    public var databases: RESPDatabaseTable
    public var limits: RESPLimits
    /// `server` in the `HELLO` reply and `chorus_server` in `INFO`.
    public var serverName: String
    /// The Redis version whose command semantics this front end follows,
    /// reported as `version` and `redis_version` (clients gate features on it).
    public var compatibilityVersion: String
    /// The TCP port, for `INFO` (set by the server once bound).
    public var port: Int

    public init(
        databases: RESPDatabaseTable, limits: RESPLimits = .default, serverName: String = "chorus",
        compatibilityVersion: String = "7.0.0", port: Int = 0
    ) {
        self.databases = databases
        self.limits = limits
        self.serverName = serverName
        self.compatibilityVersion = compatibilityVersion
        self.port = port
    }
}

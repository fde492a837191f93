/// A value bound to a statement parameter or read from a result row: the five
/// SQLite storage classes (https://sqlite.org/datatype3.html §2), so the core
/// decides every binding and the edge only maps them to its driver.
public enum ProjectionValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): "'\(value)'"
        case .blob(let bytes): "blob(\(bytes.count) bytes)"
        }
    }
}

import ChorusAPI
import ChorusRESP
import Synchronization

/// A reference backend for the tests only: single-node Redis semantics in
/// memory (one value per key name, strings that `INCRBY` parses), one lock.
/// It stands in for the leaderless keyspaces so the protocol layer can be
/// tested and measured alone; the integrator's backend replaces it.
final class InMemoryRESPBackend: RESPBackend {
    enum Value: Equatable {
        case string([UInt8])
        case set(Set<[UInt8]>)
        case hash([[UInt8]: [UInt8]])
    }

    struct Store {
        var keyspaces: [String: [[UInt8]: Value]] = [:]
        var calls = 0
    }

    private let store = Mutex(Store())
    /// username → password; nil: no authentication required.
    let users: [String: String]?
    /// username → roles; when any are given, `SET` needs the role `writer`
    /// in the request's context (what the integrator's backend asks the
    /// service, which answers `permission_denied`).
    let roles: [String: [String]]

    init(users: [String: String]? = nil, roles: [String: [String]] = [:]) {
        self.users = users
        self.roles = roles
    }

    func authenticateIdentity(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> RESPIdentity {
        let subject = try await authenticate(username: username, password: password)
        return RESPIdentity(subject: subject, roles: roles[subject] ?? [])
    }

    var requiresAuthentication: Bool { users != nil }

    var callCount: Int { store.withLock { $0.calls } }

    func value(_ key: String, keyspace: String) -> Value? {
        store.withLock { $0.keyspaces[keyspace]?[Array(key.utf8)] }
    }

    private func withKeyspace<Result>(
        _ context: RESPRequestContext, _ body: (inout [[UInt8]: Value]) throws(RESPBackendError) -> Result
    ) throws(RESPBackendError) -> Result {
        try store.withLock { (store: inout Store) throws(RESPBackendError) -> Result in
            store.calls += 1
            return try body(&store.keyspaces[context.keyspace, default: [:]])
        }
    }

    func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> String {
        let name = String(decoding: username, as: UTF8.self)
        guard let users, users[name] == String(decoding: password, as: UTF8.self) else { throw .wrongPassword }
        return name
    }

    // MARK: Strings

    func get(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        try withKeyspace(context) { (keys) throws(RESPBackendError) in
            switch keys[key] {
            case nil: return nil
            case .string(let bytes): return bytes
            default: throw .wrongType
            }
        }
    }

    func set(_ request: RESPSetRequest, context: RESPRequestContext) async throws(RESPBackendError) -> RESPSetOutcome {
        if !roles.isEmpty && !context.roles.contains("writer") {
            throw RESPBackendError(ErrorCode.permissionDenied, "\(context.subject ?? "?") may not keyspace.write on keyspace '\(context.keyspace)'")
        }
        return try withKeyspace(context) { (keys) throws(RESPBackendError) in
            let existing = keys[request.key]
            var previous: [UInt8]? = nil
            if request.returnsPrevious {
                switch existing {
                case nil: break
                case .string(let bytes): previous = bytes
                default: throw .wrongType
                }
            }
            switch request.condition {
            case .ifAbsent where existing != nil: return RESPSetOutcome(written: false, previous: previous)
            case .ifPresent where existing == nil: return RESPSetOutcome(written: false, previous: previous)
            default: break
            }
            keys[request.key] = .string(request.value)
            return RESPSetOutcome(written: true, previous: previous)
        }
    }

    func delete(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { stored in
            var removed = 0
            for key in keys where stored.removeValue(forKey: key) != nil { removed += 1 }
            return removed
        }
    }

    func exists(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { stored in keys.filter { stored[$0] != nil }.count }
    }

    func multipleGet(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]?] {
        try withKeyspace(context) { stored in
            keys.map { key in
                if case .string(let bytes) = stored[key] { return bytes }
                return nil
            }
        }
    }

    func multipleSet(_ pairs: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) {
        try withKeyspace(context) { stored in
            for pair in pairs { stored[pair.key] = .string(pair.value) }
        }
    }

    func incrementBy(_ key: [UInt8], amount: Int64, context: RESPRequestContext) async throws(RESPBackendError) -> Int64 {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            var current: Int64 = 0
            switch stored[key] {
            case nil: break
            case .string(let bytes):
                guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else { throw .notAnInteger }
                current = value
            default: throw .wrongType
            }
            let (sum, overflow) = current.addingReportingOverflow(amount)
            guard !overflow else { throw .incrementOverflow }
            stored[key] = .string(Array(String(sum).utf8))
            return sum
        }
    }

    // MARK: Sets

    private func members(_ stored: [[UInt8]: Value], _ key: [UInt8]) throws(RESPBackendError) -> Set<[UInt8]> {
        switch stored[key] {
        case nil: return []
        case .set(let members): return members
        default: throw .wrongType
        }
    }

    func setAdd(_ key: [UInt8], members added: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            var set = try members(stored, key)
            let before = set.count
            set.formUnion(added)
            stored[key] = .set(set)
            return set.count - before
        }
    }

    func setRemove(_ key: [UInt8], members removed: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            var set = try members(stored, key)
            let before = set.count
            set.subtract(removed)
            stored[key] = set.isEmpty ? nil : .set(set)
            return before - set.count
        }
    }

    func setMembers(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]] {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            try members(stored, key).sorted { $0.lexicographicallyPrecedes($1) }
        }
    }

    func setIsMember(_ key: [UInt8], member: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> Bool {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in try members(stored, key).contains(member) }
    }

    // MARK: Hashes

    private func fields(_ stored: [[UInt8]: Value], _ key: [UInt8]) throws(RESPBackendError) -> [[UInt8]: [UInt8]] {
        switch stored[key] {
        case nil: return [:]
        case .hash(let fields): return fields
        default: throw .wrongType
        }
    }

    func hashSet(_ key: [UInt8], fields added: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            var hash = try fields(stored, key)
            var new = 0
            for pair in added where hash.updateValue(pair.value, forKey: pair.key) == nil { new += 1 }
            stored[key] = .hash(hash)
            return new
        }
    }

    func hashGet(_ key: [UInt8], field: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in try fields(stored, key)[field] }
    }

    func hashDelete(_ key: [UInt8], fields removed: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            var hash = try fields(stored, key)
            var count = 0
            for field in removed where hash.removeValue(forKey: field) != nil { count += 1 }
            stored[key] = hash.isEmpty ? nil : .hash(hash)
            return count
        }
    }

    func hashGetAll(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [RESPKeyValue] {
        try withKeyspace(context) { (stored) throws(RESPBackendError) in
            try fields(stored, key).map { RESPKeyValue(key: $0.key, value: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        }
    }

    func databaseSize(context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try withKeyspace(context) { $0.count }
    }
}

/// A backend whose every data call fails with one error: how API codes reach the wire.
struct FailingRESPBackend: RESPBackend {
    let error: RESPBackendError
    var requiresAuthentication: Bool { false }
    func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> String { throw error }
    func get(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? { throw error }
    func set(_ request: RESPSetRequest, context: RESPRequestContext) async throws(RESPBackendError) -> RESPSetOutcome { throw error }
    func delete(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func exists(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func multipleGet(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]?] { throw error }
    func multipleSet(_ pairs: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) { throw error }
    func incrementBy(_ key: [UInt8], amount: Int64, context: RESPRequestContext) async throws(RESPBackendError) -> Int64 { throw error }
    func setAdd(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func setRemove(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func setMembers(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]] { throw error }
    func setIsMember(_ key: [UInt8], member: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> Bool { throw error }
    func hashSet(_ key: [UInt8], fields: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func hashGet(_ key: [UInt8], field: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? { throw error }
    func hashDelete(_ key: [UInt8], fields: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
    func hashGetAll(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [RESPKeyValue] { throw error }
    func databaseSize(context: RESPRequestContext) async throws(RESPBackendError) -> Int { throw error }
}

import ChorusAPI
import ChorusCRDT
import ChorusCore
import ChorusRESP
import ChorusReplication

/// The Redis protocol on leaderless keyspaces: each command becomes reads
/// and CRDT operations of the service layer (so it is authorized per
/// operation like HTTP), coordinated by this node. The kinds follow Redis
/// Active-Active's CRDT semantics (`Sources/ChorusRESP/README.md`,
/// "Semantics"): strings are registers read last-writer-wins by hybrid
/// timestamp (a counter reads as its decimal value), `INCRBY` a counter
/// whose increments merge, sets add-wins OR-sets, hashes maps of register
/// fields, `DEL` the kind's observed-remove.
///
/// A name may hold a value of each kind in the core; this backend keeps to
/// Redis's one value per name where it can read cheaply: a data command
/// reads its own kind first and looks at the others only when its own is
/// absent (to answer `WRONGTYPE`, or null). The hot paths — `GET` of a
/// string, `SET`, `INCRBY` of a counter — are one or two quorum operations.
/// `SET` does not remove a set or hash under the same name (it would cost
/// two reads per write); `DEL` removes every kind.
///
/// Hash fields and values are bytes; the core's map fields are strings, so
/// each byte is carried as the Unicode scalar of the same number (Latin-1),
/// which round-trips any bytes.
public struct LeaderlessRESPBackend: RESPBackend {
    public let service: ChorusService

    public init(service: ChorusService) { self.service = service }

    public var requiresAuthentication: Bool { service.authorization.isEnforced }

    public func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> String {
        try await authenticateIdentity(username: username, password: password).subject
    }

    public func authenticateIdentity(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> RESPIdentity {
        let user = String(decoding: username, as: UTF8.self)
        let caller: Caller
        do { caller = try service.authenticate(user: user, token: String(decoding: password, as: UTF8.self)) } catch {
            throw .wrongPassword
        }
        return RESPIdentity(subject: caller.subject ?? user, roles: caller.roles)
    }

    // MARK: Strings

    public func get(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        if let string = try await string(key, context) { return string }
        try await refuseOtherKinds(key, than: [.register, .counter], context)
        return nil
    }

    public func set(_ request: RESPSetRequest, context: RESPRequestContext) async throws(RESPBackendError) -> RESPSetOutcome {
        var previous: [UInt8]?
        if request.condition != .always || request.returnsPrevious {
            previous = try await string(request.key, context)
            if previous == nil, request.returnsPrevious { try await refuseOtherKinds(request.key, than: [.register, .counter], context) }
            switch request.condition {
            case .ifAbsent where previous != nil, .ifPresent where previous == nil:
                return RESPSetOutcome(written: false, previous: request.returnsPrevious ? previous : nil)
            default: break
            }
        }
        try await assign(request.key, request.value, context)
        return RESPSetOutcome(written: true, previous: request.returnsPrevious ? previous : nil)
    }

    public func delete(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        var removed = 0
        for key in keys {
            let held = try await kindsHeld(key, context)
            for kind in held {
                guard let operation = CRDTOperation.removeAll(kind) else { continue }
                try await update(key, operation, context)
            }
            if !held.isEmpty { removed += 1 }
        }
        return removed
    }

    public func exists(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        var count = 0
        for key in keys where try await !kindsHeld(key, context).isEmpty { count += 1 }
        return count
    }

    public func multipleGet(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]?] {
        var values: [[UInt8]?] = []
        for key in keys { values.append(try await string(key, context)) }
        return values
    }

    public func multipleSet(_ pairs: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) {
        for pair in pairs { try await assign(pair.key, pair.value, context) }
    }

    public func incrementBy(_ key: [UInt8], amount: Int64, context: RESPRequestContext) async throws(RESPBackendError) -> Int64 {
        // `SET k 10` then `INCR k`: the string becomes the counter's start.
        var amount = amount
        if case .register(let register)? = try await read(key, .register, context), let text = register.lastWriterWinsValue {
            guard let start = RESPDecimal.parse(text) else { throw .notAnInteger }
            let (sum, overflow) = start.addingReportingOverflow(amount)
            guard !overflow else { throw .incrementOverflow }
            try await update(key, .registerClear, context)
            amount = sum
        }
        let reply = try await update(key, .counterIncrement(amount), context, returnValue: true)
        guard case .counter(let counter)? = reply.minted.value else {
            throw RESPBackendError(ErrorCode.internal, "an increment did not return the counter")
        }
        return counter.value
    }

    // MARK: Sets

    public func setAdd(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        let present = try await set(key, context)
        var fresh = Set<[UInt8]>()
        for member in members where !present.contains(member) { fresh.insert(member) }
        try await update(key, .setInsert(members), context)
        return fresh.count
    }

    public func setRemove(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        let present = try await set(key, context)
        let removed = Set(members.filter(present.contains))
        guard !removed.isEmpty else { return 0 }
        try await update(key, .setRemove(removed.sorted { $0.lexicographicallyPrecedes($1) }), context)
        return removed.count
    }

    public func setMembers(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]] {
        try await set(key, context).sorted { $0.lexicographicallyPrecedes($1) }
    }

    public func setIsMember(_ key: [UInt8], member: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> Bool {
        try await set(key, context).contains(member)
    }

    // MARK: Hashes

    public func hashSet(_ key: [UInt8], fields: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        let present = try await hash(key, context)
        var fresh = Set<[UInt8]>()
        for pair in fields where present[pair.key] == nil { fresh.insert(pair.key) }
        let operations = fields.map { pair in
            MapOperation.update(FieldKey(Self.text(pair.key), .register), .assign(Self.text(pair.value)))
        }
        try await update(key, .map(operations), context)
        return fresh.count
    }

    public func hashGet(_ key: [UInt8], field: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        try await hash(key, context)[field]
    }

    public func hashDelete(_ key: [UInt8], fields: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        let present = try await hash(key, context)
        let removed = Set(fields.filter { present[$0] != nil })
        guard !removed.isEmpty else { return 0 }
        let operations = removed.sorted { $0.lexicographicallyPrecedes($1) }.map { MapOperation.remove(FieldKey(Self.text($0), .register)) }
        try await update(key, .map(operations), context)
        return removed.count
    }

    public func hashGetAll(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [RESPKeyValue] {
        try await hash(key, context).map { RESPKeyValue(key: $0.key, value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    public func databaseSize(context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        do { return try await service.leaderlessKeyCount(context.keyspace, caller: Self.caller(context)) } catch { throw Self.error(error) }
    }

    // MARK: Reading and writing kinds

    static func caller(_ context: RESPRequestContext) -> Caller { Caller(subject: context.subject, roles: context.roles) }

    func read(_ key: [UInt8], _ kind: ValueKind, _ context: RESPRequestContext) async throws(RESPBackendError) -> ReplicatedValue? {
        let reply: ReadReply
        do {
            reply = try await service.leaderlessRead(
                context.keyspace, key: key, kind: kind, options: Self.options(context), caller: Self.caller(context))
        } catch {
            throw Self.error(error)
        }
        Self.remember(reply.session, context)
        guard let value = reply.value, !value.isEmptyForReaders else { return nil }
        return value
    }

    @discardableResult
    func update(_ key: [UInt8], _ operation: CRDTOperation, _ context: RESPRequestContext, returnValue: Bool = false)
        async throws(RESPBackendError) -> WriteReply
    {
        let reply: WriteReply
        do {
            reply = try await service.leaderlessUpdate(
                context.keyspace, key: key, operation, options: Self.options(context), returnValue: returnValue,
                caller: Self.caller(context))
        } catch {
            throw Self.error(error)
        }
        Self.remember(reply.session, context)
        return reply
    }

    /// The connection's causal session (kept in its memory): on a causal
    /// keyspace each command sees everything the connection's earlier ones
    /// saw, on whichever replicas answer.
    static func options(_ context: RESPRequestContext) -> RequestOptions {
        var options = RequestOptions()
        let bytes = context.memory.bytes
        guard !bytes.isEmpty else { return options }
        var reader = ByteReader(bytes)
        options.session = try? LeaderlessSessionState(decoding: &reader)
        return options
    }

    static func remember(_ session: LeaderlessSessionState?, _ context: RESPRequestContext) {
        guard let session else { return }
        var writer = ByteWriter()
        session.encode(into: &writer)
        context.memory.bytes = writer.bytes
    }

    func assign(_ key: [UInt8], _ value: [UInt8], _ context: RESPRequestContext) async throws(RESPBackendError) {
        try await update(key, .registerAssign(TimestampedBytes(bytes: value, timestamp: service.leaderlessNow())), context)
    }

    /// The string at `key`: the register's last-writer-wins value, else the counter's decimal value.
    func string(_ key: [UInt8], _ context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        if case .register(let register)? = try await read(key, .register, context), let bytes = register.lastWriterWinsValue {
            return bytes
        }
        if case .counter(let counter)? = try await read(key, .counter, context) { return Array(String(counter.value).utf8) }
        return nil
    }

    func set(_ key: [UInt8], _ context: RESPRequestContext) async throws(RESPBackendError) -> Set<[UInt8]> {
        if case .set(let set)? = try await read(key, .set, context) { return set.elements }
        try await refuseOtherKinds(key, than: [.set], context)
        return []
    }

    func hash(_ key: [UInt8], _ context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]: [UInt8]] {
        guard case .map(let map)? = try await read(key, .map, context) else {
            try await refuseOtherKinds(key, than: [.map], context)
            return [:]
        }
        var fields: [[UInt8]: [UInt8]] = [:]
        for field in map.keys where field.kind == .register {
            // Concurrent assignments of one field: the greatest by bytes, so every replica reads the same.
            guard let value = map[field]?.register.values.map(Self.bytes).max(by: { $0.lexicographicallyPrecedes($1) }) else { continue }
            fields[Self.bytes(field.name)] = value
        }
        return fields
    }

    /// The kinds of Redis's types `key` holds, read one after another.
    func kindsHeld(_ key: [UInt8], _ context: RESPRequestContext) async throws(RESPBackendError) -> [ValueKind] {
        var held: [ValueKind] = []
        for kind in Self.redisKinds where try await read(key, kind, context) != nil { held.append(kind) }
        return held
    }

    /// `WRONGTYPE` if `key` holds a kind outside `kinds`.
    func refuseOtherKinds(_ key: [UInt8], than kinds: Set<ValueKind>, _ context: RESPRequestContext) async throws(RESPBackendError) {
        for kind in Self.redisKinds where !kinds.contains(kind) {
            if try await read(key, kind, context) != nil { throw .wrongType }
        }
    }

    static let redisKinds: [ValueKind] = [.register, .counter, .set, .map]

    static func text(_ bytes: [UInt8]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return text
    }

    static func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }

    static func error(_ error: ServiceError) -> RESPBackendError {
        switch error.problem.code {
        case .wrongType: .wrongType
        default: RESPBackendError(error.problem.code, error.problem.message)
        }
    }
}

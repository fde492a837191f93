/// The properties every harness checks, as traps the fuzzer reports.
///
/// A decoder with an encoder must give back what it read: decoding the
/// encoding of a decoded value gives an equal value, and encoding is then a
/// fixed point (the second encoding equals the first). The first encoding
/// may differ from the input bytes, since decoders accept non-minimal varints.
public enum Check {
    /// `decode(encode(value)) == value` and `encode(decode(encode(value))) == encode(value)`.
    public static func roundTrip<Value: Equatable, Failure: Error>(
        _ value: Value, _ what: StaticString,
        encode: (Value) -> [UInt8], decode: ([UInt8]) throws(Failure) -> Value
    ) {
        let encoded = encode(value)
        let again: Value
        do { again = try decode(encoded) } catch {
            preconditionFailure("\(what): the encoding of a decoded value does not decode: \(error)")
        }
        precondition(again == value, "\(what): decode(encode(value)) differs from value")
        precondition(encode(again) == encoded, "\(what): encoding is not a fixed point")
    }

    /// As `roundTrip`, for values compared by their encodings only.
    public static func encodingRoundTrip<Value, Failure: Error>(
        _ value: Value, _ what: StaticString,
        encode: (Value) -> [UInt8], decode: ([UInt8]) throws(Failure) -> Value
    ) {
        let encoded = encode(value)
        let again: Value
        do { again = try decode(encoded) } catch {
            preconditionFailure("\(what): the encoding of a decoded value does not decode: \(error)")
        }
        precondition(encode(again) == encoded, "\(what): encoding is not a fixed point")
    }
}

/// Comparison whose duration does not depend on where two byte strings
/// differ, so a forger cannot learn a signature byte by byte from response
/// times (the timing attack on MAC checks; RFC 2104 §6, and every JWT
/// library's `constant_time_compare`). The length is not secret: a
/// signature has a fixed one.
public enum ConstantTime {
    public static func equals(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

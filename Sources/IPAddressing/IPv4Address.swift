/// A 32-bit IPv4 address (for dual-stack configurations).
public struct IPv4Address: Hashable, Comparable, Sendable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var v: UInt32 = 0
        for b in bytes { v = (v << 8) | UInt32(b) }
        value = v
    }

    public var bytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * (3 - $0))) } }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// Strict dotted quad: four decimal fields 0–255, no leading zeros (as `inet_pton`).
    init?(parsing text: some StringProtocol) {
        var v: UInt32 = 0
        var fields = 0
        var cur: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for c in text.utf8 {
            if c == UInt8(ascii: ".") {
                guard digits > 0, fields < 3 else { return nil }
                v = v << 8 | cur
                fields += 1
                cur = 0; digits = 0; leadingZero = false
            } else if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                if leadingZero { return nil }
                if digits == 0, c == UInt8(ascii: "0") { leadingZero = true }
                cur = cur * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, cur <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, fields == 3 else { return nil }
        self.init(v << 8 | cur)
    }
}

extension IPv4Address: CustomStringConvertible {
    public var description: String { bytes.map(String.init).joined(separator: ".") }
}

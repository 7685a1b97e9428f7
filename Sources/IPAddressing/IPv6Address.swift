/// A 128-bit IPv6 address, stored as one big-endian integer so arithmetic is plain integer arithmetic.
public struct IPv6Address: Hashable, Comparable, Sendable {
    public var value: UInt128

    public init(_ value: UInt128) { self.value = value }

    /// 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var v: UInt128 = 0
        for b in bytes { v = (v << 8) | UInt128(b) }
        value = v
    }

    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: value >> (8 * (15 - $0))) }
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: value >> (16 * (7 - $0))) }
    }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    public static let unspecified = IPv6Address(0)
    public static let loopback = IPv6Address(1)

    /// Parses every RFC 4291 text form: full, `::`-compressed, and with a trailing dotted IPv4.
    /// A zone (`%eth0`) is not an address and is refused. Accepts exactly what glibc
    /// `inet_pton(AF_INET6)` accepts (up to 4 hex digits a group, `::` for at least one group,
    /// a strict dotted quad only as the last 32 bits); the whole string is parsed, so text
    /// with an embedded NUL is refused where C would stop at the NUL.
    init?(parsing text: some StringProtocol) {
        let s = Array(text.utf8)
        guard s.count >= 2, s.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var gapAt: Int? = nil
        var i = 0
        if s.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            gapAt = 0
            i = 2
            if i == s.count { self.init(0); return }
        } else if s[0] == UInt8(ascii: ":") {
            return nil
        }
        while i < s.count {
            // Find the end of this field.
            var j = i
            while j < s.count, s[j] != UInt8(ascii: ":") { j += 1 }
            let field = s[i..<j]
            if field.isEmpty { return nil }
            if field.contains(UInt8(ascii: ".")) {
                // Embedded IPv4 must be the last field.
                guard j == s.count, let v4 = IPv4Address(parsing: String(decoding: field, as: UTF8.self)) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: v4.value >> 16))
                groups.append(UInt16(truncatingIfNeeded: v4.value))
                i = j
                break
            }
            guard field.count <= 4 else { return nil }
            var g: UInt16 = 0
            for c in field {
                guard let d = hexValue(c) else { return nil }
                g = g << 4 | UInt16(d)
            }
            groups.append(g)
            if j == s.count { i = j; break }
            // j is at ':'
            if j + 1 < s.count, s[j + 1] == UInt8(ascii: ":") {
                guard gapAt == nil else { return nil }
                gapAt = groups.count
                i = j + 2
            } else {
                guard j + 1 < s.count else { return nil }  // trailing single ':'
                i = j + 1
            }
        }
        if let gap = gapAt {
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: Array(repeating: 0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var v: UInt128 = 0
        for g in groups { v = v << 16 | UInt128(g) }
        self.init(v)
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension IPv6Address: CustomStringConvertible {
    /// RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`
    /// (the first on a tie), and a dotted IPv4 tail only for IPv4-mapped addresses
    /// (`::ffff:0:0/96`, RFC 5952 §5), e.g. `::ffff:192.0.2.1`.
    ///
    /// This agrees with glibc `inet_ntop(AF_INET6)` except for one case: glibc also prints the
    /// deprecated IPv4-compatible form (groups 0–5 zero, group 6 non-zero) with a dotted tail,
    /// so `::1:2` comes out as `::0.1.0.2`. IPv4-compatible addresses are deprecated
    /// (RFC 4291 §2.5.5.1) and `::/96` cannot be told apart from ordinary small addresses,
    /// so here they follow the plain RFC 5952 §4 rules: `::1:2`, `::102:304`.
    /// NAT64 (`64:ff9b::/96`) and IPv4-translated (`::ffff:0:0:0/96`) addresses are printed in
    /// hex, like glibc.
    public var description: String {
        let g = groups
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: value)).description
        }
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for (i, x) in g.enumerated() {
            if x == 0 {
                if curStart < 0 { curStart = i; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestStart = curStart; bestLen = curLen }
            } else {
                curStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLen
                continue
            }
            if !out.isEmpty, !out.hasSuffix(":") { out += ":" }
            out += String(g[i], radix: 16)
            i += 1
        }
        return out
    }
}

extension IPv6Address {
    public var isULA: Bool { value >> 121 == 0x7e }                 // fc00::/7
    public var isGlobalUnicast: Bool { value >> 125 == 1 }         // 2000::/3
    public var isLinkLocal: Bool { value >> 118 == 0x3fa }         // fe80::/10
    public var isMulticast: Bool { value >> 120 == 0xff }          // ff00::/8
    public var isLoopback: Bool { value == 1 }
    public var isUnspecified: Bool { value == 0 }
    /// The solicited-node multicast group (RFC 4291 §2.7.1), ff02::1:ffXX:XXXX with this address's
    /// low 24 bits: where neighbour discovery asks for this address.
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address((0xff02 << 112) | (0x1_ff00_0000 as UInt128) | (value & 0xff_ffff))
    }

    /// `::ffff:a.b.c.d` (`::ffff:0:0/96`, RFC 4291 §2.5.5.2).
    public var isIPv4Mapped: Bool { value >> 32 == 0xffff }

    /// The embedded IPv4 address of an IPv4-mapped address, else nil.
    public var ipv4Mapped: IPv4Address? {
        isIPv4Mapped ? IPv4Address(UInt32(truncatingIfNeeded: value)) : nil
    }

    /// `::ffff:a.b.c.d` for `v4`.
    public init(ipv4Mapped v4: IPv4Address) {
        self.init(UInt128(0xffff) << 32 | UInt128(v4.value))
    }
}

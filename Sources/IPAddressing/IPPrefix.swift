/// An address with a prefix length, e.g. `fd42::5/64`. The address may carry host bits
/// (an interface address); `network` drops them (a subnet).
public struct IPPrefix: Hashable, Sendable {
    public var address: IPAddress
    public var length: Int

    public init?(address: IPAddress, length: Int) {
        guard length >= 0, length <= address.bitWidth else { return nil }
        self.address = address
        self.length = length
    }

    /// The prefix `address/length` with the host bits of `address` cleared, e.g.
    /// `(fd42::5, 64)` → `fd42::/64`. Nil when `length` is outside 0…bitWidth.
    public init?(network address: IPAddress, length: Int) {
        guard let p = IPPrefix(address: address, length: length) else { return nil }
        self = p.network
    }

    /// `addr/len`; without `/len` only when `defaultFullLength` (then /128 or /32).
    init?(parsing text: some StringProtocol, defaultFullLength: Bool) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let a = IPAddress(parsing: parts[0]) else { return nil }
        if parts.count == 1 {
            guard defaultFullLength else { return nil }
            self.init(address: a, length: a.bitWidth)
            return
        }
        let lenText = parts[1]
        guard !lenText.isEmpty, lenText.count <= 3, lenText.allSatisfy(\.isASCIIDigit),
              !(lenText.count > 1 && lenText.first == "0"),
              let len = Int(lenText) else { return nil }
        self.init(address: a, length: len)
    }

    public var family: IPAddress.Family { address.family }

    var hostMask: UInt128 {
        let width = address.bitWidth
        // `length` is a public var, so it can be set out of range after init: clamp it
        // (< 0 acts as 0, > width as width) rather than trap in the shift below.
        let hostBits = min(max(width - length, 0), width)
        if hostBits == 0 { return 0 }
        if hostBits >= 128 { return UInt128.max }
        return (UInt128(1) << hostBits) - 1
    }

    /// The first address of the prefix.
    public var networkAddress: IPAddress {
        IPAddress(family: family, integer: address.integer & ~hostMask)
    }

    /// The last address of the prefix.
    public var lastAddress: IPAddress {
        IPAddress(family: family, integer: address.integer | hostMask)
    }

    /// This prefix with its host bits cleared.
    public var network: IPPrefix {
        var p = self
        p.address = networkAddress
        return p
    }

    public var hasHostBits: Bool { address.integer & hostMask != 0 }

    /// Number of addresses in the prefix minus one (fits even for ::/0).
    public var hostMaskValue: UInt128 { hostMask }

    /// Number of addresses in the prefix, or nil for ::/0 (2^128 does not fit UInt128).
    public var addressCount: UInt128? {
        let m = hostMask
        return m == .max ? nil : m + 1
    }

    public func contains(_ a: IPAddress) -> Bool {
        a.family == family && (a.integer & ~hostMask) == networkAddress.integer
    }

    public func contains(_ p: IPPrefix) -> Bool {
        p.family == family && p.length >= length && contains(p.address)
    }

    public func overlaps(_ p: IPPrefix) -> Bool {
        guard p.family == family else { return false }
        return contains(p.networkAddress) || p.contains(networkAddress)
    }

    public static let ula = IPPrefix("fc00::/7")!
    public static let multicastV6 = IPPrefix("ff00::/8")!
    public static let linkLocalV6 = IPPrefix("fe80::/10")!
    public static let globalUnicastV6 = IPPrefix("2000::/3")!
}

extension IPPrefix: CustomStringConvertible {
    public var description: String { "\(address)/\(length)" }
}

extension IPPrefix: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let p = IPPrefix(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid CIDR \"\(s)\"")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 48 && $0 <= 57 } ?? false }
}

/// An address of either family. IPv6 first: that is what this project is for.
public enum IPAddress: Hashable, Comparable, Sendable {
    case v6(IPv6Address)
    case v4(IPv4Address)

    public enum Family: Sendable, Equatable { case v4, v6 }

    init?(parsing text: some StringProtocol) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let a = IPv6Address(parsing: text) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(parsing: text) else { return nil }
            self = .v4(a)
        }
    }

    public var family: Family {
        switch self { case .v4: .v4; case .v6: .v6 }
    }

    /// Number of bits in an address of this family.
    public var bitWidth: Int { family == .v6 ? 128 : 32 }

    /// The address as an unsigned 128-bit integer (IPv4 in the low 32 bits).
    public var integer: UInt128 {
        switch self {
        case .v6(let a): a.value
        case .v4(let a): UInt128(a.value)
        }
    }

    /// Builds an address of `family` from an integer, which must fit the family's width.
    public init(family: Family, integer: UInt128) {
        switch family {
        case .v6: self = .v6(IPv6Address(integer))
        case .v4: self = .v4(IPv4Address(UInt32(truncatingIfNeeded: integer)))
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v6(let a): a.bytes
        case .v4(let a): a.bytes
        }
    }

    public init?(bytes: [UInt8]) {
        if let a = IPv6Address(bytes: bytes) { self = .v6(a) }
        else if let a = IPv4Address(bytes: bytes) { self = .v4(a) }
        else { return nil }
    }

    var maxInteger: UInt128 { family == .v6 ? UInt128.max : UInt128(UInt32.max) }

    /// `self + n`, or nil when it leaves the family's address space.
    public func adding(_ n: UInt128) -> IPAddress? {
        let (r, o) = integer.addingReportingOverflow(n)
        guard !o, r <= maxInteger else { return nil }
        return IPAddress(family: family, integer: r)
    }

    /// `self - n`, or nil below zero.
    public func subtracting(_ n: UInt128) -> IPAddress? {
        guard integer >= n else { return nil }
        return IPAddress(family: family, integer: integer - n)
    }

    public var next: IPAddress? { adding(1) }
    public var previous: IPAddress? { subtracting(1) }

    public static func < (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): x < y
        case (.v6(let x), .v6(let y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }

    public var isULA: Bool { if case .v6(let a) = self { a.isULA } else { false } }
    public var isGlobalUnicastV6: Bool { if case .v6(let a) = self { a.isGlobalUnicast } else { false } }
    public var isLinkLocal: Bool {
        switch self {
        case .v6(let a): a.isLinkLocal
        case .v4(let a): a.value >> 16 == 0xa9fe  // 169.254/16
        }
    }
    public var isMulticast: Bool {
        switch self {
        case .v6(let a): a.isMulticast
        case .v4(let a): a.value >> 28 == 0xe
        }
    }
    /// `::` or `0.0.0.0`.
    public var isUnspecified: Bool { integer == 0 }
    public var isLoopback: Bool {
        switch self {
        case .v6(let a): a.isLoopback
        case .v4(let a): a.value >> 24 == 127
        }
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        switch self {
        case .v6(let a): a.description
        case .v4(let a): a.description
        }
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid IP address \"\(s)\"")
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

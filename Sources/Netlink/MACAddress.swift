/// A 48-bit Ethernet address; `description` is lower-case `aa:bb:cc:dd:ee:ff`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators, either case).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6, text.count == 17 else { return nil }
        var b: [UInt8] = []
        for p in parts {
            guard p.count == 2, let v = UInt8(p, radix: 16) else { return nil }
            b.append(v)
        }
        bytes = b
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// Locally administered unicast (bit 1 of the first byte set, bit 0 clear).
    public var isLocallyAdministeredUnicast: Bool { bytes[0] & 0x03 == 0x02 }
}

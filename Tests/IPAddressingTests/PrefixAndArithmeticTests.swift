import Foundation
import Testing
@testable import IPAddressing

private func ip(_ s: String) -> IPAddress { IPAddress(s)! }
private func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }

@Suite("IPPrefix")
struct IPPrefixTests {
    @Test("valid prefix text", arguments: [
        ("2001:db8:1::/64", "2001:db8:1::", 64),
        ("fd42::5/64", "fd42::5", 64),          // an interface address keeps its host bits
        ("::/0", "::", 0),
        ("::1/128", "::1", 128),
        ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0", 104),
        ("2001:DB8::/32", "2001:db8::", 32),
        ("10.0.0.0/8", "10.0.0.0", 8),
        ("0.0.0.0/0", "0.0.0.0", 0),
        ("1.2.3.4/32", "1.2.3.4", 32),
    ])
    func valid(_ text: String, _ addr: String, _ len: Int) throws {
        let p = try #require(IPPrefix(text))
        #expect(p.address == ip(addr))
        #expect(p.length == len)
        #expect(p.description == "\(addr)/\(len)")
        #expect(IPPrefix(p.description) == p)
    }

    @Test("invalid prefix text", arguments: [
        "", "/", "/64", "::", "::/", "10.0.0.0", "10.0.0.0/", "2001:db8::/129", "::/1000",
        "10.0.0.0/33", "::/-1", "::/+1", "::/01", "::/00", "1.2.3.4/08", "::/ 64", "::/64 ",
        " ::/64", "::/64/1", "::/6 4", "::/0x10", "::/1e2", "::/٣", "::/６４", "2001:db8::1 /64",
        "10.0.0.256/8", "10.0.0/8", "fe80::1%eth0/64", "::/18446744073709551680",
    ])
    func invalid(_ text: String) {
        #expect(IPPrefix(text) == nil)
        #expect(IPPrefix(text, defaultFullLength: true) == nil || !text.contains("/"))
    }

    @Test("a bare address needs defaultFullLength")
    func defaultFullLength() {
        #expect(IPPrefix("fd42::1") == nil)
        #expect(IPPrefix("fd42::1", defaultFullLength: true) == IPPrefix("fd42::1/128"))
        #expect(IPPrefix("10.1.2.3", defaultFullLength: true) == IPPrefix("10.1.2.3/32"))
        #expect(IPPrefix("fd42::/48", defaultFullLength: true)?.length == 48)
        #expect(IPPrefix("bogus", defaultFullLength: true) == nil)
    }

    @Test("init(address:length:) and init(network:length:) range checks")
    func initializers() {
        #expect(IPPrefix(address: ip("::"), length: 129) == nil)
        #expect(IPPrefix(address: ip("::"), length: -1) == nil)
        #expect(IPPrefix(address: ip("1.2.3.4"), length: 33) == nil)
        #expect(IPPrefix(address: ip("1.2.3.4"), length: 32) != nil)
        let n = IPPrefix(network: ip("fd42:1:2:3:4:5:6:7"), length: 64)
        #expect(n == pfx("fd42:1:2:3::/64"))
        #expect(n?.hasHostBits == false)
        #expect(IPPrefix(network: ip("10.9.8.7"), length: 12) == pfx("10.0.0.0/12"))
        #expect(IPPrefix(network: ip("::1"), length: 129) == nil)
        #expect(IPPrefix(network: ip("::1"), length: -1) == nil)
    }

    @Test("network and last address")
    func networkAndLast() {
        let p = pfx("2001:db8:1::/64")
        #expect(p.networkAddress == ip("2001:db8:1::"))
        #expect(p.lastAddress == ip("2001:db8:1::ffff:ffff:ffff:ffff"))
        #expect(p.lastAddress.description == "2001:db8:1:0:ffff:ffff:ffff:ffff")
        let h = pfx("fd42::5/64")
        #expect(h.network == pfx("fd42::/64"))
        #expect(h.networkAddress == ip("fd42::"))
        #expect(h.lastAddress == ip("fd42::ffff:ffff:ffff:ffff"))
        #expect(pfx("::/0").networkAddress == ip("::"))
        #expect(pfx("::/0").lastAddress == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        #expect(pfx("fd42::7/128").network == pfx("fd42::7/128"))
        #expect(pfx("fd42::7/128").lastAddress == ip("fd42::7"))
        #expect(pfx("fd42:abcd::/17").networkAddress == ip("fd42:8000::"))
        #expect(pfx("fd42:abcd::/17").lastAddress == ip("fd42:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        #expect(pfx("10.1.2.3/8").networkAddress == ip("10.0.0.0"))
        #expect(pfx("10.1.2.3/8").lastAddress == ip("10.255.255.255"))
        #expect(pfx("10.1.2.3/0").lastAddress == ip("255.255.255.255"))
        #expect(pfx("10.1.2.3/32").lastAddress == ip("10.1.2.3"))
        #expect(pfx("192.168.1.77/26").network == pfx("192.168.1.64/26"))
    }

    @Test("hasHostBits, hostMaskValue and addressCount")
    func hostBits() {
        #expect(pfx("fd42::5/64").hasHostBits)
        #expect(!pfx("fd42::/64").hasHostBits)
        #expect(!pfx("::/0").hasHostBits)
        #expect(pfx("::1/0").hasHostBits)
        #expect(!pfx("::1/128").hasHostBits)
        #expect(pfx("10.0.0.1/8").hasHostBits)
        #expect(!pfx("10.0.0.0/8").hasHostBits)
        #expect(pfx("fd42::/64").hostMaskValue == UInt128(UInt64.max))
        #expect(pfx("fd42::/64").addressCount == UInt128(1) << 64)
        #expect(pfx("::/0").hostMaskValue == .max)
        #expect(pfx("::/0").addressCount == nil)
        #expect(pfx("::/1").addressCount == UInt128(1) << 127)
        #expect(pfx("::1/128").addressCount == 1)
        #expect(pfx("10.0.0.0/24").addressCount == 256)
        #expect(pfx("0.0.0.0/0").addressCount == UInt128(1) << 32)
        #expect(pfx("0.0.0.0/0").hostMaskValue == UInt128(UInt32.max))
    }

    @Test("an out-of-range length set through the public var is clamped, not a trap")
    func outOfRangeLengthVar() {
        var p = pfx("fd42::5/64")
        p.length = 200
        #expect(p.networkAddress == ip("fd42::5"))
        #expect(p.network.address == ip("fd42::5"))
        p.length = -3
        #expect(p.networkAddress == ip("::"))
        var q = pfx("10.1.2.3/8")
        q.length = -1
        #expect(q.lastAddress == ip("255.255.255.255"))
    }

    @Test("contains an address")
    func containsAddress() {
        #expect(pfx("fd42::/16").contains(ip("fd42:1::5")))
        #expect(pfx("fd42::/16").contains(ip("fd42::")))
        #expect(pfx("fd42::/16").contains(ip("fd42:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(!pfx("fd42::/16").contains(ip("fd43::")))
        #expect(!pfx("fd42::/16").contains(ip("fd41:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(pfx("fd42::5/64").contains(ip("fd42::9")))  // host bits of the prefix ignored
        #expect(pfx("::/0").contains(ip("::")))
        #expect(pfx("::/0").contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(pfx("::1/128").contains(ip("::1")))
        #expect(!pfx("::1/128").contains(ip("::2")))
        #expect(pfx("10.0.0.0/8").contains(ip("10.255.0.1")))
        #expect(!pfx("10.0.0.0/8").contains(ip("11.0.0.0")))
        // Families never mix, not even through IPv4-mapped addresses.
        #expect(!pfx("::/0").contains(ip("1.2.3.4")))
        #expect(!pfx("0.0.0.0/0").contains(ip("::ffff:1.2.3.4")))
        #expect(!pfx("0.0.0.0/0").contains(ip("::")))
    }

    @Test("contains and overlaps a prefix")
    func containsAndOverlapsPrefix() {
        let a = pfx("2001:db8:1::/48"), b = pfx("2001:db8:1:2::/64")
        #expect(a.contains(b))
        #expect(!b.contains(a))
        #expect(a.overlaps(b))
        #expect(b.overlaps(a))
        #expect(a.contains(a))
        #expect(a.overlaps(a))
        #expect(!a.overlaps(pfx("2001:db8:2::/48")))
        #expect(!a.contains(pfx("2001:db8::/32")))
        #expect(a.overlaps(pfx("2001:db8::/32")))
        #expect(pfx("::/0").contains(a))
        #expect(pfx("::/0").overlaps(pfx("ff02::1/128")))
        #expect(pfx("fd42::5/64").overlaps(pfx("fd42::/64")))
        #expect(pfx("fd42::5/64").contains(pfx("fd42::/64")))
        #expect(!pfx("fd42::/64").overlaps(pfx("fd42:0:0:1::/64")))
        #expect(pfx("10.0.0.0/8").overlaps(pfx("10.1.0.0/16")))
        #expect(!pfx("10.0.0.0/8").overlaps(pfx("11.0.0.0/8")))
        #expect(!pfx("::/0").overlaps(pfx("0.0.0.0/0")))
        #expect(!pfx("0.0.0.0/0").contains(pfx("::/0")))
    }

    @Test("prefix operations agree with an interval model on random prefixes")
    func intervalModel() {
        var r = makeRNG("prefix-interval")
        var bad = Mismatches(test: "prefix-interval")
        func randomPrefix() -> IPPrefix {
            if r.chance(0.2) {
                let a = IPAddress.v4(IPv4Address(randomV4Value(&r)))
                return IPPrefix(address: a, length: Int.random(in: 0...32, using: &r))!
            }
            // Addresses near each other so that containment and overlap both happen often.
            let base = randomV6(&r).value & ~(UInt128.max >> Int.random(in: 0...8, using: &r))
            let a = IPAddress.v6(IPv6Address(base | UInt128(UInt64.random(in: 0...UInt64.max, using: &r)) >> Int.random(in: 0...64, using: &r)))
            return IPPrefix(address: a, length: r.pick([0, 1, 7, 8, 64, 127, 128, Int.random(in: 0...128, using: &r)]))!
        }
        var overlapsSeen = 0
        for _ in 0..<4_000 {
            let p = randomPrefix(), q = randomPrefix()
            let width = p.address.bitWidth
            // Model: the closed interval [lo, hi] of integers with the top `length` bits of `address`.
            let hostBits = width - p.length
            let hostMask: UInt128 = hostBits == 128 ? .max : (UInt128(1) << hostBits) - 1
            let lo = (p.address.integer >> hostBits) << hostBits  // smart shifts: by 128 gives 0
            let hi = lo | hostMask
            if p.networkAddress.integer != lo || p.lastAddress.integer != hi { bad.add("bounds \(p)") }
            if p.hasHostBits != (p.address.integer != lo) { bad.add("hasHostBits \(p)") }
            if p.network.networkAddress != p.networkAddress || p.network.hasHostBits { bad.add("network \(p)") }
            if !p.contains(p.networkAddress) || !p.contains(p.lastAddress) || !p.contains(p.address) { bad.add("self \(p)") }
            if let n = p.lastAddress.next, p.contains(n) { bad.add("past last \(p)") }
            if let n = p.networkAddress.previous, p.contains(n) { bad.add("before first \(p)") }
            // Random address inside and near.
            let probe = IPAddress(family: p.family, integer: lo &+ (UInt128(UInt64.random(in: 0...UInt64.max, using: &r)) & hostMask))
            if !p.contains(probe) { bad.add("probe \(probe) in \(p)") }
            // Pairwise against the model.
            if p.family == q.family {
                let qlo = q.networkAddress.integer, qhi = q.lastAddress.integer
                let overlap = lo <= qhi && qlo <= hi
                let inside = lo <= qlo && qhi <= hi
                if overlap { overlapsSeen += 1 }
                if p.overlaps(q) != overlap || q.overlaps(p) != overlap { bad.add("overlaps \(p) \(q)") }
                if p.contains(q) != inside { bad.add("contains \(p) \(q)") }
                if p.contains(q.address) != (lo <= q.address.integer && q.address.integer <= hi) {
                    bad.add("contains addr \(p) \(q.address)")
                }
            } else if p.overlaps(q) || p.contains(q) || p.contains(q.address) {
                bad.add("cross-family \(p) \(q)")
            }
            // Text and JSON-free round trip.
            if IPPrefix(p.description) != p { bad.add("text round trip \(p)") }
        }
        bad.report()
        #expect(overlapsSeen > 300)
    }

    @Test("Codable as a JSON string")
    func codable() throws {
        struct Doc: Codable, Equatable { var subnet: IPPrefix; var gateway: IPAddress; var ranges: [IPPrefix] }
        let doc = Doc(subnet: pfx("fd42:1::/64"), gateway: ip("fd42:1::1"),
                      ranges: [pfx("10.0.0.0/8"), pfx("::/0"), pfx("fd42::5/64")])
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try enc.encode(doc), as: UTF8.self)
        #expect(json == #"{"gateway":"fd42:1::1","ranges":["10.0.0.0/8","::/0","fd42::5/64"],"subnet":"fd42:1::/64"}"#)
        #expect(try JSONDecoder().decode(Doc.self, from: Data(json.utf8)) == doc)
        // Escaped slashes (the JSONEncoder default) decode too.
        #expect(try JSONDecoder().decode([IPPrefix].self, from: Data(#"["2001:db8::\/32"]"#.utf8)) == [pfx("2001:db8::/32")])
        // Canonical text on output, whatever the input form.
        let round = try JSONEncoder().encode(try JSONDecoder().decode([IPAddress].self, from: Data(#"["2001:0DB8:0:0::1", "::ffff:c000:201"]"#.utf8)))
        #expect(String(decoding: round, as: UTF8.self) == #"["2001:db8::1","::ffff:192.0.2.1"]"#)
    }

    @Test("Codable rejects bad values", arguments: [
        #"["fd42::"]"#, #"["fd42::/129"]"#, #"["fd42::/064"]"#, #"[64]"#, #"[null]"#, #"["10.0.0.0/33"]"#,
    ])
    func codableRejects(_ json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPPrefix].self, from: Data(json.utf8)) }
    }

    @Test("IPAddress Codable rejects bad values")
    func addressCodableRejects() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPAddress].self, from: Data(#"["fd42::/64"]"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPAddress].self, from: Data(#"["1.2.3.04"]"#.utf8)) }
    }

    @Test("well-known prefixes")
    func wellKnown() {
        #expect(IPPrefix.ula == pfx("fc00::/7"))
        #expect(IPPrefix.multicastV6.description == "ff00::/8")
        #expect(IPPrefix.linkLocalV6.description == "fe80::/10")
        #expect(IPPrefix.globalUnicastV6.description == "2000::/3")
    }
}

@Suite("Address arithmetic")
struct ArithmeticTests {
    static let max6 = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")

    @Test("IPv6 edges")
    func v6() {
        #expect(ip("::ffff:ffff:ffff:ffff").next == ip("0:0:0:1::"))
        #expect(ip("2001:db8::ffff").next == ip("2001:db8::1:0"))
        #expect(ip("2001:db8::1:0").previous == ip("2001:db8::ffff"))
        #expect(Self.max6.next == nil)
        #expect(Self.max6.adding(0) == Self.max6)
        #expect(Self.max6.previous == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"))
        #expect(ip("::").previous == nil)
        #expect(ip("::").subtracting(0) == ip("::"))
        #expect(ip("::1").previous == ip("::"))
        #expect(ip("::").adding(.max) == Self.max6)
        #expect(ip("::1").adding(.max) == nil)
        #expect(Self.max6.subtracting(.max) == ip("::"))
        #expect(ip("::fffe").subtracting(.max) == nil)
        #expect(ip("fd42::").adding(UInt128(1) << 64) == ip("fd42:0:0:1::"))
        #expect(ip("fd42::5").subtracting(6) == ip("fd41:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
    }

    @Test("IPv4 stays within 32 bits")
    func v4() {
        #expect(ip("255.255.255.255").next == nil)
        #expect(ip("255.255.255.254").next == ip("255.255.255.255"))
        #expect(ip("10.0.0.255").next == ip("10.0.1.0"))
        #expect(ip("10.0.1.0").previous == ip("10.0.0.255"))
        #expect(ip("0.0.0.0").previous == nil)
        #expect(ip("1.2.3.4").adding(UInt128(1) << 32) == nil)
        #expect(ip("0.0.0.0").adding(UInt128(UInt32.max)) == ip("255.255.255.255"))
        #expect(ip("0.0.0.1").adding(UInt128(UInt32.max)) == nil)
        #expect(ip("1.2.3.4").adding(.max) == nil)
        #expect(ip("1.2.3.4").subtracting(UInt128(1) << 32) == nil)
        #expect(ip("1.2.3.4").subtracting(0x0102_0304) == ip("0.0.0.0"))
        #expect(ip("1.2.3.4").next?.family == .v4)
    }

    @Test("adding/subtracting agree with a wide model on random values")
    func randomModel() {
        var r = makeRNG("arith")
        var bad = Mismatches(test: "arith")
        for _ in 0..<5_000 {
            let v4 = r.chance(0.3)
            let a: IPAddress = v4 ? .v4(IPv4Address(randomV4Value(&r))) : .v6(randomV6(&r))
            let max: UInt128 = v4 ? UInt128(UInt32.max) : .max
            let n: UInt128 = switch Int.random(in: 0..<4, using: &r) {
            case 0: UInt128(Int.random(in: 0...3, using: &r))
            case 1: max &- a.integer &+ UInt128(Int.random(in: 0...2, using: &r)) &- 1  // around the top
            case 2: a.integer &+ UInt128(Int.random(in: 0...2, using: &r)) &- 1          // around zero
            default: UInt128(UInt64.random(in: 0...UInt64.max, using: &r)) << Int.random(in: 0...64, using: &r)
            }
            let sum = a.adding(n), diff = a.subtracting(n)
            let fits = n <= max - a.integer
            if (sum != nil) != fits || (fits && sum?.integer != a.integer + n) || sum.map({ $0.family != a.family }) == true {
                bad.add("\(a) + \(n) = \(String(describing: sum))")
            }
            if (diff != nil) != (n <= a.integer) || (diff != nil && diff?.integer != a.integer - n) || diff.map({ $0.family != a.family }) == true {
                bad.add("\(a) - \(n) = \(String(describing: diff))")
            }
            if let s = sum, s.subtracting(n) != a { bad.add("(\(a) + \(n)) - \(n)") }
            if let p = a.previous, p.next != a { bad.add("previous/next \(a)") }
            if let s = a.next, !(a < s) { bad.add("order \(a)") }
        }
        bad.report()
    }

    @Test("ordering and family")
    func ordering() {
        #expect(ip("0.0.0.0") < ip("::"))          // all IPv4 sort before all IPv6
        #expect(ip("255.255.255.255") < ip("::"))
        #expect(ip("::1") < ip("::2"))
        #expect(ip("::ffff") < ip("1::"))
        #expect(ip("1.2.3.4") < ip("1.2.3.5"))
        #expect(ip("9.0.0.0") < ip("10.0.0.0"))    // numeric, not textual
        #expect(ip("1.2.3.4").family == .v4 && ip("1.2.3.4").bitWidth == 32)
        #expect(ip("::ffff:1.2.3.4").family == .v6 && ip("::ffff:1.2.3.4").bitWidth == 128)
        #expect(IPAddress(bytes: [1, 2, 3, 4]) == ip("1.2.3.4"))
        #expect(IPAddress(bytes: ip("fd42::1").bytes) == ip("fd42::1"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(family: .v4, integer: 0x0a00_0001) == ip("10.0.0.1"))
        #expect(IPAddress(family: .v6, integer: 1) == ip("::1"))
    }
}

@Suite("Classification")
struct ClassificationTests {
    @Test("IPv6 ranges and their boundaries")
    func v6() {
        let a = { (s: String) in IPv6Address(s)! }
        #expect(a("fc00::").isULA && a("fd42::1").isULA && a("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isULA)
        #expect(!a("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isULA && !a("fe00::").isULA)
        #expect(a("2000::").isGlobalUnicast && a("2001:db8::1").isGlobalUnicast)
        #expect(a("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isGlobalUnicast)
        #expect(!a("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isGlobalUnicast && !a("4000::").isGlobalUnicast)
        #expect(!a("fd42::1").isGlobalUnicast && !a("::1").isGlobalUnicast)
        #expect(a("fe80::1").isLinkLocal && a("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isLinkLocal)
        #expect(!a("fec0::").isLinkLocal && !a("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isLinkLocal)
        #expect(a("ff00::").isMulticast && a("ff02::1").isMulticast && a("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isMulticast)
        #expect(!a("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").isMulticast)
        #expect(a("::1").isLoopback && !a("::").isLoopback && !a("::2").isLoopback && !a("1::1").isLoopback)
        #expect(!a("::ffff:127.0.0.1").isLoopback)
        #expect(a("::").isUnspecified && !a("::1").isUnspecified)
    }

    @Test("IPAddress forwards per family")
    func forwarding() {
        #expect(ip("fd42::1").isULA && !ip("10.0.0.1").isULA)
        #expect(ip("2001:db8::1").isGlobalUnicastV6 && !ip("8.8.8.8").isGlobalUnicastV6)
        #expect(ip("fe80::1").isLinkLocal && ip("169.254.0.1").isLinkLocal)
        #expect(!ip("169.253.255.255").isLinkLocal && !ip("169.255.0.0").isLinkLocal)
        #expect(ip("ff02::1").isMulticast && ip("224.0.0.1").isMulticast && ip("239.255.255.255").isMulticast)
        #expect(!ip("223.255.255.255").isMulticast && !ip("240.0.0.0").isMulticast)
        #expect(ip("::1").isLoopback && ip("127.0.0.1").isLoopback && ip("127.255.255.255").isLoopback)
        #expect(!ip("128.0.0.0").isLoopback && !ip("126.255.255.255").isLoopback)
        #expect(ip("::").isUnspecified && ip("0.0.0.0").isUnspecified && !ip("0.0.0.1").isUnspecified)
    }

    @Test("classifiers agree with the well-known prefixes on random addresses")
    func againstPrefixes() {
        var r = makeRNG("classify")
        var bad = Mismatches(test: "classify")
        for _ in 0..<5_000 {
            var a = randomV6(&r)
            if r.chance(0.5) {  // push the top byte into the interesting region
                a.value = a.value & (UInt128.max >> 8) | UInt128(r.pick([0x1f, 0x20, 0x3f, 0x40, 0xfb, 0xfc, 0xfd, 0xfe, 0xff] as [UInt8])) << 120
            }
            let x = IPAddress.v6(a)
            if a.isULA != IPPrefix.ula.contains(x) { bad.add("ULA \(a)") }
            if a.isGlobalUnicast != IPPrefix.globalUnicastV6.contains(x) { bad.add("GUA \(a)") }
            if a.isLinkLocal != IPPrefix.linkLocalV6.contains(x) { bad.add("LL \(a)") }
            if a.isMulticast != IPPrefix.multicastV6.contains(x) { bad.add("MC \(a)") }
            if a.isLoopback != (a.description == "::1") { bad.add("loopback \(a)") }
            if a.isUnspecified != (a.description == "::") { bad.add("unspecified \(a)") }
        }
        bad.report()
    }
}

@Suite("IPv6 solicited-node multicast")
struct SolicitedNodeTests {
    @Test("ff02::1:ff plus the low 24 bits (RFC 4291 §2.7.1)", arguments: [
        ("fd42:e:4::4", "ff02::1:ff00:4"),
        ("fe80::582c:9aff:fe18:8010", "ff02::1:ff18:8010"),
        ("2001:db8::ab:cdef:1234", "ff02::1:ffef:1234"),
        ("::", "ff02::1:ff00:0"),
    ])
    func group(_ address: String, _ expected: String) throws {
        let a = try #require(IPv6Address(address))
        #expect(a.solicitedNodeMulticast.description == expected)
    }
}

import Testing
@testable import IPAddressing

@Suite("IPv6 hand-picked text")
struct IPv6EdgeCaseTests {
    /// Valid RFC 4291 forms → RFC 5952 canonical text.
    @Test("parse → canonical", arguments: [
        // RFC 4291 §2.2 forms
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0000:0000:0000:0000:0000:0000:0000:0001", "::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:Db8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("FF01:0:0:0:0:0:0:101", "ff01::101"),
        ("0001:02:003:0004::", "1:2:3:4::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),     // `::` for one group is accepted …
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),     // … but never printed (RFC 5952 §4.2.2)
        ("1:2:3:4::5:6:7", "1:2:3:4:0:5:6:7"),
        ("fe80::1", "fe80::1"),
        ("ff02::1:ff00:1", "ff02::1:ff00:1"),
        // RFC 5952 §4 examples and rules
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),   // tie: first run wins (§4.2.3)
        ("2001:0db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // single zero group stays (§4.2.2)
        ("2001:db8:0000:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),         // longest run wins (§4.2.3)
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("0:0:1:0:0:0:0:0", "0:0:1::"),
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
        ("1:0:0:1:0:0:1:1", "1::1:0:0:1:1"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        // Embedded IPv4: mapped prints dotted (§5) …
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::FFFF:1.2.3.4", "::ffff:1.2.3.4"),
        ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
        ("::ffff:0:0", "::ffff:0.0.0.0"),
        ("::ffff:255.255.255.255", "::ffff:255.255.255.255"),
        // … every other embedding prints hex.
        ("64:ff9b::192.0.2.1", "64:ff9b::c000:201"),
        ("64:ff9b::0.0.0.0", "64:ff9b::"),
        ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),         // IPv4-translated (RFC 2765)
        ("fe80::5efe:10.0.0.1", "fe80::5efe:a00:1"),      // ISATAP
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("1:2:3:4:5::1.2.3.4", "1:2:3:4:5:0:102:304"),
        ("::fffe:1.2.3.4", "::fffe:102:304"),
        ("::1:ffff:1.2.3.4", "::1:ffff:102:304"),
        ("::0.0.0.1", "::1"),
        ("::0.0.0.0", "::"),
        // IPv4-compatible (deprecated): glibc prints ::a.b.c.d, RFC 5952 §4 gives hex.
        ("::1.2.3.4", "::102:304"),
        ("::1:0", "::1:0"),          // glibc: ::0.1.0.0
        ("::1:2", "::1:2"),          // glibc: ::0.1.0.2
        ("::255.255.255.255", "::ffff:ffff"),
        ("::ffff", "::ffff"),        // only group 7: a ::/112 address, glibc agrees
    ])
    func canonical(_ text: String, _ canonical: String) throws {
        let a = try #require(IPv6Address(text))
        #expect(a.description == canonical)
        #expect(libcPton6(text) == a.bytes, "oracle disagrees")
        #expect(IPv6Address(canonical) == a)
        #expect(rfc5952Expected(a) == canonical, "glibc (with the documented fix-up) disagrees")
    }

    @Test("glibc's IPv4-compatible output, the documented deviation")
    func glibcDeviation() {
        // Pin what glibc does, so a future libc change is noticed (and the deviation re-judged).
        #expect(libcNtop6(IPv6Address(groups: [0, 0, 0, 0, 0, 0, 0x102, 0x304]).bytes) == "::1.2.3.4")
        #expect(libcNtop6(IPv6Address(groups: [0, 0, 0, 0, 0, 0, 1, 0]).bytes) == "::0.1.0.0")
        #expect(IPv6Address(groups: [0, 0, 0, 0, 0, 0, 0x102, 0x304]).description == "::102:304")
        // Where glibc and we agree on a dotted tail: IPv4-mapped only.
        #expect(libcNtop6(IPv6Address(groups: [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]).bytes) == "::ffff:1.2.3.4")
    }

    @Test("rejected exactly like inet_pton", arguments: [
        "", ":", ":::", "::::", "1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "::1::",
        ":1::", ":1:2:3:4:5:6:7:8", "1::2:", "::1:", "1:2:3:4:5:6:7:8:", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "1:2:3:4::5:6:7:8", "12345::", "1:00000::",
        "g::", "::g", "0x1::", "::-1", "+::1", " ::1", "::1 ", "::1\t", "fe80::1%eth0",
        "::1/128", "[::1]",
        // embedded IPv4
        "::1.2.3", "::1.2.3.4.5", "::01.2.3.4", "::1.2.3.04", "::256.1.1.1", "::1.2.3.4:5",
        "::1.2.3.4::", "1.2.3.4::", "1.2.3.4", "::ffff:1.2.3.4.", "::ffff:.1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "::1:2:3:4:5:6:1.2.3.4",
        "::ffff:1.2.3.4:1", "::1.2.3.4.", "::a.2.3.4", "::1.2.3.a", "::1.2..3", ":1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4:", "::ffff:1.2.3", "::ffff:1234.2.3.4",
        // not ASCII
        "::١",
    ])
    func invalid(_ text: String) {
        #expect(IPv6Address(text) == nil)
        #expect(libcPton6(text) == nil, "oracle disagrees with table")
    }

    @Test("an embedded NUL is refused (C's inet_pton would stop there and accept the prefix)")
    func embeddedNUL() {
        #expect(IPv6Address("fe80::1\u{0}") == nil)
        #expect(IPv6Address("fe80::1\u{0}junk") == nil)
        #expect(IPv4Address("1.2.3.4\u{0}") == nil)
        #expect(IPAddress("1.2.3.4\u{0}") == nil)
        #expect(IPPrefix("fd42::/64\u{0}") == nil)
    }

    @Test("accepts any StringProtocol, e.g. a Substring")
    func substring() {
        let s = "[2001:db8::1]"
        let sub = s.dropFirst().dropLast()
        #expect(IPv6Address(sub) == IPv6Address("2001:db8::1"))
        #expect(IPAddress(sub) == .v6(IPv6Address("2001:db8::1")!))
    }

    @Test("bytes, groups and integer views")
    func views() throws {
        let a = try #require(IPv6Address("2001:db8:102:304:506:708:90a:b0c"))
        #expect(a.bytes == [0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(a.groups == [0x2001, 0xdb8, 0x102, 0x304, 0x506, 0x708, 0x90a, 0xb0c])
        #expect(a.value == 0x2001_0db8_0102_0304_0506_0708_090a_0b0c)
        #expect(IPv6Address(bytes: a.bytes) == a)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(IPv6Address.unspecified.description == "::")
        #expect(IPv6Address.loopback.description == "::1")
    }

    @Test("IPv4-mapped helpers")
    func mapped() throws {
        let v4 = try #require(IPv4Address("192.0.2.1"))
        let m = IPv6Address(ipv4Mapped: v4)
        #expect(m.description == "::ffff:192.0.2.1")
        #expect(m.isIPv4Mapped)
        #expect(m.ipv4Mapped == v4)
        #expect(IPv6Address("::1.2.3.4")!.ipv4Mapped == nil)
        #expect(IPv6Address("::ffff:0:1.2.3.4")!.ipv4Mapped == nil)
        #expect(IPv6Address("1::ffff:1.2.3.4")!.isIPv4Mapped == false)
    }
}

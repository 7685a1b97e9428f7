import Glibc
import Testing
@testable import IPAddressing

@Suite("IPv4 vs glibc")
struct IPv4OracleTests {
    @Test("format and parse 20,000 biased random addresses against inet_ntop/inet_pton(AF_INET)")
    func formatAndParseOracle() {
        var r = makeRNG("v4-format")
        var bad = Mismatches(test: "v4-format")
        let corners: [UInt32] = [0, 1, 0xff, 0x100, 0x7f00_0001, 0xffff_ffff, 0x8000_0000, 0xa9fe_0000]
        for i in 0..<20_000 {
            let a = IPv4Address(i < corners.count ? corners[i] : randomV4Value(&r))
            let ours = a.description
            let glibc = libcNtop4(a.bytes)
            if ours != glibc { bad.add("format \(hex(a.bytes)): ours \(ours), glibc \(glibc)") }
            if IPv4Address(glibc) != a { bad.add("parse \(glibc)") }
            if libcPton4(ours) != a.bytes { bad.add("inet_pton(\(ours))") }
            if IPAddress(ours) != .v4(a) { bad.add("IPAddress(\(ours))") }
        }
        bad.report()
    }

    static func text(_ r: inout some RandomNumberGenerator) -> String {
        switch Int.random(in: 0..<4, using: &r) {
        case 0:  // uniform over the full address alphabet
            let n = Int.random(in: 0...20, using: &r)
            return String((0..<n).map { _ in r.pick(IPv6OracleTests.alphabet) })
        case 1:  // uniform over digits and dots
            let n = Int.random(in: 0...18, using: &r)
            return String((0..<n).map { _ in r.pick(Array("0123456789..")) })
        case 2:  // 1–6 fields of 0–4 digits, zero-heavy, values around the 255 boundary
            let fields = r.pick([4, 4, 4, 4, 3, 5, 1, 2, 6])
            return (0..<fields).map { _ -> String in
                switch Int.random(in: 0..<6, using: &r) {
                case 0: return ""
                case 1: return String(repeating: "0", count: Int.random(in: 1...3, using: &r))
                case 2: return "0" + String(Int.random(in: 0...255, using: &r))
                case 3: return String(Int.random(in: 250...1000, using: &r))
                default: return String(Int.random(in: 0...255, using: &r))
                }
            }.joined(separator: ".")
        default:  // a valid address with one edit
            var c = Array(IPv4Address(randomV4Value(&r)).description)
            let i = Int.random(in: 0..<c.count, using: &r)
            switch Int.random(in: 0..<3, using: &r) {
            case 0: c.remove(at: i)
            case 1: c.insert(r.pick(Array("0123456789.x:/ ")), at: i)
            default: c[i] = r.pick(Array("0123456789."))
            }
            return String(c)
        }
    }

    @Test("random text: IPv4Address(s) succeeds iff inet_pton(AF_INET) does, with the same bytes")
    func textFuzz() {
        var r = makeRNG("v4-text-fuzz")
        var bad = Mismatches(test: "v4-text-fuzz")
        var accepted = 0
        let n = 60_000
        for _ in 0..<n {
            let s = Self.text(&r)
            let libc = libcPton4(s)
            if libc != nil { accepted += 1 }
            let ours = IPv4Address(s)
            if ours?.bytes != libc {
                bad.add("\"\(s)\": ours \(ours?.description ?? "reject"), inet_pton \(libc.map(hex) ?? "reject")")
            }
        }
        bad.report()
        print("v4 text fuzz: \(accepted) of \(n) accepted")
        #expect(accepted > 5_000)
        #expect(n - accepted > 5_000)
    }

    @Test("hand-picked IPv4 text", arguments: [
        ("0.0.0.0", true), ("255.255.255.255", true), ("1.2.3.4", true), ("10.0.0.1", true),
        ("", false), ("1.2.3", false), ("1.2.3.4.", false), (".1.2.3.4", false), ("1.2.3.4.5", false),
        ("1..2.3", false), ("256.0.0.0", false), ("1.2.3.256", false), ("01.2.3.4", false),
        ("1.2.3.04", false), ("00.0.0.0", false), ("1.2.3.0000", false), ("0x1.2.3.4", false),
        (" 1.2.3.4", false), ("1.2.3.4 ", false), ("1.2.3.-4", false), ("+1.2.3.4", false),
        ("1.2.3.4/32", false), ("1", false), ("16909060", false),
        ("١.٢.٣.٤", false),  // Arabic-Indic digits
    ])
    func handPicked(_ text: String, _ valid: Bool) {
        #expect((IPv4Address(text) != nil) == valid)
        #expect((libcPton4(text) != nil) == valid, "oracle disagrees with table")
        if let a = IPv4Address(text) { #expect(a.description == text) }
    }
}

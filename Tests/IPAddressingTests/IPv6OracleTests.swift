import Glibc
import Testing
@testable import IPAddressing

// Differential tests against glibc: `inet_ntop(AF_INET6)` for formatting (RFC 5952, see
// `rfc5952Expected` for the one documented difference) and `inet_pton(AF_INET6)` for parsing.
// Randomized with a seeded generator; the seed is printed and included in failure messages.

// MARK: - Address generators (biased towards the cases that are hard to format)

func randomV4Value(_ r: inout some RandomNumberGenerator) -> UInt32 {
    switch Int.random(in: 0..<4, using: &r) {
    case 0: return UInt32.random(in: 0...UInt32.max, using: &r)
    case 1: return UInt32.random(in: 0...0xffff, using: &r)  // upper 16 bits zero
    default:
        var v: UInt32 = 0
        for _ in 0..<4 { v = v << 8 | UInt32(r.pick([0, 0, 1, 255, UInt8.random(in: 0...255, using: &r)])) }
        return v
    }
}

func randomGroup(_ r: inout some RandomNumberGenerator) -> UInt16 {
    switch Int.random(in: 0..<6, using: &r) {
    case 0: return 0xffff
    case 1: return UInt16.random(in: 1...0xf, using: &r)
    case 2: return UInt16.random(in: 1...0xff, using: &r)
    case 3: return UInt16.random(in: 0x100...0xfff, using: &r)
    default: return UInt16.random(in: 1...0xffff, using: &r)
    }
}

func randomV6(_ r: inout some RandomNumberGenerator) -> IPv6Address {
    switch Int.random(in: 0..<11, using: &r) {
    case 0:  // uniform
        return IPv6Address(UInt128(UInt64.random(in: 0...UInt64.max, using: &r)) << 64
                           | UInt128(UInt64.random(in: 0...UInt64.max, using: &r)))
    case 1:  // each group zero with a random probability: many zero runs of all lengths
        let p = Double.random(in: 0.2...0.9, using: &r)
        return IPv6Address(groups: (0..<8).map { _ in r.chance(p) ? 0 : randomGroup(&r) })
    case 2:  // 1–3 explicit zero runs with random starts and lengths
        var g = (0..<8).map { _ in randomGroup(&r) }
        for _ in 0..<Int.random(in: 1...3, using: &r) {
            let start = Int.random(in: 0..<8, using: &r)
            let len = Int.random(in: 0...(8 - start), using: &r)
            for i in start..<start + len { g[i] = 0 }
        }
        return IPv6Address(groups: g)
    case 3:  // IPv4-mapped ::ffff:a.b.c.d
        return IPv6Address(UInt128(0xffff) << 32 | UInt128(randomV4Value(&r)))
    case 4:  // IPv4-compatible ::a.b.c.d (deprecated; glibc prints it dotted)
        return IPv6Address(UInt128(randomV4Value(&r)))
    case 5:  // other well-known IPv4-embedding prefixes, which must stay hex
        let v4 = UInt128(randomV4Value(&r))
        let hi: UInt128 = r.pick([
            UInt128(0xffff) << 48,                    // ::ffff:0:0:0/96 (IPv4-translated)
            UInt128(0x64_ff9b) << 96,                 // 64:ff9b::/96 (NAT64)
            UInt128(0x64_ff9b_0001) << 80,            // 64:ff9b:1::/48
            UInt128(0xfe80) << 112 | UInt128(0x5efe) << 32,  // ISATAP fe80::5efe:a.b.c.d
            UInt128(0xfffe) << 32,                    // one off the mapped prefix
            UInt128(0x1_ffff) << 32,                  // ::1:ffff:a.b.c.d
        ])
        return IPv6Address(hi | v4)
    case 6:  // corners: all-zero, all-ones, single bits, single cleared bits
        let bit = UInt128(1) << Int.random(in: 0..<128, using: &r)
        return IPv6Address(r.pick([0, 1, UInt128.max, UInt128.max - 1, bit, ~bit,
                                   UInt128.max >> 16, UInt128.max << 16]))
    case 7:  // two zero runs of equal length: the first must win
        let len = Int.random(in: 1...3, using: &r)
        var g = (0..<8).map { _ in randomGroup(&r) }
        let a = Int.random(in: 0...(8 - 2 * len - 1), using: &r)
        let b = Int.random(in: (a + len + 1)...(8 - len), using: &r)
        for i in 0..<len { g[a + i] = 0; g[b + i] = 0 }
        return IPv6Address(groups: g)
    case 8:  // around the mapped/compatible boundary: groups 0–4 zero, 5 ∈ {0, ffff, …}
        let g5: UInt16 = r.pick([0, 0xffff, 0xfffe, 1, randomGroup(&r)])
        let g6: UInt16 = r.chance(0.5) ? 0 : randomGroup(&r)
        let g7: UInt16 = r.chance(0.5) ? 0 : randomGroup(&r)
        return IPv6Address(groups: [0, 0, 0, 0, 0, g5, g6, g7])
    case 9:  // exactly one non-zero group, or exactly one zero group
        let at = Int.random(in: 0..<8, using: &r)
        let single = r.chance(0.5)
        return IPv6Address(groups: (0..<8).map { i in (i == at) == single ? randomGroup(&r) : 0 })
    default:  // uniform 64-bit halves padded with zeros
        let x = UInt128(UInt64.random(in: 0...UInt64.max, using: &r))
        return IPv6Address(r.chance(0.5) ? x : x << 64)
    }
}

/// A random RFC 4291 §2.2 text form of `a`: any zero sub-run (even a single group) may be
/// `::`-compressed, groups carry random leading zeros and letter case, and the low 32 bits
/// may be written as a dotted quad.
func randomTextForm(_ a: IPv6Address, _ r: inout some RandomNumberGenerator) -> String {
    let g = a.groups
    let dotted = r.chance(0.3)
    let n = dotted ? 6 : 8
    var parts: [String] = g[0..<n].map { x in
        var s = String(x, radix: 16)
        let pad = Int.random(in: 0...(4 - s.count), using: &r)
        s = String(repeating: "0", count: pad) + s
        return String(s.map { r.chance(0.5) ? Character($0.uppercased()) : $0 })
    }
    let tail: String? = dotted ? IPv4Address(UInt32(truncatingIfNeeded: a.value)).description : nil
    // Candidate `::` ranges: every sub-run of zero groups among the hex groups.
    var runs: [Range<Int>] = []
    for lo in 0..<n where g[lo] == 0 {
        var hi = lo
        while hi < n, g[hi] == 0 { hi += 1; runs.append(lo..<hi) }
    }
    if !runs.isEmpty, r.chance(0.7) {
        let run = r.pick(runs)
        let left = parts[0..<run.lowerBound].joined(separator: ":")
        var right = Array(parts[run.upperBound..<n])
        if let tail { right.append(tail) }
        return left + "::" + right.joined(separator: ":")
    }
    if let tail { parts.append(tail) }
    return parts.joined(separator: ":")
}

// MARK: - Failure collection (cheap in hot loops; reports at most a few mismatches)

struct Mismatches {
    let test: String
    var count = 0
    var shown: [String] = []
    mutating func add(_ what: @autoclosure () -> String) {
        count += 1
        if shown.count < 15 { shown.append(what()) }
    }
    func report(sourceLocation: SourceLocation = #_sourceLocation) {
        guard count > 0 else { return }
        let message = "\(test): \(count) mismatches (replay with IPADDRESSING_SEED=\(testSeed)):\n"
            + shown.joined(separator: "\n")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

@Suite("IPv6 vs glibc")
struct IPv6OracleTests {
    @Test("format and parse 30,000 biased random addresses against inet_ntop/inet_pton")
    func formatAndParseOracle() {
        var r = makeRNG("v6-format")
        var bad = Mismatches(test: "v6-format")
        var compatSeen = 0, mappedSeen = 0
        for _ in 0..<30_000 {
            let a = randomV6(&r)
            let ours = a.description
            let glibc = libcNtop6(a.bytes)
            let expected = rfc5952Expected(a)
            if expected != glibc { compatSeen += 1 }
            if a.isIPv4Mapped { mappedSeen += 1 }
            if ours != expected {
                bad.add("format \(hex(a.bytes)): ours \(ours), want \(expected) (glibc \(glibc))")
            }
            // glibc's text (including its dotted IPv4-compatible form) parses back to `a`.
            if IPv6Address(glibc) != a { bad.add("parse glibc text \(glibc) → \(String(describing: IPv6Address(glibc)))") }
            // Our text parses back, by us and by glibc.
            if IPv6Address(ours) != a { bad.add("round trip \(ours)") }
            if libcPton6(ours) != a.bytes { bad.add("inet_pton rejects/misreads our \(ours)") }
            // A random non-canonical RFC 4291 form of the same address.
            let form = randomTextForm(a, &r)
            let libc = libcPton6(form)
            if libc != a.bytes { bad.add("generator bug: inet_pton(\(form)) = \(libc.map(hex) ?? "fail")") }
            if IPv6Address(form) != a { bad.add("parse form \(form) → \(String(describing: IPv6Address(form))), want \(ours)") }
        }
        bad.report()
        // The biased generator must actually hit the interesting classes.
        #expect(compatSeen > 500)
        #expect(mappedSeen > 500)
    }

    static let alphabet = Array("0123456789abcdefABCDEF:./")

    /// Uniform random strings over the address alphabet, lengths 0…45.
    static func uniformText(_ r: inout some RandomNumberGenerator) -> String {
        let n = Int.random(in: 0...45, using: &r)
        return String((0..<n).map { _ in r.pick(alphabet) })
    }

    /// Strings built from address-like tokens (hex groups, `:`/`::`, dotted quads), mostly in
    /// grammatical order, so that a good share are valid or only just invalid.
    static func tokenText(_ r: inout some RandomNumberGenerator) -> String {
        func group(_ r: inout some RandomNumberGenerator) -> String {
            let n = r.pick([0, 1, 1, 2, 3, 4, 4, 4, 5])
            return String((0..<n).map { _ in r.chance(0.4) ? "0" : r.pick(Array("0123456789abcdefABCDEF")) })
        }
        func separator(_ r: inout some RandomNumberGenerator) -> String {
            r.pick([":", ":", ":", ":", ":", "::", "::", ":::"])
        }
        func quad(_ r: inout some RandomNumberGenerator) -> String {
            let fields = r.pick([4, 4, 4, 4, 3, 5])
            return (0..<fields).map { _ -> String in
                let v = r.chance(0.1) ? Int.random(in: 256...300, using: &r) : Int.random(in: 0...255, using: &r)
                return (r.chance(0.1) ? "0" : "") + String(v)
            }.joined(separator: ".")
        }
        var s = r.chance(0.2) ? separator(&r) : ""
        var wantGroup = true
        for _ in 0..<Int.random(in: 1...15, using: &r) {
            if r.chance(0.9) {
                s += wantGroup ? group(&r) : separator(&r)
            } else {
                s += r.pick([group(&r), separator(&r), quad(&r), ".", "/", "0"])
            }
            wantGroup.toggle()
        }
        if r.chance(0.3) { s += (wantGroup ? "" : ":") + quad(&r) }
        return s
    }

    /// A valid text form with 1–3 random edits.
    static func mutatedText(_ r: inout some RandomNumberGenerator) -> String {
        var c = Array(randomTextForm(randomV6(&r), &r))
        for _ in 0..<Int.random(in: 1...3, using: &r) {
            let i = Int.random(in: 0...c.count, using: &r)
            switch Int.random(in: 0..<5, using: &r) {
            case 0 where i < c.count: c.remove(at: i)
            case 1: c.insert(r.pick(alphabet), at: i)
            case 2 where i < c.count: c[i] = r.pick(alphabet)
            case 3 where i + 1 < c.count: c.swapAt(i, i + 1)
            default:  // duplicate a slice
                let j = Int.random(in: i...min(c.count, i + 6), using: &r)
                c.insert(contentsOf: c[i..<j], at: j)
            }
        }
        return String(c)
    }

    @Test("random text: IPv6Address(s) succeeds iff inet_pton(AF_INET6) does, with the same bytes")
    func textFuzz() {
        var r = makeRNG("v6-text-fuzz")
        var bad = Mismatches(test: "v6-text-fuzz")
        var accepted = [0, 0, 0], total = [0, 0, 0]
        for i in 0..<90_000 {
            let kind = i % 3
            let s = switch kind {
            case 0: Self.uniformText(&r)
            case 1: Self.tokenText(&r)
            default: Self.mutatedText(&r)
            }
            let libc = libcPton6(s)
            let ours = IPv6Address(s)
            total[kind] += 1
            if libc != nil { accepted[kind] += 1 }
            if ours?.bytes != libc {
                bad.add("\"\(s)\": ours \(ours.map { hex($0.bytes) } ?? "reject"), inet_pton \(libc.map(hex) ?? "reject")")
            }
            // The family-dispatching parser agrees with "inet_pton for either family".
            let either = libc ?? libcPton4(s)
            if IPAddress(s)?.bytes != either {
                bad.add("IPAddress(\"\(s)\") = \(String(describing: IPAddress(s))), libc \(either.map(hex) ?? "reject")")
            }
        }
        bad.report()
        print("v6 text fuzz accepted (uniform, token, mutated): \(accepted) of \(total)")
        // Make sure the fuzz exercised both outcomes in volume.
        #expect(accepted[1] > 600)
        #expect(accepted[2] > 3_000)
        #expect(total[2] - accepted[2] > 3_000)
    }
}

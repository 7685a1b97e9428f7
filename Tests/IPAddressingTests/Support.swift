import Glibc
@testable import IPAddressing

// MARK: - Reproducible randomness

/// SplitMix64: tiny, fast, and fully determined by its seed.
struct SeededRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed of every randomized test in this target. Set `IPADDRESSING_SEED=<n>` to replay a
/// failure; otherwise a fresh one is drawn per run. It is printed, and every failure message
/// carries it.
let testSeed: UInt64 = {
    if let s = getenv("IPADDRESSING_SEED"), let v = UInt64(String(cString: s)) { return v }
    return UInt64.random(in: 0...UInt64.max)
}()

/// A generator for one test: the run seed mixed with a per-test salt so tests are independent.
func makeRNG(_ test: String) -> SeededRNG {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the test name
    for b in test.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    print("[\(test)] IPADDRESSING_SEED=\(testSeed)")
    return SeededRNG(seed: testSeed ^ h)
}

// MARK: - libc oracles

/// `inet_pton(AF_INET6)`: the 16 bytes, or nil when glibc rejects the text.
func libcPton6(_ text: String) -> [UInt8]? {
    var buf = [UInt8](repeating: 0, count: 16)
    return inet_pton(AF_INET6, text, &buf) == 1 ? buf : nil
}

/// `inet_pton(AF_INET)`: the 4 bytes, or nil.
func libcPton4(_ text: String) -> [UInt8]? {
    var buf = [UInt8](repeating: 0, count: 4)
    return inet_pton(AF_INET, text, &buf) == 1 ? buf : nil
}

func libcNtop6(_ bytes: [UInt8]) -> String {
    precondition(bytes.count == 16)
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let r = inet_ntop(AF_INET6, bytes, &out, socklen_t(out.count))
    precondition(r != nil)
    return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

func libcNtop4(_ bytes: [UInt8]) -> String {
    precondition(bytes.count == 4)
    var out = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
    let r = inet_ntop(AF_INET, bytes, &out, socklen_t(out.count))
    precondition(r != nil)
    return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// What RFC 5952 wants where glibc's `inet_ntop` differs, else glibc's text itself.
///
/// glibc (inet_ntop6, still in 2.36) prints an IPv4-*compatible* address — groups 0–5 zero,
/// group 6 non-zero — with a dotted tail: `::1:2` → `::0.1.0.2`, `::102:304` → `::1.2.3.4`.
/// That form is deprecated (RFC 4291 §2.5.5.1) and not distinguishable by prefix from small
/// addresses such as `::1:0`, so our output follows the plain RFC 5952 §4 rules there:
/// the same `::` placement, but the last two groups in hex. Every other address (including
/// IPv4-mapped `::ffff:a.b.c.d`, which both print dotted) must match glibc exactly.
func rfc5952Expected(_ a: IPv6Address) -> String {
    let glibc = libcNtop6(a.bytes)
    let g = a.groups
    if g[0..<6].allSatisfy({ $0 == 0 }), g[6] != 0 {
        return "::" + String(g[6], radix: 16) + ":" + String(g[7], radix: 16)
    }
    return glibc
}

// MARK: - Helpers

extension IPv6Address {
    init(groups g: [UInt16]) {
        precondition(g.count == 8)
        var v: UInt128 = 0
        for x in g { v = v << 16 | UInt128(x) }
        self.init(v)
    }
}

extension RandomNumberGenerator {
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &self)] }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        .joined()
}

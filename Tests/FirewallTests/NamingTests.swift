import Testing
import IPAddressing
@testable import Firewall
@testable import Spawn

/// sha512sum as the oracle: the digest of `bytes`, lower-case hex.
func sha512Oracle(_ bytes: [UInt8]) throws -> String {
    let r = try run("sha512sum", stdin: bytes)
    try #require(r.status == 0, "sha512sum: \(r.stderrText)")
    return String(r.stdoutText.prefix(128))
}

@Suite("SHA-512 and reference naming")
struct NamingTests {
    @Test func knownAnswers() {
        // FIPS 180-4 examples.
        #expect(SHA512.hexDigest(Array("abc".utf8)) ==
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        #expect(SHA512.hexDigest([UInt8]()) ==
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" +
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
        let twoBlocks = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA512.hexDigest(Array(twoBlocks.utf8)) ==
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018" +
            "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")
    }

    /// Every padding boundary (111/112/127/128/129 bytes…), several blocks, and a large input.
    @Test(arguments: [0, 1, 55, 56, 63, 64, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 1000, 100_003])
    func matchesSha512sum(length: Int) throws {
        let input = pseudoRandomBytes(length, seed: UInt64(length) &+ 17)
        #expect(SHA512.hexDigest(input) == (try sha512Oracle(input)))
    }

    /// The reference's own test vectors (containernetworking/plugins pkg/utils/utils_test.go).
    @Test func referenceChainNames() {
        #expect(Masquerade.chainName(network: "test", containerID: "1234") == "CNI-2bbe0c48b91a7d1b8a6753a8")
        #expect(Masquerade.chainName(network: "testalongnamethatdoesnotmakesense", containerID: "1234")
                == "CNI-374f33fe84ab0ed84dcdebe3")
    }

    /// The reference formula computed independently: ("CNI-" + sha512sum(net + id))[..<28].
    @Test func chainNameMatchesIndependentFormula() throws {
        let net = "v6cni-ula", id = "8f1e2d3c4b5a69788796a5b4c3d2e1f0aabbccddeeff00112233445566778899"
        let r = try run("/bin/sh", arguments: ["-c", "printf %s \"$1$2\" | sha512sum", "sh", net, id])
        let expected = String(("CNI-" + r.stdoutText).prefix(28))
        let name = Masquerade.chainName(network: net, containerID: id)
        #expect(name == expected)
        #expect(name.count == 28)
        #expect(name.hasPrefix("CNI-"))
    }

    @Test func commentFormat() {
        #expect(Masquerade.comment(network: "ula-net", containerID: "abc123")
                == #"name: "ula-net" id: "abc123""#)
        // Go %q escaping, and parsing it back.
        let odd = Naming.comment(network: "a\"b\\c", containerID: "x\ny\u{01}")
        #expect(odd == #"name: "a\"b\\c" id: "x\ny\x01""#)
        let parsed = Naming.parseComment(odd)
        #expect(parsed?.network == "a\"b\\c")
        #expect(parsed?.containerID == "x\ny\u{01}")
        #expect(Naming.parseComment(#"name: "n" id: "c""#)! == ("n", "c"))
        #expect(Naming.parseComment(#"name: "n" id: "c" extra"#) == nil)
        #expect(Naming.parseComment(#"name: "n""#) == nil)
        #expect(Naming.parseComment("something else") == nil)
    }

    @Test func validNames() {
        #expect(Naming.isValidName("net-1_a.b"))
        #expect(!Naming.isValidName(""))
        #expect(!Naming.isValidName("a b"))
        #expect(!Naming.isValidName("a\"b"))
        #expect(!Naming.isValidName("a\nCOMMIT"))
    }

    @Test func onlyULAIsMasqueraded() {
        func needs(_ s: String) -> Bool { Masquerade.needsMasquerade(IPAddress(s)!) }
        #expect(needs("fd42::5"))
        #expect(needs("fc00::1"))
        #expect(needs("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        #expect(!needs("2001:db8::5"))       // GUA (documentation prefix): never
        #expect(!needs("2600::1"))
        #expect(!needs("fe80::1"))
        #expect(!needs("ff02::1"))
        #expect(!needs("fe00::1"))
        #expect(!needs("::1"))
        #expect(!needs("10.1.2.3"))
    }
}

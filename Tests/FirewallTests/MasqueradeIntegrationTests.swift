import Testing
import IPAddressing
@testable import Firewall
@testable import Spawn

/// Real ip6tables, each test in a namespace of its own (root only).
@Suite("Masquerade in a namespace (root)", .enabled(if: isRoot))
struct MasqueradeIntegrationTests {
    let network = "v6fw-ula"
    let except = [pfx("2001:db8:ff::/48")]

    func masquerade(_ ns: TestNamespace, _ b: Backend) -> Masquerade {
        Masquerade(commandPrefix: ns.exec, ip6tablesRestore: b.restore, ip6tablesSave: b.save)
    }

    func saved(_ ns: TestNamespace, _ b: Backend) throws -> String { try ns.must(b.save, "-t", "nat") }

    func lines(_ text: String, mentioning s: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(s) }
    }

    @Test(arguments: Backend.available)
    func installShowsChainRulesAndJump(backend: Backend) throws {
        try TestNamespace.with("inst") { ns in
            let m = masquerade(ns, backend)
            try m.install(network: network, containerID: "pod-1",
                          podAddresses: [v6("fd42:1::5"), v6("2001:db8:1::5")], except: except)
            let ch = Masquerade.chainName(network: network, containerID: "pod-1")
            let cm = #""name: \"v6fw-ula\" id: \"pod-1\"""#
            let text = try saved(ns, backend)
            #expect(lines(text, mentioning: ch) == [
                ":\(ch) - [0:0]",
                "-A POSTROUTING -s fd42:1::5/128 -m comment --comment \(cm) -j \(ch)",
                "-A \(ch) -d fc00::/7 -m comment --comment \(cm) -j ACCEPT",
                "-A \(ch) -d ff00::/8 -m comment --comment \(cm) -j ACCEPT",
                "-A \(ch) -d 2001:db8:ff::/48 -m comment --comment \(cm) -j ACCEPT",
                "-A \(ch) -m comment --comment \(cm) -j MASQUERADE",
            ], "\(text)")
            #expect(!text.contains("2001:db8:1::5"))  // the GUA address gets nothing
            #expect(try m.exists(network: network, containerID: "pod-1"))
            try m.check(network: network, containerID: "pod-1",
                        podAddresses: [v6("fd42:1::5"), v6("2001:db8:1::5")], except: except)
            #expect(throws: FirewallError.self) {  // CHECK notices a different configuration
                try m.check(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5")], except: [])
            }
        }
    }

    @Test(arguments: Backend.available)
    func reinstallDoesNotDuplicate(backend: Backend) throws {
        try TestNamespace.with("twice") { ns in
            let m = masquerade(ns, backend)
            let pod: [IPAddress] = [v6("fd42:1::5"), v6("fd42:2::5")]
            try m.install(network: network, containerID: "pod-1", podAddresses: pod, except: except)
            let first = try saved(ns, backend)
            try m.install(network: network, containerID: "pod-1", podAddresses: pod, except: except)
            let ch = Masquerade.chainName(network: network, containerID: "pod-1")
            let second = try saved(ns, backend)
            #expect(lines(second, mentioning: ch) == lines(first, mentioning: ch))
            #expect(lines(second, mentioning: ch).count == 1 + 2 + 4)

            // A crash left a stray copy of a jump and a jump for an address the pod lost.
            let cm = #""name: \"v6fw-ula\" id: \"pod-1\"""#
            try injectRules(ns, backend, [
                "-A POSTROUTING -s fd42:1::5/128 -m comment --comment \(cm) -j \(ch)",
                "-A POSTROUTING -s fd42:9::9/128 -m comment --comment \(cm) -j \(ch)",
                "-A \(ch) -j ACCEPT",
            ])
            #expect(lines(try saved(ns, backend), mentioning: ch).count == 1 + 4 + 5)
            try m.install(network: network, containerID: "pod-1", podAddresses: pod, except: except)
            // `-D` by spec removes the first of two equal rules, so the order of jumps may change.
            let repaired = try saved(ns, backend)
            #expect(lines(repaired, mentioning: ch).sorted() == lines(first, mentioning: ch).sorted(), "\(repaired)")
            try m.check(network: network, containerID: "pod-1", podAddresses: pod, except: except)
        }
    }

    @Test(arguments: Backend.available)
    func removeLeavesNothingAndIsIdempotent(backend: Backend) throws {
        try TestNamespace.with("rm") { ns in
            let m = masquerade(ns, backend)
            let before = try saved(ns, backend)
            let pod = [v6("fd42:1::5")]
            try m.install(network: network, containerID: "pod-1", podAddresses: pod, except: except)
            try m.install(network: network, containerID: "pod-2", podAddresses: [v6("fd42:1::6")])
            try m.remove(network: network, containerID: "pod-1", podAddresses: pod)
            let text = try saved(ns, backend)
            #expect(!text.contains(Masquerade.chainName(network: network, containerID: "pod-1")))
            #expect(!text.contains("pod-1"))
            #expect(text.contains(Masquerade.chainName(network: network, containerID: "pod-2")))  // untouched
            #expect(try !m.exists(network: network, containerID: "pod-1"))
            // Already gone: success, with or without addresses.
            try m.remove(network: network, containerID: "pod-1", podAddresses: pod)
            try m.remove(network: network, containerID: "pod-1", podAddresses: nil)
            try m.remove(network: network, containerID: "pod-2", podAddresses: [v6("fd42:1::6")])
            #expect(lines(try saved(ns, backend), mentioning: "CNI-").isEmpty)
            #expect(lines(try saved(ns, backend), mentioning: "-A ") == lines(before, mentioning: "-A "))
        }
    }

    @Test(arguments: Backend.available)
    func removeWithoutAddressesOrWithWrongOnes(backend: Backend) throws {
        try TestNamespace.with("rmx") { ns in
            let m = masquerade(ns, backend)
            try m.install(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5"), v6("fd42:1::6")])
            try m.remove(network: network, containerID: "pod-1", podAddresses: nil)
            #expect(lines(try saved(ns, backend), mentioning: "CNI-").isEmpty)

            // prevResult names an address that has no jump (the fast transaction fails): fallback.
            try m.install(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5")])
            try m.remove(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5"), v6("fd42:7::7")])
            #expect(lines(try saved(ns, backend), mentioning: "CNI-").isEmpty)

            // Half gone (the chain exists, its jump was deleted by hand): fallback.
            try m.install(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5")])
            let ch = Masquerade.chainName(network: network, containerID: "pod-1")
            let jump = lines(try saved(ns, backend), mentioning: "-A POSTROUTING")[0]
            try injectRules(ns, backend, ["-D" + jump.dropFirst(2)])
            #expect(lines(try saved(ns, backend), mentioning: ch).count == 4)  // chain + 3 rules, no jump
            try m.remove(network: network, containerID: "pod-1", podAddresses: [v6("fd42:1::5")])
            #expect(lines(try saved(ns, backend), mentioning: "CNI-").isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func garbageCollectKeepsOnlyTheKept(backend: Backend) throws {
        try TestNamespace.with("gc") { ns in
            let m = masquerade(ns, backend)
            for (i, id) in ["a", "b", "c"].enumerated() {
                try m.install(network: network, containerID: id, podAddresses: [v6("fd42:1::\(i + 1)")])
            }
            try m.install(network: "v6fw-other", containerID: "a", podAddresses: [v6("fd42:2::1")])
            #expect(m.garbageCollect(network: network, keep: ["b"]).isEmpty)
            let text = try saved(ns, backend)
            #expect(!text.contains(Masquerade.chainName(network: network, containerID: "a")))
            #expect(!text.contains(Masquerade.chainName(network: network, containerID: "c")))
            #expect(!text.contains("fd42:1::1/128"))
            #expect(!text.contains("fd42:1::3/128"))
            try m.check(network: network, containerID: "b", podAddresses: [v6("fd42:1::2")])
            try m.check(network: "v6fw-other", containerID: "a", podAddresses: [v6("fd42:2::1")])
            // Nothing stale left: a second GC does nothing and fails nothing.
            #expect(m.garbageCollect(network: network, keep: ["b"]).isEmpty)
            #expect(m.garbageCollect(network: network, keep: []).isEmpty)
            #expect(try !m.exists(network: network, containerID: "b"))
            #expect(try m.exists(network: "v6fw-other", containerID: "a"))
        }
    }

    @Test(arguments: Backend.available)
    func guaAddressInstallsNothing(backend: Backend) throws {
        try TestNamespace.with("gua") { ns in
            let m = masquerade(ns, backend)
            let before = try saved(ns, backend)
            try m.install(network: network, containerID: "pod-1", podAddresses: [v6("2001:db8:1::5")], except: except)
            let after = try saved(ns, backend)
            #expect(lines(after, mentioning: ":") == lines(before, mentioning: ":"))
            #expect(lines(after, mentioning: "-A ").isEmpty)
            #expect(try !m.exists(network: network, containerID: "pod-1"))
            try m.check(network: network, containerID: "pod-1", podAddresses: [v6("2001:db8:1::5")])
            try m.remove(network: network, containerID: "pod-1", podAddresses: [v6("2001:db8:1::5")])
        }
    }

    @Test func availability() {
        #expect(Masquerade().isAvailable())
        #expect(!Masquerade(ip6tablesRestore: "v6cni-no-such-restore").isAvailable())
    }

    /// Adds or deletes rules behind Masquerade's back (`-A`/`-D` lines of the nat table).
    func injectRules(_ ns: TestNamespace, _ b: Backend, _ rules: [String]) throws {
        let script = "*nat\n" + rules.joined(separator: "\n") + "\nCOMMIT\n"
        let r = try Spawn.run("ip", arguments: ["netns", "exec", ns.name, b.restore, "--noflush", "-w"],
                              stdin: Array(script.utf8))
        try #require(r.status == 0, "\(script): \(r.stderrText)")
    }
}

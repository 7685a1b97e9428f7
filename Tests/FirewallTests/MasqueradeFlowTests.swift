import Synchronization
import Testing
import IPAddressing
@testable import Firewall
@testable import Spawn

/// Stands in for ip6tables: records each call and answers from a script of results, so the
/// control flow (which commands, how many, what input, which fallback) is tested without root.
final class FakeRunner: Sendable {
    struct Call: Equatable { var argv: [String]; var stdin: String }
    private let state: Mutex<(calls: [Call], answers: [SpawnResult])>

    init(_ answers: [SpawnResult]) { state = Mutex(([], answers)) }

    var calls: [Call] { state.withLock { $0.calls } }

    func masquerade() -> Masquerade {
        Masquerade(commandPrefix: ["ip", "netns", "exec", "t"]) { argv, stdin, _ in
            try self.state.withLock { s in
                s.calls.append(Call(argv: argv, stdin: String(decoding: stdin, as: UTF8.self)))
                guard !s.answers.isEmpty else {
                    throw SpawnError.notFound(name: argv[0], searchPath: "(fake: no answer left)")
                }
                return s.answers.removeFirst()
            }
        }
    }
}

func ok(_ out: String = "") -> SpawnResult { SpawnResult(status: 0, stdout: Array(out.utf8), stderr: []) }
func fail(_ err: String) -> SpawnResult { SpawnResult(status: 1, stdout: [], stderr: Array(err.utf8)) }

let save = ["ip", "netns", "exec", "t", "ip6tables-save", "-t", "nat"]
let restore = ["ip", "netns", "exec", "t", "ip6tables-restore", "--noflush", "-w"]
let emptyNat = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"

@Suite("Masquerade control flow (fake ip6tables)")
struct MasqueradeFlowTests {
    @Test func installOfANewChainIsOneRestore() throws {
        let fake = FakeRunner([ok()])
        try fake.masquerade().install(network: net, containerID: cid,
                                      podAddresses: [v6("2001:db8::5"), v6("fd42::5"), v6("10.0.0.5"), v6("fd42::5")])
        let calls = fake.calls
        #expect(calls.map(\.argv) == [restore])
        #expect(calls[0].stdin == RestoreScript.freshInstall(chain: chain, comment: Masquerade.comment(network: net, containerID: cid),
                                                             addresses: [v6("fd42::5")], except: []))
        #expect(calls[0].stdin.contains("-N \(chain)\n"))
        #expect(!calls[0].stdin.contains("2001:db8::5"))
    }

    @Test func installOverAnExistingChainSavesThenRewrites() throws {
        let fake = FakeRunner([fail("ip6tables-restore: line 2 failed: Chain already exists."), ok(emptyNat), ok()])
        try fake.masquerade().install(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
        let calls = fake.calls
        #expect(calls.map(\.argv) == [restore, save, restore])
        #expect(calls[2].stdin == RestoreScript.install(chain: chain, comment: Masquerade.comment(network: net, containerID: cid),
                                                        addresses: [v6("fd42::5")], except: [], current: NatTable()))
    }

    @Test func installReportsTheRewriteFailure() {
        let fake = FakeRunner([fail("line 2 failed"), ok(emptyNat), fail("ip6tables-restore: line 4 failed: No chain/target/match by that name.")])
        #expect(throws: FirewallError.self) {
            try fake.masquerade().install(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
        }
        #expect(fake.calls.map(\.argv) == [restore, save, restore])
    }

    @Test func installWithoutULARunsNothing() throws {
        let fake = FakeRunner([])
        try fake.masquerade().install(network: net, containerID: cid, podAddresses: [v6("2001:db8::5"), v6("10.1.1.1")])
        try fake.masquerade().install(network: net, containerID: cid, podAddresses: [])
        #expect(fake.calls.isEmpty)
    }

    @Test func invalidNamesNeverReachAScript() {
        let fake = FakeRunner([])
        #expect(throws: FirewallError.invalidName(what: "container ID", value: "x\nCOMMIT")) {
            try fake.masquerade().install(network: net, containerID: "x\nCOMMIT", podAddresses: [v6("fd42::5")])
        }
        #expect(throws: FirewallError.invalidName(what: "network name", value: "a b")) {
            try fake.masquerade().install(network: "a b", containerID: cid, podAddresses: [v6("fd42::5")])
        }
        #expect(fake.calls.isEmpty)
    }

    @Test func removeFastPath() throws {
        let fake = FakeRunner([ok()])
        try fake.masquerade().remove(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
        #expect(fake.calls.map(\.argv) == [restore])
        #expect(fake.calls[0].stdin == RestoreScript.fastRemove(chain: chain, comment: Masquerade.comment(network: net, containerID: cid),
                                                                addresses: [v6("fd42::5")]))
    }

    @Test func removeFallsBackToTheSavedTable() throws {
        let fake = FakeRunner([fail("ip6tables-restore: line 2 failed: Bad rule"), ok(savedSample), ok()])
        try fake.masquerade().remove(network: net, containerID: cid, podAddresses: [v6("fd42::5"), v6("fd42::6")])
        #expect(fake.calls.map(\.argv) == [restore, save, restore])
        #expect(fake.calls[2].stdin == RestoreScript.removal(chain: chain, current: NatTable(parsing: savedSample)))
    }

    @Test func removeWhenNothingIsLeft() throws {
        let fake = FakeRunner([fail("line 2 failed"), ok(emptyNat)])
        try fake.masquerade().remove(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
        #expect(fake.calls.map(\.argv) == [restore, save])
        let fake2 = FakeRunner([ok(emptyNat)])
        try fake2.masquerade().remove(network: net, containerID: cid, podAddresses: nil)
        #expect(fake2.calls.map(\.argv) == [save])
        let fake3 = FakeRunner([])
        try fake3.masquerade().remove(network: net, containerID: cid, podAddresses: [v6("2001:db8::1")])
        #expect(fake3.calls.isEmpty)
    }

    @Test func removeReportsARealFailure() {
        let fake = FakeRunner([fail("line 2 failed"), ok(savedSample), fail("ip6tables-restore: line 3 failed: Permission denied")])
        do {
            try fake.masquerade().remove(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
            Issue.record("expected an error")
        } catch {
            let text = error.description
            #expect(text.contains("removing masquerade chain \(chain)"))
            #expect(text.contains("ip6tables-restore --noflush -w"))
            #expect(text.contains("status 1"))
            #expect(text.contains("Permission denied"))
            #expect(text.contains("(script line: -F \(chain))"))
        }
    }

    @Test func missingToolIsCouldNotRun() {
        let fake = FakeRunner([])
        do {
            _ = try fake.masquerade().exists(network: net, containerID: cid)
            Issue.record("expected an error")
        } catch {
            guard case .couldNotRun(_, let cmd, _) = error else { Issue.record("\(error)"); return }
            #expect(cmd == save)
        }
    }

    @Test func garbageCollectGoesOnAfterErrors() throws {
        let keepChain = Masquerade.chainName(network: "n", containerID: "keep")
        let a = Masquerade.chainName(network: "n", containerID: "a")
        let b = Masquerade.chainName(network: "n", containerID: "b")
        let other = Masquerade.chainName(network: "other", containerID: "a")
        func block(_ ch: String, _ net: String, _ id: String, _ addr: String) -> String {
            let cm = #""name: \"\#(net)\" id: \"\#(id)\"""#
            return "-A POSTROUTING -s \(addr)/128 -m comment --comment \(cm) -j \(ch)\n-A \(ch) -m comment --comment \(cm) -j MASQUERADE\n"
        }
        // A portmap-like chain carrying the same comment format must be left alone.
        let portmap = "CNI-DN-0123456789abcdef01234"
        let saved = "*nat\n:POSTROUTING ACCEPT [0:0]\n:\(keepChain) - [0:0]\n:\(a) - [0:0]\n:\(b) - [0:0]\n:\(other) - [0:0]\n:\(portmap) - [0:0]\n"
            + block(keepChain, "n", "keep", "fd42::1") + block(a, "n", "a", "fd42::2") + block(b, "n", "b", "fd42::3")
            + block(other, "other", "a", "fd42::4")
            + #"-A \#(portmap) -m comment --comment "name: \"n\" id: \"a\"" -j DNAT --to-destination [fd42::2]:80"# + "\n"
            + "COMMIT\n"
        let sortedStale = [a, b].sorted()
        let fake = FakeRunner([ok(saved), fail("line 2 failed: boom"), ok()])
        let errors = fake.masquerade().garbageCollect(network: "n", keep: ["keep"])
        #expect(errors.count == 1)
        #expect(errors.first?.description.contains("boom") == true)
        let calls = fake.calls
        #expect(calls.map(\.argv) == [save, restore, restore])
        #expect(calls[1].stdin.contains("-X \(sortedStale[0])"))
        #expect(calls[2].stdin.contains("-X \(sortedStale[1])"))
        for call in calls.dropFirst() {
            #expect(!call.stdin.contains(keepChain))
            #expect(!call.stdin.contains(other))
            #expect(!call.stdin.contains(portmap))
        }
    }

    @Test func checkComparesWithWhatInstallWrites() throws {
        let m = FakeRunner([ok(savedSample)]).masquerade()
        try m.check(network: net, containerID: cid, podAddresses: [v6("fd42::5")])
        let missingJump = FakeRunner([ok(savedSample)]).masquerade()
        #expect(throws: FirewallError.notAsInstalled(chain: chain, problems: ["no POSTROUTING jump for fd42::6"])) {
            try missingJump.check(network: net, containerID: cid, podAddresses: [v6("fd42::5"), v6("fd42::6")])
        }
        let wrongExcept = FakeRunner([ok(savedSample)]).masquerade()
        #expect(throws: FirewallError.self) {
            try wrongExcept.check(network: net, containerID: cid, podAddresses: [v6("fd42::5")], except: [pfx("2001:db8::/32")])
        }
    }
}

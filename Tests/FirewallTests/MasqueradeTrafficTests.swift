import Testing
import IPAddressing
@testable import Firewall
@testable import Spawn

/// Real packets: pod — node — outside (GUA, no route back to the pods' ULA prefix) and
/// node — outside2 (ULA, routes back, and drops any echo request whose source is not the pod).
///
///   pod  p0 fd42:1::2/64 ── n0 fd42:1::1/64  node  n1 2001:db8:9::1/64 ── o0 2001:db8:9::2/64  outside
///        default via fd42:1::1               (forwarding)  n2 fd42:2::1/64 ── o2 fd42:2::2/64  outside2
///                                                                            fd42:1::/64 via fd42:2::1
///
/// outside can answer only a masqueraded ping; outside2 answers only one that kept its source.
@Suite("Masquerade traffic (root)", .enabled(if: isRoot))
struct MasqueradeTrafficTests {
    static let podAddress = "fd42:1::2"
    static let outside = "2001:db8:9::2"
    static let outside2 = "fd42:2::2"

    @Test(arguments: Backend.available)
    func onlyNonULADestinationsAreMasqueraded(backend: Backend) throws {
        let ping = which("ping", searchPath: currentSearchPath())
        try #require(ping != nil, "ping (iputils-ping) is needed: hack/deps.sh test installs it")
        try TestNamespace.with(["pod", "node", "out", "out2"]) { nss in
            let (pod, node, out, out2) = (nss[0], nss[1], nss[2], nss[3])
            try buildTopology(pod: pod, node: node, out: out, out2: out2, backend: backend)
            let m = Masquerade(commandPrefix: node.exec, ip6tablesRestore: backend.restore, ip6tablesSave: backend.save)
            let podAddr = [IPAddress(Self.podAddress)!]

            // Without masquerade: the GUA side cannot answer, the ULA side can.
            #expect(try pings(pod, Self.outside2), "pod → ULA outside2 must work without NAT (setup)")
            #expect(try !pings(pod, Self.outside, attempts: 1), "outside must not reach the pod's ULA without NAT (setup)")

            try m.install(network: "v6fw-traffic", containerID: "pod", podAddresses: podAddr)
            #expect(try pings(pod, Self.outside), "masqueraded ping to a GUA destination")
            #expect(try pings(pod, Self.outside2), "ULA destination must keep the pod's source")

            // masqueradeExcept: that destination keeps the source, so it cannot answer again.
            try m.install(network: "v6fw-traffic", containerID: "pod", podAddresses: podAddr,
                          except: [IPPrefix("2001:db8:9::/64")!])
            #expect(try !pings(pod, Self.outside, attempts: 1), "an except prefix must not be masqueraded")

            try m.install(network: "v6fw-traffic", containerID: "pod", podAddresses: podAddr)
            #expect(try pings(pod, Self.outside))
            try m.remove(network: "v6fw-traffic", containerID: "pod", podAddresses: podAddr)
            #expect(try !pings(pod, Self.outside, attempts: 1), "after remove nothing is masqueraded")
            #expect(try pings(pod, Self.outside2))
        }
    }

    /// `ping -6 -c1 -W2` from `ns`; a success is retried (the first packet may race neighbour
    /// discovery), a failure is final only after `attempts` tries.
    func pings(_ ns: TestNamespace, _ address: String, attempts: Int = 3) throws -> Bool {
        for _ in 0..<attempts {
            if try ns.run("ping", "-6", "-n", "-c1", "-W2", address).status == 0 { return true }
        }
        return false
    }

    func buildTopology(pod: TestNamespace, node: TestNamespace, out: TestNamespace, out2: TestNamespace,
                       backend: Backend) throws {
        for ns in [pod, node, out, out2] {
            try ns.must("sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0")
            try ns.must("sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0")
            try ns.must("ip", "link", "set", "lo", "up")
        }
        try node.must("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
        try node.must("ip", "link", "add", "n0", "type", "veth", "peer", "name", "p0", "netns", pod.name)
        try node.must("ip", "link", "add", "n1", "type", "veth", "peer", "name", "o0", "netns", out.name)
        try node.must("ip", "link", "add", "n2", "type", "veth", "peer", "name", "o2", "netns", out2.name)
        for (ns, dev, addr) in [(node, "n0", "fd42:1::1/64"), (node, "n1", "2001:db8:9::1/64"),
                                (node, "n2", "fd42:2::1/64"), (pod, "p0", Self.podAddress + "/64"),
                                (out, "o0", Self.outside + "/64"), (out2, "o2", Self.outside2 + "/64")] {
            try ns.must("ip", "-6", "addr", "add", addr, "dev", dev, "nodad")
            try ns.must("ip", "link", "set", dev, "up")
        }
        try pod.must("ip", "-6", "route", "add", "default", "via", "fd42:1::1")
        try out2.must("ip", "-6", "route", "add", "fd42:1::/64", "via", "fd42:2::1")
        // outside2 answers only echo requests that still carry the pod's own address.
        let filter = "*filter\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 ! -s \(Self.podAddress)/128 -j DROP\nCOMMIT\n"
        let r = try Spawn.run("ip", arguments: ["netns", "exec", out2.name, backend.restore, "--noflush", "-w"],
                              stdin: Array(filter.utf8))
        try #require(r.status == 0, "outside2 filter: \(r.stderrText)")
    }
}

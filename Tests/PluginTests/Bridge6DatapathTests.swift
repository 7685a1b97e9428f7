import Foundation
import Testing

/// bridge6 as a runtime runs it on a node: each test builds its own node, pod and "outside"
/// namespaces, runs the built binary in the node namespace, and judges by the kernel and by packets.
/// Every ping is one echo request with a one-second wait, sent right after ADD returns: with DAD on
/// any of the addresses involved the first packet would be lost, so a pass is the no-DAD proof.
@Suite("bridge6 datapath", .enabled(if: PluginProcess.isRoot))
struct Bridge6DatapathTests {
    typealias K = NamespaceLab

    @Test("ULA pods: usable at once, reach gateway and each other, reach the outside only through masquerade")
    func ulaPods() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:1::/64")
        let outside = try lab.namespace("b6out")
        let pod1 = try lab.namespace("b6pod"), pod2 = try lab.namespace("b6pod")
        // The outside world: a link from the node, an address there, and no route back to the pods.
        try lab.connect(node.ns, "up0", address: "2001:db8:ffff::1/64", outside, "up1", address: "2001:db8:ffff::2/64")
        try K.countEchoRequests(outside, from: "2001:db8:ffff::1/128")
        try K.countEchoRequests(outside, from: "fd42:b6:1::/64")
        #expect(try K.readSysctl(node.ns, "net.ipv6.conf.all.forwarding") == "0")

        let a1 = try node.add(pod1, containerID: "ctr-a")
        #expect(try K.ping(from: pod1, try #require(a1.gateway)), "first echo from pod 1 to its gateway was lost")
        let a2 = try node.add(pod2, containerID: "ctr-b")
        #expect(try K.ping(from: pod2, try #require(a2.gateway)), "first echo from pod 2 to its gateway was lost")
        #expect(try K.ping(from: pod2, a1.address), "first echo from the new pod 2 to pod 1 was lost")
        #expect(try K.ping(from: pod1, a2.address), "first echo from pod 1 to the new pod 2 was lost")

        #expect(a1.address != a2.address)
        #expect(a1.cidr.hasPrefix("fd42:b6:1::") && a1.cidr.hasSuffix("/64"))
        try node.expectReady(a1)
        try node.expectReady(a2)
        #expect(try K.readSysctl(node.ns, "net.ipv6.conf.all.forwarding") == "1", "bridge6 did not enable forwarding")

        // Out through the node, translated to the node's address.
        #expect(try K.ping(from: pod1, "2001:db8:ffff::2"), "ULA pod could not reach the outside")
        #expect(try K.echoRequests(outside, from: "2001:db8:ffff::1/128") == 1, "outside did not see the node's address")
        #expect(try K.echoRequests(outside, from: "fd42:b6:1::/64") == 0, "a ULA source leaked to the outside")

        // Without our chain the same echo leaves with its ULA source and no reply can come back.
        let chain = try #require(try node.masqueradeChain(for: a1.address), "no POSTROUTING jump for \(a1.address)")
        try K.ip6tables(node.ns, "-t nat -F \(chain)")
        #expect(try !K.ping(from: pod1, "2001:db8:ffff::2"), "the outside was reachable without masquerade")
        #expect(try K.echoRequests(outside, from: "fd42:b6:1::/64") == 1, "the untranslated echo did not arrive")
        // Pod 2's chain is untouched.
        #expect(try K.ping(from: pod2, "2001:db8:ffff::2"))
        #expect(try K.echoRequests(outside, from: "2001:db8:ffff::1/128") == 2)
    }

    @Test("GUA pods: routed with their own source address, no NAT rule at all, reachable from outside")
    func guaPods() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        // ipMasq asked for explicitly: a GUA pod address is still never translated.
        let node = try Bridge6Node(lab, subnet: "2001:db8:1::/64", options: ["isDefaultGateway": true, "ipMasq": true])
        let outside = try lab.namespace("b6out")
        let pod = try lab.namespace("b6pod")
        try lab.connect(node.ns, "up0", address: "2001:db8:ffff::1/64", outside, "up1", address: "2001:db8:ffff::2/64")
        try PluginProcess.sh("ip -n \(outside) -6 route add 2001:db8:1::/64 via 2001:db8:ffff::1")
        try K.countEchoRequests(outside, from: "2001:db8:1::/64")
        try K.countEchoRequests(outside, from: "2001:db8:ffff::1/128")

        let a = try node.add(pod)
        #expect(try K.ping(from: pod, "2001:db8:ffff::2"), "first echo from the GUA pod to the outside was lost")
        #expect(try K.echoRequests(outside, from: "2001:db8:1::/64") == 1, "outside did not see the pod's own address")
        #expect(try K.echoRequests(outside, from: "2001:db8:ffff::1/128") == 0, "the pod's address was translated")
        #expect(try K.ping(from: outside, a.address), "the outside could not reach the GUA pod")
        try node.expectReady(a)

        #expect(try node.masqueradeChains().isEmpty)
        let natRules = try node.natRules(mentioning: "")
        #expect(natRules.isEmpty, "GUA pod got nat rules: \(natRules)")
    }

    @Test("two nodes behind a router: pods reach each other across nodes with their own addresses, at once")
    func twoNodes() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let router = try lab.namespace("b6rtr")
        let n1 = try Bridge6Node(lab, subnet: "fd42:b6:a1::/64", network: "ula", bridge: "cni6u")
        let n1g = try Bridge6Node(lab, subnet: "2001:db8:a1::/64", network: "gua", bridge: "cni6g", ns: n1.ns)
        let n2 = try Bridge6Node(lab, subnet: "fd42:b6:a2::/64", network: "ula", bridge: "cni6u")
        let n2g = try Bridge6Node(lab, subnet: "2001:db8:a2::/64", network: "gua", bridge: "cni6g", ns: n2.ns)
        try lab.connect(router, "n1", address: "2001:db8:ff01::1/64", n1.ns, "up0", address: "2001:db8:ff01::2/64")
        try lab.connect(router, "n2", address: "2001:db8:ff02::1/64", n2.ns, "up0", address: "2001:db8:ff02::2/64")
        try K.sysctl(router, "net.ipv6.conf.all.forwarding", "1")
        for (prefix, via) in [("fd42:b6:a1::/64", "2001:db8:ff01::2"), ("2001:db8:a1::/64", "2001:db8:ff01::2"),
                              ("fd42:b6:a2::/64", "2001:db8:ff02::2"), ("2001:db8:a2::/64", "2001:db8:ff02::2")] {
            try PluginProcess.sh("ip -n \(router) -6 route add \(prefix) via \(via)")
        }
        try PluginProcess.sh("ip -n \(n1.ns) -6 route add default via 2001:db8:ff01::1")
        try PluginProcess.sh("ip -n \(n2.ns) -6 route add default via 2001:db8:ff02::1")

        let u1 = try lab.namespace("b6pod"), u2 = try lab.namespace("b6pod")
        let g1 = try lab.namespace("b6pod"), g2 = try lab.namespace("b6pod")
        // Each pod counts the echo requests it gets, by source.
        for (pod, sources) in [(u1, ["fd42:b6:a2::/64", "2001:db8:ff02::2/128"]),
                               (u2, ["fd42:b6:a1::/64", "2001:db8:a1::/64", "2001:db8:ff01::2/128"]),
                               (g1, ["2001:db8:a2::/64", "2001:db8:ff02::2/128"]),
                               (g2, ["2001:db8:a1::/64", "fd42:b6:a1::/64", "2001:db8:ff01::2/128"])] {
            for s in sources { try K.countEchoRequests(pod, from: s) }
        }

        let au1 = try n1.add(u1, containerID: "u1")
        let au2 = try n2.add(u2, containerID: "u2")
        #expect(try K.ping(from: u2, au1.address), "first echo ULA node 2 → node 1 was lost")
        #expect(try K.ping(from: u1, au2.address), "first echo ULA node 1 → node 2 was lost")
        let ag1 = try n1g.add(g1, containerID: "g1")
        let ag2 = try n2g.add(g2, containerID: "g2")
        #expect(try K.ping(from: g2, ag1.address), "first echo GUA node 2 → node 1 was lost")
        #expect(try K.ping(from: g1, ag2.address), "first echo GUA node 1 → node 2 was lost")
        #expect(try K.ping(from: g1, au2.address), "GUA pod on node 1 → ULA pod on node 2 failed")
        for (node, a) in [(n1, au1), (n2, au2), (n1g, ag1), (n2g, ag2)] { try node.expectReady(a) }

        // Between ULA pods, and from a GUA pod, the source is the pod's own address: no NAT.
        #expect(try K.echoRequests(u1, from: "fd42:b6:a2::/64") == 1)
        #expect(try K.echoRequests(u2, from: "fd42:b6:a1::/64") == 1)
        #expect(try K.echoRequests(u1, from: "2001:db8:ff02::2/128") == 0)
        #expect(try K.echoRequests(u2, from: "2001:db8:ff01::2/128") == 0)
        #expect(try K.echoRequests(g1, from: "2001:db8:a2::/64") == 1)
        #expect(try K.echoRequests(g2, from: "2001:db8:a1::/64") == 1)
        #expect(try K.echoRequests(u2, from: "2001:db8:a1::/64") == 1)
        #expect(try K.echoRequests(g1, from: "2001:db8:ff02::2/128") == 0)
        #expect(try K.echoRequests(g2, from: "2001:db8:ff01::2/128") == 0)

        // A ULA pod towards a global address is masqueraded (documented in Masquerade.swift): the
        // GUA pod on the other node sees node 1's address.
        #expect(try K.ping(from: u1, ag2.address), "ULA pod on node 1 → GUA pod on node 2 failed")
        #expect(try K.echoRequests(g2, from: "2001:db8:ff01::2/128") == 1)
        #expect(try K.echoRequests(g2, from: "fd42:b6:a1::/64") == 0)
        // Only the ULA attachments have chains.
        #expect(try n1.masqueradeChains().count == 1)
        #expect(try n2.masqueradeChains().count == 1)
    }
}

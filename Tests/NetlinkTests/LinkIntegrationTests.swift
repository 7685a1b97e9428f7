import Glibc
import Testing
@testable import Netlink

/// Links against the real kernel, in namespaces the tests create (root only). Every check compares
/// with `ip -j -n <ns>`, the kernel's own view.
@Suite(.enabled(if: isRoot, "needs root to create network namespaces"))
struct LinkIntegrationTests {
    func ipLink(_ ns: TestNamespace, _ name: String) throws -> [String: Any] {
        try #require(try ns.ipJSON("-d", "link", "show", "dev", name).first)
    }

    @Test func bridgeIsCreatedWithMTUAndMAC() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()

        let mac = MACAddress("02:42:00:00:00:01")!
        let br = try sock.addBridge(name: "br-test", mtu: 1400, mac: mac)
        #expect(br.name == "br-test" && br.kind == "bridge" && br.mtu == 1400 && br.mac == mac)
        #expect(!br.isUp)

        let k = try ipLink(ns, "br-test")
        #expect(k["ifindex"] as? Int == Int(br.index))
        #expect((k["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")
        #expect(k["mtu"] as? Int == 1400)
        #expect(k["address"] as? String == "02:42:00:00:00:01")

        // Lookups by name and index agree with the creation result.
        #expect(try sock.link(named: "br-test") == br)
        #expect(try sock.link(index: br.index)?.name == "br-test")
        #expect(try sock.links().contains { $0.name == "lo" && $0.flags.contains(.loopback) })
    }

    @Test func existingNameFailsWithEEXISTAndReadableMessage() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()
        try sock.addBridge(name: "br-dup")
        let e = expectKernelError { try sock.addBridge(name: "br-dup") }
        #expect(e?.errno == EEXIST)
        #expect(e?.isExists == true)
        #expect(e?.description.hasPrefix("creating bridge br-dup in \(ns.path): File exists") == true)
    }

    @Test func missingLinksAreNilOrENODEV() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()
        #expect(try sock.link(named: "nope0") == nil)
        #expect(try sock.link(index: 9999) == nil)
        let e = expectKernelError { try sock.deleteLink(index: 9999) }
        #expect(e?.errno == ENODEV && e?.isNotFound == true)
        #expect(e?.description.hasPrefix("deleting link #9999 in \(ns.path): No such device") == true)
        let e2 = expectKernelError { try sock.setUp(index: 9999) }
        #expect(e2?.errno == ENODEV)
        #expect(expectKernelError { _ = try sock.requireLink(named: "nope0") }?.isNotFound == true)
    }

    /// The node-side socket creates the veth and puts the peer straight into the pod namespace.
    @Test func vethFromNodeWithPeerInPod() throws {
        let node = try TestNamespace(), pod = try TestNamespace()
        defer { node.destroy(); pod.destroy() }
        let nodeSock = try node.socket(), podSock = try pod.socket()

        let host = try nodeSock.addVeth(name: "veth-h1", peerName: "eth0", peerNamespace: pod.namespace,
                                        mtu: 1420, mac: MACAddress("02:00:00:00:01:01"),
                                        peerMAC: MACAddress("02:00:00:00:01:02"))
        #expect(host.kind == "veth" && host.mtu == 1420)
        #expect(host.linkNetnsID != nil)  // the peer lives elsewhere

        // The kernel: eth0 exists only in the pod, with its MTU and MAC; veth-h1 only on the node.
        let eth0 = try ipLink(pod, "eth0")
        #expect((eth0["linkinfo"] as? [String: Any])?["info_kind"] as? String == "veth")
        #expect(eth0["mtu"] as? Int == 1420)
        #expect(eth0["address"] as? String == "02:00:00:00:01:02")
        #expect(eth0["ifindex"] as? Int == Int(host.linkIndex ?? -1))
        #expect(try node.ipJSON("link", "show", "dev", "veth-h1").first?["address"] as? String == "02:00:00:00:01:01")
        #expect(try node.ipJSON("link", "show").contains { $0["ifname"] as? String == "eth0" } == false)
        // One queue each way on both ends (the kernel's default, one per CPU, costs two RCU grace
        // periods under RTNL; this machine has more than one CPU).
        for end in [eth0, try ipLink(node, "veth-h1")] {
            #expect(end["num_tx_queues"] as? Int == 1 && end["num_rx_queues"] as? Int == 1, "\(end)")
        }

        // Our lookup in the pod agrees and points back at the host end.
        let podEnd = try #require(try podSock.link(named: "eth0"))
        #expect(podEnd.linkIndex == host.index)

        // Bring both ends up, each through its own namespace's socket.
        try podSock.setUp(index: podEnd.index)
        try nodeSock.setUp(index: host.index)
        #expect((try ipLink(pod, "eth0")["flags"] as? [String])?.contains("UP") == true)
        #expect((try ipLink(node, "veth-h1")["flags"] as? [String])?.contains("UP") == true)
        #expect(try nodeSock.link(index: host.index)?.isUp == true)

        // Deleting one end removes both.
        try nodeSock.deleteLink(index: host.index)
        #expect(try podSock.link(named: "eth0") == nil)
        #expect(try pod.ipJSON("link", "show").contains { $0["ifname"] as? String == "eth0" } == false)
    }

    /// A peer name already taken in the pod: EEXIST, and nothing is left behind on the node.
    @Test func vethPeerNameTakenInPod() throws {
        let node = try TestNamespace(), pod = try TestNamespace()
        defer { node.destroy(); pod.destroy() }
        let nodeSock = try node.socket(), podSock = try pod.socket()
        try podSock.addBridge(name: "eth0")
        let e = expectKernelError {
            try nodeSock.addVeth(name: "veth-x", peerName: "eth0", peerNamespace: pod.namespace)
        }
        #expect(e?.isExists == true)
        #expect(e?.description.hasPrefix(
            "creating veth veth-x (peer eth0 in \(pod.path)) in \(node.path): File exists") == true)
        #expect(try nodeSock.link(named: "veth-x") == nil)
        #expect(try node.ipJSON("link", "show").contains { $0["ifname"] as? String == "veth-x" } == false)
    }

    /// The pod-side socket creates eth0 and places the host end into the node namespace.
    @Test func vethFromPodWithHostEndOnNode() throws {
        let node = try TestNamespace(), pod = try TestNamespace()
        defer { node.destroy(); pod.destroy() }
        let nodeSock = try node.socket(), podSock = try pod.socket()

        let eth0 = try podSock.addVeth(name: "eth0", peerName: "veth-h2", peerNamespace: node.namespace, mtu: 9000)
        #expect(eth0.name == "eth0" && eth0.mtu == 9000)
        let host = try #require(try nodeSock.link(named: "veth-h2"))
        #expect(host.mtu == 9000 && host.kind == "veth" && host.linkIndex == eth0.index)
        #expect(try ipLink(node, "veth-h2")["mtu"] as? Int == 9000)
        #expect(try ipLink(pod, "eth0")["ifindex"] as? Int == Int(eth0.index))
    }

    @Test func masterHairpinIsolatedPromiscMTUAndMAC() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()
        let br = try sock.addBridge(name: "br0")
        let v = try sock.addVeth(name: "vp0", peerName: "vp1")

        try sock.setMaster(index: v.index, master: br.index)
        #expect(try ipLink(ns, "vp0")["master"] as? String == "br0")
        #expect(try sock.link(index: v.index)?.masterIndex == br.index)
        #expect(try sock.link(index: v.index)?.slaveKind == "bridge")
        // The port's STP state as the kernel reports it: disabled while down, forwarding once both
        // ends are up (no STP) and linkwatch has seen the carrier.
        func state() throws -> (UInt8?, String?) {
            let info = ((try ipLink(ns, "vp0"))["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
            return (try sock.link(index: v.index)?.bridgePortState, info?["state"] as? String)
        }
        #expect(try state() == (0, "disabled"))
        for name in ["br0", "vp0", "vp1"] { try sock.setUp(index: try sock.requireLink(named: name).index) }
        for _ in 0..<500 where try state().0 != 3 { usleep(2_000) }
        #expect(try state() == (3, "forwarding"))
        #expect(try sock.link(index: br.index)?.bridgePortState == nil)

        try sock.setBridgePort(index: v.index, hairpin: true, isolated: true)
        var port = try #require(((try ipLink(ns, "vp0"))["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any])
        #expect(port["hairpin"] as? Bool == true)
        #expect(port["isolated"] as? Bool == true)
        try sock.setBridgePort(index: v.index, hairpin: false)
        port = try #require(((try ipLink(ns, "vp0"))["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any])
        #expect(port["hairpin"] as? Bool == false)
        #expect(port["isolated"] as? Bool == true)  // untouched

        try sock.setPromiscuous(index: v.index, true)
        #expect((try ipLink(ns, "vp0")["flags"] as? [String])?.contains("PROMISC") == true)
        #expect(try sock.link(index: v.index)?.isPromiscuous == true)
        try sock.setPromiscuous(index: v.index, false)
        #expect((try ipLink(ns, "vp0")["flags"] as? [String])?.contains("PROMISC") == false)

        try sock.setMTU(index: v.index, 1280)
        try sock.setMAC(index: v.index, MACAddress("02:11:22:33:44:55")!)
        let k = try ipLink(ns, "vp0")
        #expect(k["mtu"] as? Int == 1280)
        #expect(k["address"] as? String == "02:11:22:33:44:55")

        try sock.setMaster(index: v.index, master: nil)
        #expect(try ipLink(ns, "vp0")["master"] == nil)
        #expect(try sock.link(index: v.index)?.masterIndex == nil)

        try sock.setName(index: v.index, "renamed0")
        #expect(try ipLink(ns, "renamed0")["ifindex"] as? Int == Int(v.index))

        try sock.deleteLink(named: "br0")
        #expect(try sock.link(named: "br0") == nil)
    }

    @Test func moveLinkToAnotherNamespace() throws {
        let a = try TestNamespace(), b = try TestNamespace()
        defer { a.destroy(); b.destroy() }
        let sa = try a.socket()
        try sa.addVeth(name: "mv0", peerName: "mv1")
        let mv1 = try #require(try sa.link(named: "mv1"))
        try sa.moveLink(index: mv1.index, to: b.namespace)
        #expect(try sa.link(named: "mv1") == nil)
        #expect(try b.ipJSON("link", "show", "dev", "mv1").count == 1)
    }
}

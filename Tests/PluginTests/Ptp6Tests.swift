import Foundation
import Testing

/// ptp6 as a runtime runs it: the built binary inside a node namespace of the test's own, pods in
/// namespaces of their own, host-local6 delegated from CNI_PATH, leases in a temporary directory.
@Suite(.enabled(if: PluginProcess.isRoot))
struct Ptp6Tests {
    // MARK: Datapath

    @Test("two pods reach each other and the node, and the node reaches them, with the first packet after ADD")
    func twoPodsFirstPacket() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let p1 = try lab.addPod(), p2 = try lab.addPod()

        let add1 = try lab.ptp6("ADD", id: "c1", pod: p1, config: lab.config())
        try #require(add1.status == 0, "ADD: \(add1.stdout) \(add1.stderr)")
        let r1 = Ptp6Result(add1)
        // The node's first packet to a pod that has just been added (no DAD wait on either side).
        #expect(try lab.ping(from: lab.node, r1.address), "node → pod 1, first packet")

        let add2 = try lab.ptp6("ADD", id: "c2", pod: p2, config: lab.config())
        try #require(add2.status == 0, "ADD: \(add2.stdout) \(add2.stderr)")
        let r2 = Ptp6Result(add2)
        #expect(r1.address != r2.address)
        // Pod 2's very first packet: its gateway fe80::1 is resolved and the node forwards to pod 1.
        #expect(try lab.ping(from: p2, r1.address), "pod 2 → pod 1, first packet")
        #expect(try lab.ping(from: p1, r2.address), "pod 1 → pod 2")
        #expect(try lab.ping(from: p1, Ptp6Lab.nodeUplink), "pod 1 → node (GUA)")
        #expect(try lab.ping(from: p2, Ptp6Lab.nodeULA), "pod 2 → node (ULA)")
        #expect(try lab.ping(from: lab.node, r2.address), "node → pod 2")

        // How it is wired: the pod's address with its IPAM prefix length, NODAD and without a prefix
        // route; nothing tentative on either end.
        let podAddrs = try lab.addresses(in: p1, dev: "eth0")
        let global = try #require(podAddrs.first { $0["scope"] as? String == "global" })
        #expect(global["local"] as? String == r1.address)
        #expect(global["prefixlen"] as? Int == 64)
        #expect(global["nodad"] as? Bool == true)
        #expect(global["noprefixroute"] as? Bool == true)
        #expect(podAddrs.allSatisfy { $0["tentative"] == nil && $0["dadfailed"] == nil }, "\(podAddrs)")
        #expect(try lab.sysctl(in: p1, "net/ipv6/conf/eth0/accept_ra") == "0")
        #expect(try lab.sysctl(in: p1, "net/ipv6/conf/eth0/autoconf") == "0")

        // The pod's /64 is routed via fe80::1 (other pods are not on-link), as is the default.
        let podRoutes = try lab.routes(in: p1)
        #expect(podRoutes.contains { $0["dst"] as? String == "fd42:3::/64" && $0["gateway"] as? String == "fe80::1" && $0["dev"] as? String == "eth0" })
        #expect(podRoutes.contains { $0["dst"] as? String == "default" && $0["gateway"] as? String == "fe80::1" })
        #expect(!podRoutes.contains { $0["dst"] as? String == "fd42:3::/64" && $0["gateway"] == nil }, "on-link prefix route: \(podRoutes)")

        // Node side: fe80::1 (NODAD) and no global address on the host veth, its own link-local not
        // tentative, accept_dad=0, a /128 to the pod, forwarding on.
        let hostAddrs = try lab.addresses(in: lab.node, dev: r1.hostVeth)
        #expect(hostAddrs.contains { $0["local"] as? String == "fe80::1" && $0["prefixlen"] as? Int == 64 && $0["nodad"] as? Bool == true })
        #expect(hostAddrs.allSatisfy { $0["scope"] as? String == "link" }, "global address on host veth: \(hostAddrs)")
        #expect(hostAddrs.allSatisfy { $0["tentative"] == nil }, "\(hostAddrs)")
        #expect(try lab.sysctl(in: lab.node, "net/ipv6/conf/\(r1.hostVeth)/accept_dad") == "0")
        #expect(try lab.sysctl(in: lab.node, "net/ipv6/conf/all/forwarding") == "1")
        let hostRoutes = try lab.hostRoutes()
        #expect(hostRoutes.contains { $0["dst"] as? String == r1.address && $0["dev"] as? String == r1.hostVeth && $0["gateway"] == nil })
        #expect(hostRoutes.contains { $0["dst"] as? String == r2.address && $0["dev"] as? String == r2.hostVeth })

        // The result says the same.
        #expect(r1.ips.first?["gateway"] as? String == "fe80::1")
        #expect(r1.ips.first?["interface"] as? Int == 1)
        #expect(r1.cidr.hasSuffix("/64"))

        for (id, pod, add) in [("c1", p1, add1), ("c2", p2, add2)] {
            var conf = lab.config()
            conf["prevResult"] = add.json
            let del = try lab.ptp6("DEL", id: id, pod: pod, config: conf)
            #expect(del.status == 0, "DEL \(id): \(del.stdout)")
        }
        try lab.expectNoResidue("after DEL")
    }

    @Test("the first packet gets through when host veth and pod eth0 have the same ifindex")
    func firstPacketSameIfindex() throws {
        // A node with only lo: the host veth gets ifindex 2 like the pod's eth0. For such a pair the
        // kernel applies the carrier change lazily (up to ~1 s later; until then the veth drops what
        // it sends) unless ptp6 makes it finish before ADD returns.
        for round in 1...3 {
            let lab = try Ptp6Lab(uplink: false)
            defer { lab.destroy() }
            let pod = try lab.addPod()
            let add = try lab.ptp6("ADD", id: "same\(round)", pod: pod, config: lab.config())
            try #require(add.status == 0, "ADD: \(add.stdout)")
            let r = Ptp6Result(add)
            // Ping before looking at anything: a link query would itself nudge the kernel.
            if round % 2 == 1 {
                #expect(try lab.ping(from: lab.node, r.address), "node → pod, first packet (round \(round))")
            } else {
                #expect(try lab.ping(from: pod, Ptp6Lab.nodeULA), "pod → node, first packet (round \(round))")
            }
            let hostIndex = try lab.ifindex(in: lab.node, dev: r.hostVeth)
            let podIndex = try lab.ifindex(in: pod, dev: "eth0")
            #expect(hostIndex != nil && hostIndex == podIndex, "the case needs equal ifindexes: host \(String(describing: hostIndex)), pod \(String(describing: podIndex))")
        }
    }

    @Test("a ULA pod reaches the outside only through masquerade")
    func ulaMasquerade() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        let add = try lab.ptp6("ADD", id: "ula1", pod: pod, config: lab.config())
        try #require(add.status == 0, "ADD: \(add.stdout)")
        let table = try lab.natTable()
        let chain = try #require(try lab.natChain(for: "ula1"), "no masquerade jump for the pod:\n\(table)")
        #expect(try lab.natTable().contains("-A \(chain) -m comment --comment \"name: \\\"\(lab.network)\\\" id: \\\"ula1\\\"\" -j MASQUERADE"))

        // The outside has no route back to fd42:3::/64: only the node's address as source works.
        #expect(try lab.ping(from: pod, Ptp6Lab.outsideAddress), "ULA pod → outside, masqueraded")
        try Ptp6Lab.sh("ip netns exec \(lab.node) ip6tables -w -t nat -F \(chain)")
        #expect(try !lab.ping(from: pod, Ptp6Lab.outsideAddress), "without the MASQUERADE rule the outside cannot answer")

        var conf = lab.config()
        conf["prevResult"] = add.json
        #expect(try lab.ptp6("DEL", id: "ula1", pod: pod, config: conf).status == 0)
        try lab.expectNoResidue("after DEL of a flushed chain")
    }

    @Test("a GUA pod reaches the outside with its own address, no NAT rule on the node")
    func guaRoutedAsIs() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        let add = try lab.ptp6("ADD", id: "gua1", pod: pod, config: lab.config(subnet: "2001:db8:a::/64"))
        try #require(add.status == 0, "ADD: \(add.stdout)")
        let r = Ptp6Result(add)
        #expect(r.address.hasPrefix("2001:db8:a::"))
        let table = try lab.natTable()
        #expect(try lab.natChains().isEmpty, "GUA must not be masqueraded:\n\(table)")
        #expect(!table.contains("MASQUERADE"))

        // The outside routes the pod prefix back to the node and counts what arrives from the pod.
        try Ptp6Lab.sh("ip -n \(lab.outside) -6 route add 2001:db8:a::/64 via \(Ptp6Lab.nodeUplink)")
        try Ptp6Lab.sh("ip netns exec \(lab.outside) ip6tables -w -A INPUT -s \(r.address)/128 -p ipv6-icmp -j ACCEPT")
        #expect(try lab.ping(from: pod, Ptp6Lab.outsideAddress), "GUA pod → outside")
        let counters = try PluginProcess.sh("ip netns exec \(lab.outside) ip6tables-save -c -t filter")
        let line = counters.split(separator: "\n").first { $0.contains("-A INPUT -s \(r.address)/128") }
        let packets = line.flatMap { Int($0.dropFirst().prefix { $0 != ":" }) } ?? 0
        #expect(packets >= 1, "the outside saw no packet from \(r.address): \(counters)")
        #expect(try lab.ping(from: lab.outside, r.address), "outside → GUA pod")

        var conf = lab.config(subnet: "2001:db8:a::/64")
        conf["prevResult"] = add.json
        #expect(try lab.ptp6("DEL", id: "gua1", pod: pod, config: conf).status == 0)
        try lab.expectNoResidue("after DEL")
    }

    // MARK: DEL

    @Test("DEL removes everything, twice, also after the pod namespace is gone, with and without prevResult")
    func delIsCompleteAndIdempotent() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        // 1: the usual order.
        let p1 = try lab.addPod()
        let add1 = try lab.ptp6("ADD", id: "d1", pod: p1, config: lab.config())
        try #require(add1.status == 0, "ADD: \(add1.stdout)")
        var conf1 = lab.config()
        conf1["prevResult"] = add1.json
        #expect(try lab.ptp6("DEL", id: "d1", pod: p1, config: conf1).status == 0)
        try lab.expectNoResidue("after DEL")
        #expect(try !lab.links(in: p1).contains("eth0"))
        let again = try lab.ptp6("DEL", id: "d1", pod: p1, config: conf1)
        #expect(again.status == 0, "second DEL: \(again.stdout)")

        // 1b: no prevResult but the pod is still there: its interface names the addresses, so the
        // chain goes in one exact transaction, without reading the whole nat table (ip6tables-save
        // is O(pods on the node): 200+ ms with 1000). A spy ip6tables-save first in PATH counts calls.
        let spy = lab.data.path + "/spy"
        try FileManager.default.createDirectory(atPath: spy, withIntermediateDirectories: true)
        try "#!/bin/sh\necho save >> \(spy)/calls\nexec /usr/sbin/ip6tables-save \"$@\"\n"
            .write(toFile: spy + "/ip6tables-save", atomically: true, encoding: .utf8)
        chmod(spy + "/ip6tables-save", 0o755)
        let spyEnv = ["PATH": "\(spy):/usr/sbin:/usr/bin:/sbin:/bin"]
        let p1b = try lab.addPod()
        let add1b = try lab.ptp6("ADD", id: "d1b", pod: p1b, config: lab.config(), env: spyEnv)
        try #require(add1b.status == 0, "ADD: \(add1b.stdout)")
        #expect(try lab.natChains().count == 1)
        let del1b = try lab.ptp6("DEL", id: "d1b", pod: p1b, config: lab.config(), env: spyEnv)
        #expect(del1b.status == 0, "DEL without prevResult: \(del1b.stdout)")
        try lab.expectNoResidue("after DEL without prevResult")
        #expect(!FileManager.default.fileExists(atPath: spy + "/calls"), "DEL read the whole nat table")

        // 2: the pod namespace is deleted before DEL (prevResult given).
        let p2 = try lab.addPod()
        let add2 = try lab.ptp6("ADD", id: "d2", pod: p2, config: lab.config())
        try #require(add2.status == 0, "ADD: \(add2.stdout)")
        #expect(try lab.hostVeths().count == 1)
        #expect(lab.leases().count == 1)
        #expect(try lab.natChains().count == 1)
        try lab.deletePod(p2)
        var conf2 = lab.config()
        conf2["prevResult"] = add2.json
        let del2 = try lab.ptp6("DEL", id: "d2", pod: p2, config: conf2)
        #expect(del2.status == 0, "DEL without netns: \(del2.stdout)")
        try lab.expectNoResidue("after DEL without the netns")
        #expect(try lab.ptp6("DEL", id: "d2", pod: p2, config: conf2).status == 0)

        // 3: no netns and no prevResult (a 0.3.x runtime): chain found by name, lease by IPAM. The
        // host veth is then known to nobody but the kernel, which removes it with the namespace —
        // asynchronously, after `ip netns del` returns — so wait for that before looking.
        let p3 = try lab.addPod()
        let add3 = try lab.ptp6("ADD", id: "d3", pod: p3, config: lab.config())
        try #require(add3.status == 0, "ADD: \(add3.stdout)")
        try lab.deletePod(p3)
        let deadline = Date().addingTimeInterval(10)
        while try !lab.hostVeths().isEmpty, Date() < deadline { usleep(20_000) }
        let del3 = try lab.ptp6("DEL", id: "d3", pod: p3, config: lab.config())
        #expect(del3.status == 0, "DEL without netns and prevResult: \(del3.stdout)")
        try lab.expectNoResidue("after DEL without netns and prevResult")

        // 4: DEL for an attachment that never existed.
        #expect(try lab.ptp6("DEL", id: "never", pod: "p6-none-\(getpid())", config: lab.config()).status == 0)
    }

    // MARK: Versions

    @Test("ADD, CHECK, STATUS, DEL in each spec version", arguments: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    func versions(_ version: String) throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        if version == "1.1.0" {
            let status = try lab.ptp6("STATUS", id: "v", pod: pod, config: lab.config(version: version))
            #expect(status.status == 0 && status.stdout.isEmpty, "STATUS: \(status.stdout)")
        }
        let add = try lab.ptp6("ADD", id: "v", pod: pod, config: lab.config(version: version))
        try #require(add.status == 0, "ADD \(version): \(add.stdout)")
        let r = Ptp6Result(add)
        #expect(r.json["cniVersion"] as? String == version)
        #expect(r.interfaces.count == 2)
        #expect(r.hostVeth.hasPrefix("veth") && (r.interfaces.first?["sandbox"] as? String ?? "").isEmpty)
        #expect(r.interfaces.last?["name"] as? String == "eth0")
        #expect(r.interfaces.last?["sandbox"] as? String == "/run/netns/\(pod)")
        #expect(r.ips.count == 1)
        #expect(r.ips.first?["interface"] as? Int == 1)
        #expect(r.ips.first?["gateway"] as? String == "fe80::1")
        #expect((r.ips.first?["version"] as? String) == (version < "1.0.0" ? "6" : nil))
        #expect(r.routes.contains { $0["dst"] as? String == "::/0" && $0["gw"] as? String == "fe80::1" }, "\(r.routes)")
        #expect(r.routes.allSatisfy { $0["gw"] as? String == "fe80::1" }, "\(r.routes)")
        #expect(try lab.hostVeths() == [r.hostVeth])

        var withPrev = lab.config(version: version)
        withPrev["prevResult"] = r.json
        let check = try lab.ptp6("CHECK", id: "v", pod: pod, config: withPrev)
        if version == "0.3.1" {
            #expect(check.errorCode == 1, "CHECK below 0.4.0: \(check.stdout)")
        } else {
            #expect(check.status == 0 && check.stdout.isEmpty, "CHECK \(version): \(check.stdout)")
        }
        let del = try lab.ptp6("DEL", id: "v", pod: pod, config: version == "0.3.1" ? lab.config(version: version) : withPrev)
        #expect(del.status == 0, "DEL \(version): \(del.stdout)")
        try lab.expectNoResidue("after DEL \(version)")
        #expect(try !lab.links(in: pod).contains("eth0"))
    }

    // MARK: Options

    @Test("mtu, MAC (runtimeConfig > args.cni > CNI_ARGS) and dns (overrides IPAM's) reach the pod")
    func options() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let resolv = "\(lab.data.path)/resolv.conf"
        try "nameserver fd42:53::1\nsearch ipam.test\n".write(toFile: resolv, atomically: true, encoding: .utf8)
        func conf() -> [String: Any] {
            var c = lab.config()
            var ipam = c["ipam"] as! [String: Any]
            ipam["resolvConf"] = resolv
            c["ipam"] = ipam
            c["mtu"] = 1400
            return c
        }
        let cases: [(id: String, edit: (inout [String: Any]) -> Void, cniArgs: String, mac: String)] = [
            ("m1", { $0["runtimeConfig"] = ["mac": "c2:11:22:33:44:01"]; $0["args"] = ["cni": ["mac": "c2:11:22:33:44:02"]] },
             "IgnoreUnknown=1;MAC=c2:11:22:33:44:03", "c2:11:22:33:44:01"),
            ("m2", { $0["args"] = ["cni": ["mac": "c2:11:22:33:44:02"]] }, "IgnoreUnknown=1;MAC=c2:11:22:33:44:03", "c2:11:22:33:44:02"),
            ("m3", { $0["dns"] = ["nameservers": ["fd42:53::2"]] }, "IgnoreUnknown=1;K8S_POD_NAME=x;MAC=c2:11:22:33:44:03", "c2:11:22:33:44:03"),
        ]
        for c in cases {
            let pod = try lab.addPod()
            var config = conf()
            c.edit(&config)
            let add = try lab.ptp6("ADD", id: c.id, pod: pod, config: config, env: ["CNI_ARGS": c.cniArgs])
            try #require(add.status == 0, "ADD \(c.id): \(add.stdout)")
            let r = Ptp6Result(add)
            let eth0 = try #require(try Ptp6Lab.jsonArray("ip -j -n \(pod) link show dev eth0").first)
            #expect(eth0["address"] as? String == c.mac, "\(c.id)")
            #expect(eth0["mtu"] as? Int == 1400)
            let host = try #require(try Ptp6Lab.jsonArray("ip -j -n \(lab.node) link show dev \(r.hostVeth)").first)
            #expect(host["mtu"] as? Int == 1400)
            #expect(r.interfaces.last?["mac"] as? String == c.mac)
            #expect(r.interfaces.allSatisfy { $0["mtu"] as? Int == 1400 })
            let dns = r.json["dns"] as? [String: Any]
            let expected = c.id == "m3" ? ["fd42:53::2"] : ["fd42:53::1"]
            #expect(dns?["nameservers"] as? [String] == expected, "\(c.id): \(String(describing: dns))")
            #expect(try lab.ping(from: pod, Ptp6Lab.nodeULA))
            var del = config
            del["prevResult"] = r.json
            #expect(try lab.ptp6("DEL", id: c.id, pod: pod, config: del).status == 0)
        }
        try lab.expectNoResidue("after DEL")
    }

    @Test("STATUS is 50 when masquerade is needed and ip6tables-restore is missing, 0 with ipMasq false")
    func statusWithoutIptables() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        let missing = try lab.ptp6("STATUS", id: "s", pod: pod, config: lab.config(version: "1.1.0"), env: ["PATH": "/nonexistent"])
        #expect(missing.errorCode == 50, "\(missing.stdout)")
        var noMasq = lab.config(version: "1.1.0")
        noMasq["ipMasq"] = false
        let ok = try lab.ptp6("STATUS", id: "s", pod: pod, config: noMasq, env: ["PATH": "/nonexistent"])
        #expect(ok.status == 0, "\(ok.stdout)")
        // An IPAM plugin that is not in CNI_PATH is not ready either.
        var badIPAM = lab.config(version: "1.1.0")
        badIPAM["ipam"] = ["type": "no-such-ipam-\(getpid())"]
        let noIPAM = try lab.ptp6("STATUS", id: "s", pod: pod, config: badIPAM)
        #expect(noIPAM.status != 0, "\(noIPAM.stdout)")
    }

    // MARK: CHECK, GC

    @Test("CHECK notices a missing node route, gateway address or masquerade chain")
    func checkDetectsDamage() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        let add = try lab.ptp6("ADD", id: "k", pod: pod, config: lab.config())
        try #require(add.status == 0, "ADD: \(add.stdout)")
        let r = Ptp6Result(add)
        var conf = lab.config()
        conf["prevResult"] = r.json
        func check() throws -> PluginProcess.Output { try lab.ptp6("CHECK", id: "k", pod: pod, config: conf) }
        #expect(try check().status == 0)

        try Ptp6Lab.sh("ip -n \(lab.node) -6 route del \(r.address)/128 dev \(r.hostVeth)")
        let noRoute = try check()
        #expect(noRoute.errorCode == 100 && noRoute.errorMessage.contains("\(r.address)/128"), "\(noRoute.stdout)")
        try Ptp6Lab.sh("ip -n \(lab.node) -6 route add \(r.address)/128 dev \(r.hostVeth)")
        #expect(try check().status == 0)

        try Ptp6Lab.sh("ip -n \(lab.node) addr del fe80::1/64 dev \(r.hostVeth)")
        let noGateway = try check()
        #expect(noGateway.errorCode == 100 && noGateway.errorMessage.contains("fe80::1"), "\(noGateway.stdout)")
        try Ptp6Lab.sh("ip -n \(lab.node) addr add fe80::1/64 dev \(r.hostVeth) nodad")
        #expect(try check().status == 0)

        try Ptp6Lab.sh("ip -n \(pod) -6 route del default via fe80::1 dev eth0")
        let noDefault = try check()
        #expect(noDefault.errorCode == 100 && noDefault.errorMessage.contains("::/0"), "\(noDefault.stdout)")
        try Ptp6Lab.sh("ip -n \(pod) -6 route add default via fe80::1 dev eth0")

        let chain = try #require(try lab.natChain(for: "k"))
        try Ptp6Lab.sh("ip netns exec \(lab.node) ip6tables -w -t nat -F \(chain)")
        let noMasq = try check()
        #expect(noMasq.errorCode == 100 && noMasq.errorMessage.contains("masquerade"), "\(noMasq.stdout)")

        // The lease is gone: the delegated IPAM CHECK fails, and ptp6 passes that on.
        try FileManager.default.removeItem(atPath: "\(lab.data.path)/\(lab.network)/\(r.address)")
        let noLease = try check()
        #expect(noLease.status != 0 && noLease.errorMessage.contains("IPAM"), "\(noLease.stdout)")

        #expect(try lab.ptp6("DEL", id: "k", pod: pod, config: conf).status == 0)
        try lab.expectNoResidue("after DEL")
    }

    @Test("GC releases leases and chains of attachments that are not valid, keeps the valid one")
    func gcRemovesStale() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let p1 = try lab.addPod(), p2 = try lab.addPod()
        let add1 = try lab.ptp6("ADD", id: "keep", pod: p1, config: lab.config(version: "1.1.0"))
        let add2 = try lab.ptp6("ADD", id: "stale", pod: p2, config: lab.config(version: "1.1.0"))
        try #require(add1.status == 0 && add2.status == 0, "\(add1.stdout) \(add2.stdout)")
        #expect(lab.leases().count == 2)
        #expect(try lab.natChains().count == 2)

        var gc = lab.config(version: "1.1.0")
        gc["cni.dev/valid-attachments"] = [["containerID": "keep", "ifname": "eth0"]]
        let out = try PluginProcess("ptp6").run("GC", config: Ptp6Lab.json(gc), netnsExec: lab.node)
        #expect(out.status == 0, "GC: \(out.stdout)")
        #expect(lab.leases() == [Ptp6Result(add1).address])
        #expect(try lab.natChain(for: "keep") != nil)
        #expect(try lab.natChain(for: "stale") == nil)
        #expect(try lab.natChains().count == 1)

        for (id, pod, add) in [("keep", p1, add1), ("stale", p2, add2)] {
            var conf = lab.config(version: "1.1.0")
            conf["prevResult"] = add.json
            #expect(try lab.ptp6("DEL", id: id, pod: pod, config: conf).status == 0)
        }
        try lab.expectNoResidue("after DEL")
    }

    // MARK: Refusals and rollback

    struct BadConfig: CustomTestStringConvertible, Sendable {
        let name: String
        let code: Int
        let fragment: String
        let edit: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { name }
    }

    static let badConfigs: [BadConfig] = [
        BadConfig(name: "unknown option", code: 2, fragment: "bogusOption") { $0["bogusOption"] = true },
        BadConfig(name: "mtu below 1280", code: 7, fragment: "mtu") { $0["mtu"] = 1000 },
        BadConfig(name: "missing ipam", code: 7, fragment: "ipam") { $0["ipam"] = nil },
        BadConfig(name: "bad MAC", code: 7, fragment: "MAC") { $0["runtimeConfig"] = ["mac": "not-a-mac"] },
        // host-local6 allocates from a documentation IPv4 range in the lab's temporary directory;
        // ptp6 refuses before anything reaches the kernel and must release that lease.
        BadConfig(name: "IPv4 address from IPAM", code: 7, fragment: "IPv4") { conf in
            var ipam = conf["ipam"] as! [String: Any]
            ipam["ranges"] = [[["subnet": "fd42:3::/64"]], [["subnet": "192.0.2.0/24"]]]
            conf["ipam"] = ipam
        },
        BadConfig(name: "explicit global next hop", code: 7, fragment: "link-local") { conf in
            var ipam = conf["ipam"] as! [String: Any]
            ipam["routes"] = [["dst": "fd42:9::/64", "gw": "fd42:3::1"]]
            conf["ipam"] = ipam
        },
    ]

    @Test("bad configurations are refused with the right code and leave nothing behind", arguments: badConfigs)
    func refusals(_ bad: BadConfig) throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        var conf = lab.config()
        bad.edit(&conf)
        let out = try lab.ptp6("ADD", id: "bad", pod: pod, config: conf)
        #expect(out.status != 0)
        #expect(out.errorCode == bad.code, "\(out.stdout)")
        #expect(out.errorMessage.contains(bad.fragment), "\(out.stdout)")
        try lab.expectNoResidue(bad.name)
        #expect(try lab.links(in: pod) == ["lo"])
    }

    @Test("a failure late in ADD (masquerade) rolls back veth, routes and lease")
    func rollbackAfterLateFailure() throws {
        let lab = try Ptp6Lab()
        defer { lab.destroy() }
        let pod = try lab.addPod()
        // No ip6tables-restore in PATH: everything up to masquerade succeeds, then it fails.
        let out = try lab.ptp6("ADD", id: "late", pod: pod, config: lab.config(), env: ["PATH": "/nonexistent"])
        #expect(out.status != 0)
        #expect(out.errorMessage.contains("masquerade"), "\(out.stdout)")
        try lab.expectNoResidue("after a failed ADD")
        #expect(try lab.links(in: pod) == ["lo"])

        // And a second ADD for an interface that exists fails without touching the first.
        let ok = try lab.ptp6("ADD", id: "late", pod: pod, config: lab.config())
        try #require(ok.status == 0, "\(ok.stdout)")
        let dup = try lab.ptp6("ADD", id: "other", pod: pod, config: lab.config())
        #expect(dup.errorCode == 7 && dup.errorMessage.contains("already exists"), "\(dup.stdout)")
        #expect(lab.leases().count == 1)
        #expect(try lab.hostVeths().count == 1)
        var conf = lab.config()
        conf["prevResult"] = ok.json
        #expect(try lab.ptp6("DEL", id: "late", pod: pod, config: conf).status == 0)
        try lab.expectNoResidue("after DEL")
    }
}

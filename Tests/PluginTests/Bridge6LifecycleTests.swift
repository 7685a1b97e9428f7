import Foundation
import Testing

/// bridge6's verbs over an attachment's life, judged by what the node's kernel and IPAM directory
/// hold afterwards: DEL in every situation a runtime can put it in, each spec version end to end,
/// chaining with the reference plugins, and CHECK noticing what was broken by hand.
@Suite("bridge6 lifecycle", .enabled(if: PluginProcess.isRoot))
struct Bridge6LifecycleTests {
    typealias K = NamespaceLab
    static let ula = "fd42:b6:2::/64"

    /// ADD made a veth, a masquerade chain and a lease: the things DEL must take away.
    func expectPresent(_ node: Bridge6Node, _ a: Bridge6Attachment,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try node.veths().count == 1, sourceLocation: sourceLocation)
        #expect(try node.masqueradeChains().count == 1, sourceLocation: sourceLocation)
        #expect(try node.masqueradeChain(for: a.address) != nil, sourceLocation: sourceLocation)
        #expect(try node.leases()[a.address] == a.containerID, sourceLocation: sourceLocation)
    }

    @Test("DEL removes veth, chain and lease; a second DEL, and a DEL of what never existed, succeed")
    func delLeavesNothing() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod)
        try expectPresent(node, a)

        let del = try node.del(a)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a)
        #expect(try K.linkNames(pod) == ["lo"], "the pod still has interfaces")

        let again = try node.del(a)
        #expect(again.status == 0, "second DEL failed: \(again.stdout) \(again.stderr)")
        try node.expectNothingLeft(of: a)

        let never = try node.run("DEL", pod: pod, containerID: "never-added", config: node.conf())
        #expect(never.status == 0, "DEL of an unknown container failed: \(never.stdout) \(never.stderr)")
    }

    @Test("DEL after the pod's namespace was deleted leaves nothing", arguments: [true, false])
    func delWithoutNamespace(prevResult: Bool) throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod)
        try expectPresent(node, a)
        try lab.deleteNamespace(pod)

        let del = try node.del(a, withPrevResult: prevResult)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a, settle: true)
        let again = try node.del(a, withPrevResult: prevResult)
        #expect(again.status == 0, "second DEL failed: \(again.stdout) \(again.stderr)")
    }

    @Test("DEL with an empty CNI_NETNS and no prevResult still removes chain and lease")
    func delEmptyNetnsNoPrevResult() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod)
        try expectPresent(node, a)
        try lab.deleteNamespace(pod)  // what a runtime does before it sends an empty CNI_NETNS

        let del = try node.del(a, withPrevResult: false, netns: false)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a, settle: true)
    }

    @Test("DEL with an empty CNI_NETNS and prevResult removes the host veth by its name")
    func delEmptyNetnsWithPrevResult() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")  // still alive: only prevResult tells DEL the veth
        let a = try node.add(pod)
        try expectPresent(node, a)

        let del = try node.del(a, withPrevResult: true, netns: false)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a)
        #expect(try K.linkNames(pod) == ["lo"], "the pod's end of the pair survived")
    }

    @Test("ADD, CHECK, STATUS and DEL end to end in each spec version", arguments: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    func versions(version: String) throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod, version: version)

        #expect(a.result["cniVersion"] as? String == version)
        let ips = a.result["ips"] as? [[String: Any]] ?? []
        #expect(ips.count == 1 && a.cidr == "fd42:b6:2::2/64", "ips: \(ips)")
        if version == "0.3.1" { #expect(ips.first?["version"] as? String == "6") }
        let ifaces = a.result["interfaces"] as? [[String: Any]] ?? []
        #expect(ifaces.map { $0["name"] as? String ?? "" }.first == node.bridge)
        #expect(ifaces.count == 3 && ifaces[2]["name"] as? String == "eth0"
                && ifaces[2]["sandbox"] as? String == K.path(pod), "interfaces: \(ifaces)")
        #expect(ips.first?["interface"] as? Int == 2)
        let podMAC = try K.link(pod, "eth0")?["address"] as? String
        #expect(podMAC != nil && ifaces.count == 3 && ifaces[2]["mac"] as? String == podMAC)
        try node.expectReady(a)
        #expect(try K.ping(from: pod, try #require(a.gateway)))

        if version >= "0.4.0" {
            let check = try node.check(a)
            #expect(check.status == 0 && check.stdout.isEmpty, "CHECK: \(check.status) \(check.stdout) \(check.stderr)")
        }
        if version >= "1.1.0" {
            let status = try node.run("STATUS", pod: nil, config: node.conf(version: version))
            #expect(status.status == 0, "STATUS: \(status.stdout) \(status.stderr)")
        }
        // As libcni does: DEL gets prevResult from 0.4.0 on.
        let del = try node.del(a, withPrevResult: version >= "0.4.0")
        #expect(del.status == 0, "DEL: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a)
        #expect(try K.linkNames(pod) == ["lo"])
    }

    @Test("0.2.0: the ADD result has ip6 (address and gateway), and DEL cleans up")
    func version020() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod, version: "0.2.0")
        let ip6 = try #require(a.result["ip6"] as? [String: Any], "no ip6 in \(a.result)")
        #expect(ip6["ip"] as? String == "fd42:b6:2::2/64")
        #expect(ip6["gateway"] as? String == "fd42:b6:2::1")
        #expect(a.result["ips"] == nil && a.result["interfaces"] == nil)
        try node.expectReady(a)
        let del = try node.del(a, withPrevResult: false)
        #expect(del.status == 0, "DEL: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a)
    }

    @Test("the reference tuning and portmap plugins chain after bridge6 (ADD, CHECK, DEL in reverse)")
    func chainedWithReferencePlugins() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let tuningDir = lab.directory("b6tuning")
        let mac = "c2:11:22:33:44:55"
        // libcni gives each plugin its own conf plus the list's name and cniVersion, and prevResult.
        func conf(_ plugin: [String: Any], prevResult: [String: Any]) -> String {
            var c = plugin
            c["name"] = node.network
            c["cniVersion"] = "1.0.0"
            c["prevResult"] = prevResult
            return bridge6JSONText(c)
        }
        let tuning: [String: Any] = ["type": "tuning", "mac": mac, "dataDir": tuningDir,
                                     "sysctl": ["net.ipv6.conf.eth0.hop_limit": "33"]]
        let portmap: [String: Any] = ["type": "portmap", "capabilities": ["portMappings": true],
                                      "runtimeConfig": ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]]]
        func reference(_ command: String, _ plugin: [String: Any], prevResult: [String: Any]) throws -> PluginProcess.Output {
            try PluginProcess(plugin["type"] as! String, reference: true)
                .run(command, netns: K.path(pod), config: conf(plugin, prevResult: prevResult), netnsExec: node.ns)
        }

        let a = try node.add(pod)
        let tuned = try reference("ADD", tuning, prevResult: a.result)
        try #require(tuned.status == 0, "tuning ADD: \(tuned.stdout) \(tuned.stderr)")
        let mapped = try reference("ADD", portmap, prevResult: tuned.json)
        try #require(mapped.status == 0, "portmap ADD: \(mapped.stdout) \(mapped.stderr)")
        let final = mapped.json
        #expect((final["ips"] as? [[String: Any]])?.first?["address"] as? String == a.cidr)

        #expect(try K.link(pod, "eth0")?["address"] as? String == mac, "tuning did not set the MAC")
        #expect(try K.readSysctl(pod, "net.ipv6.conf.eth0.hop_limit") == "33")
        #expect(try !node.natRules(mentioning: "[\(a.address)]:80").isEmpty, "portmap installed no DNAT to the pod")
        try node.expectReady(a)
        #expect(try K.ping(from: pod, try #require(a.gateway)))

        // CHECK with the list's final result (tuning changed the MAC in it). The reference portmap's
        // own CHECK is left out: it fails for any IPv6-only result ("could not check ipv4 dnat").
        let check = try node.run("CHECK", pod: pod, config: node.conf(prevResult: final))
        #expect(check.status == 0, "bridge6 CHECK after tuning: \(check.stdout) \(check.stderr)")
        let tcheck = try reference("CHECK", tuning, prevResult: final)
        #expect(tcheck.status == 0, "tuning CHECK: \(tcheck.stdout) \(tcheck.stderr)")

        let pdel = try reference("DEL", portmap, prevResult: final)
        #expect(pdel.status == 0, "portmap DEL: \(pdel.stdout) \(pdel.stderr)")
        let tdel = try reference("DEL", tuning, prevResult: final)
        #expect(tdel.status == 0, "tuning DEL: \(tdel.stdout) \(tdel.stderr)")
        let del = try node.run("DEL", pod: pod, config: node.conf(prevResult: final))
        #expect(del.status == 0, "bridge6 DEL: \(del.stdout) \(del.stderr)")
        try node.expectNothingLeft(of: a)
        #expect(try K.linkNames(pod) == ["lo"])
    }

    enum Breakage: String, CaseIterable, Sendable {
        case addressRemoved, chainFlushed, chainDeleted, defaultRouteRemoved, gatewayRemoved
    }

    @Test("CHECK fails with code 100 when the attachment was broken by hand", arguments: Breakage.allCases)
    func checkNoticesBreakage(_ breakage: Breakage) throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let a = try node.add(pod)
        let ok = try node.check(a)
        try #require(ok.status == 0, "CHECK of a fresh attachment failed: \(ok.stdout) \(ok.stderr)")

        let chain = try #require(try node.masqueradeChain(for: a.address))
        switch breakage {
        case .addressRemoved:
            try PluginProcess.sh("ip -n \(pod) addr del \(a.cidr) dev eth0")
        case .chainFlushed:
            try K.ip6tables(node.ns, "-t nat -F \(chain)")
        case .chainDeleted:
            for rule in try node.natRules(mentioning: "-j \(chain)") where rule.hasPrefix("-A POSTROUTING ") {
                try K.ip6tables(node.ns, "-t nat -D" + rule.dropFirst(2))
            }
            try K.ip6tables(node.ns, "-t nat -F \(chain)")
            try K.ip6tables(node.ns, "-t nat -X \(chain)")
            #expect(try node.masqueradeChains().isEmpty)
        case .defaultRouteRemoved:
            try PluginProcess.sh("ip -n \(pod) -6 route del default")
        case .gatewayRemoved:
            try PluginProcess.sh("ip -n \(node.ns) addr del \(try #require(a.gateway))/64 dev \(node.bridge)")
        }
        let check = try node.check(a)
        #expect(check.status != 0, "CHECK passed after \(breakage)")
        #expect(check.errorCode == 100, "CHECK after \(breakage): \(check.stdout)")
    }
}

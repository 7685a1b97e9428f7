import Foundation
import Testing

/// bridge6 refusing bad configurations, and taking apart what a failed ADD made: the node, the pod
/// and the IPAM directory must hold after a failure exactly what they held before.
@Suite("bridge6 failures", .enabled(if: PluginProcess.isRoot))
struct Bridge6ConfigTests {
    typealias K = NamespaceLab
    static let ula = "fd42:b6:3::/64"

    enum BadConfig: String, CaseIterable, Sendable {
        case unknownOption, wrongType, wrongTypeBool, mtuBelowIPv6Minimum, missingIPAMType, vlan, hairpinWithPromisc

        func apply(_ c: inout [String: Any]) {
            switch self {
            case .unknownOption: c["hairpin"] = true
            case .wrongType: c["mtu"] = "1500"
            case .wrongTypeBool: c["isGateway"] = "yes"
            case .mtuBelowIPv6Minimum: c["mtu"] = 1000
            case .missingIPAMType:
                var ipam = c["ipam"] as! [String: Any]
                ipam["type"] = nil
                c["ipam"] = ipam
            case .vlan: c["vlan"] = 100
            case .hairpinWithPromisc: c["hairpinMode"] = true; c["promiscMode"] = true
            }
        }
        var code: Int {
            switch self {
            case .unknownOption, .vlan: 2
            default: 7
            }
        }
        /// The field the error message must name.
        var field: String {
            switch self {
            case .unknownOption: "hairpin"
            case .wrongType, .mtuBelowIPv6Minimum: "mtu"
            case .wrongTypeBool: "isGateway"
            case .missingIPAMType: "ipam.type"
            case .vlan: "vlan"
            case .hairpinWithPromisc: "hairpinMode"
            }
        }
        /// Only the MTU is judged after IPAM (it depends on the family IPAM gives).
        var ipamRuns: Bool { self == .mtuBelowIPv6Minimum }
    }

    @Test("a bad configuration is refused with its code and field, and leaves nothing behind", arguments: BadConfig.allCases)
    func badConfig(_ bad: BadConfig) throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let out = try node.run("ADD", pod: pod, config: node.conf(edit: bad.apply))

        #expect(out.status != 0, "ADD accepted \(bad): \(out.stdout)")
        #expect(out.errorCode == bad.code, "\(bad): \(out.stdout)")
        #expect(out.errorMessage.contains(bad.field), "\(bad): the message does not name \(bad.field): \(out.errorMessage)")

        #expect(try K.linkNames(node.ns) == ["lo"], "\(bad) left links in the node")
        #expect(try K.linkNames(pod) == ["lo"], "\(bad) left links in the pod")
        #expect(try node.masqueradeChains().isEmpty)
        #expect(try node.natRules(mentioning: "").isEmpty)
        #expect(try node.leases().isEmpty, "\(bad) left a lease")
        if !bad.ipamRuns {
            let files = try FileManager.default.contentsOfDirectory(atPath: node.dataDir)
            #expect(files.isEmpty, "IPAM ran for \(bad): \(files)")
        }
    }

    @Test("an IPAM failure on a new node leaves no bridge and no veth (the veth is made while IPAM runs)")
    func ipamFailureLeavesNoBridge() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        let notADirectory = lab.directory("b6file") + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: notADirectory))
        let out = try node.run("ADD", pod: pod, config: node.conf {
            var ipam = $0["ipam"] as! [String: Any]
            ipam["dataDir"] = notADirectory
            $0["ipam"] = ipam
        })
        #expect(out.status != 0 && out.errorMessage.contains("host-local6"), "\(out.stdout)")
        #expect(try K.linkNames(node.ns) == ["lo"], "the failed ADD left links in the node")
        #expect(try K.linkNames(pod) == ["lo"], "the failed ADD left links in the pod")
    }

    @Test("a failure after IPAM (mtu below 1280) releases the address and leaves the node as it was")
    func rollbackMTU() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod1 = try lab.namespace("b6pod"), pod2 = try lab.namespace("b6pod")
        let a = try node.add(pod1, containerID: "ok")
        let leases = try node.leases(), veths = try node.veths(), chains = try node.masqueradeChains()
        let bridgeMTU = try K.link(node.ns, node.bridge)?["mtu"] as? Int

        let out = try node.run("ADD", pod: pod2, containerID: "bad", config: node.conf { $0["mtu"] = 1000 })
        #expect(out.status != 0 && out.errorCode == 7 && out.errorMessage.contains("mtu"), "\(out.stdout)")
        #expect(try node.leases() == leases)
        #expect(try node.veths() == veths)
        #expect(try node.masqueradeChains() == chains)
        #expect(try K.linkNames(pod2) == ["lo"])
        #expect(try K.link(node.ns, node.bridge)?["mtu"] as? Int == bridgeMTU)
        // Nothing half-made stands in the way of the next ADD into the same pod.
        let next = try node.add(pod2, containerID: "next")
        #expect(next.address != a.address)
        #expect(try K.ping(from: pod2, a.address))
    }

    /// The kernel gives no IPv6 to a link with an MTU below 1280, so its /proc/sys/net/ipv6/conf
    /// entry is missing: an IPv4-only network may still ask for such an MTU.
    @Test("an IPv4-only network with mtu 1000 works: links without IPv6 have no IPv6 sysctls to set")
    func ipv4OnlySmallMTU() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "198.51.100.0/24", bridge: "cni4s",
                                   options: ["isGateway": true, "mtu": 1000])
        let pod1 = try lab.namespace("b6pod"), pod2 = try lab.namespace("b6pod")
        let out1 = try node.run("ADD", pod: pod1, containerID: "v4a", config: node.conf())
        try #require(out1.status == 0, "ADD: \(out1.stdout) \(out1.stderr)")
        let out2 = try node.run("ADD", pod: pod2, containerID: "v4b", config: node.conf())
        try #require(out2.status == 0, "ADD: \(out2.stdout) \(out2.stderr)")
        #expect(try K.link(pod1, "eth0")?["mtu"] as? Int == 1000)
        #expect(try K.link(node.ns, "cni4s")?["mtu"] as? Int == 1000)
        let addr2 = try #require((out2.json["ips"] as? [[String: Any]])?.first?["address"] as? String)
        let ping = try PluginProcess.exec(["/usr/sbin/ip", "netns", "exec", pod1, "ping", "-4", "-n", "-c1", "-W1",
                                           String(addr2.split(separator: "/")[0])])
        #expect(ping.status == 0, "pod to pod over IPv4: \(ping.stdout)")
        for (pod, id, out) in [(pod1, "v4a", out1), (pod2, "v4b", out2)] {
            let del = try node.run("DEL", pod: pod, containerID: id, config: node.conf(prevResult: out.json))
            #expect(del.status == 0, "DEL: \(del.stdout)")
        }
        #expect(try node.leases().isEmpty)
        #expect(try node.veths().isEmpty)
    }

    @Test("an interface name already taken in the pod: refused, the existing interface is kept, nothing leaks")
    func podInterfaceExists() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod1 = try lab.namespace("b6pod"), pod2 = try lab.namespace("b6pod")
        _ = try node.add(pod1, containerID: "ok")
        try PluginProcess.sh("ip -n \(pod2) link add eth0 type veth peer name mine0")
        let leases = try node.leases(), veths = try node.veths()

        let out = try node.run("ADD", pod: pod2, containerID: "bad", config: node.conf())
        #expect(out.status != 0, "ADD succeeded over an existing eth0: \(out.stdout)")
        #expect(out.errorMessage.contains("eth0"), "\(out.stdout)")
        #expect(try node.leases() == leases)
        #expect(try node.veths() == veths)
        #expect(try Set(K.linkNames(pod2)) == ["lo", "eth0", "mine0"], "the pod's own eth0 was touched")
        #expect(try K.link(pod2, "eth0")?["link"] as? String == "mine0")
        #expect(try node.masqueradeChains().count == 1)
    }

    @Test("a failure after the veth is made (gateway conflicts on the bridge) undoes veth, pod interface and lease")
    func rollbackAfterVeth() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: Self.ula)
        let pod = try lab.namespace("b6pod")
        // The node's bridge already holds an address whose prefix overlaps the pod subnet.
        try PluginProcess.sh("ip -n \(node.ns) link add \(node.bridge) type bridge")
        try PluginProcess.sh("ip -n \(node.ns) addr add fd42:b6:3::ff/60 dev \(node.bridge) nodad")
        try PluginProcess.sh("ip -n \(node.ns) link set \(node.bridge) up")

        let out = try node.run("ADD", pod: pod, containerID: "bad", config: node.conf())
        #expect(out.status != 0 && out.errorCode == 7, "\(out.stdout) \(out.stderr)")
        #expect(out.errorMessage.contains("fd42:b6:3::ff/60"), "\(out.errorMessage)")
        #expect(try node.veths().isEmpty, "the veth survived the failed ADD")
        #expect(try K.linkNames(pod) == ["lo"], "the pod interface survived the failed ADD")
        #expect(try node.leases().isEmpty, "the lease survived the failed ADD")
        #expect(try node.masqueradeChains().isEmpty)
        let onBridge = try K.addresses6(node.ns, node.bridge).compactMap { $0["local"] as? String }
        #expect(onBridge.contains("fd42:b6:3::ff") && !onBridge.contains("fd42:b6:3::1"), "\(onBridge)")
    }
}

import Foundation
import Testing
import IPAddressing

/// bridge6 on a bridge whose multicast snooping is engaged (an MLD querier on the segment): a
/// snooping bridge sends multicast for a group nobody reported only to router ports, so neighbour
/// discovery for a brand-new pod depends on the bridge knowing the pod's solicited-node group
/// before the pod's own MLD report arrives.
@Suite("bridge6 multicast snooping", .enabled(if: PluginProcess.isRoot))
struct Bridge6MulticastTests {
    typealias K = NamespaceLab

    struct GroupEntry: Equatable { var port: String, group: String, state: String }

    /// The bridge's multicast database, as `bridge -j mdb show` prints it.
    func groups(_ node: Bridge6Node) throws -> [GroupEntry] {
        let text = try PluginProcess.sh("bridge -n \(node.ns) -j mdb show")
        let top = (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
        return top.flatMap { $0["mdb"] as? [[String: Any]] ?? [] }.map {
            GroupEntry(port: $0["port"] as? String ?? "", group: $0["grp"] as? String ?? "", state: $0["state"] as? String ?? "")
        }
    }

    func solicitedNode(_ address: String) throws -> String {
        let a = try #require(IPv6Address(address))
        return a.solicitedNodeMulticast.description
    }

    func hostVeth(_ a: Bridge6Attachment) throws -> String {
        let interfaces = try #require(a.result["interfaces"] as? [[String: Any]])
        return try #require(interfaces.count == 3 ? interfaces[1]["name"] as? String : nil)
    }

    @Test("the pod's solicited-node group is entered on its port for good, the gateway's on the bridge; DEL takes the port's away")
    func groupsEntered() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:a::/64")
        let pod = try lab.namespace("b6mpod")
        let a = try node.add(pod)
        let port = try hostVeth(a)
        let entries = try groups(node)
        // permanent: entered by bridge6 before the pod was up, not learned from the pod's report
        #expect(entries.contains(GroupEntry(port: port, group: try solicitedNode(a.address), state: "permanent")),
                "\(entries)")
        let gateway = try #require(a.gateway)
        #expect(entries.contains { $0.port == node.bridge && $0.group == (try? solicitedNode(gateway)) }, "\(entries)")

        #expect(try node.del(a).status == 0)
        #expect(try groups(node).filter { $0.port == port }.isEmpty)
    }

    @Test("with a querier on the bridge, the node and the gateway reach each new pod the moment ADD returns")
    func reachableAtOnceWhileSnooping() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:b::/64")
        _ = try node.add(try lab.namespace("b6mpod"), containerID: "first")
        try PluginProcess.sh("ip -n \(node.ns) link set \(node.bridge) type bridge mcast_querier 1")
        Thread.sleep(forTimeInterval: 0.5)  // the bridge's first query: from here on snooping decides
        for i in 0..<8 {
            let pod = try lab.namespace("b6mpod")
            let a = try node.add(pod, containerID: "c\(i)")
            #expect(try K.ping(from: node.ns, a.address), "pod \(i): the node's first echo to \(a.address) was lost")
            #expect(try K.ping(from: pod, try #require(a.gateway)), "pod \(i): first echo to the gateway was lost")
        }
        #expect(try groups(node).contains { $0.state == "permanent" })
    }

    @Test("a bridge with snooping off takes no entries and ADD stays quiet about it")
    func snoopingOff() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:c::/64")
        _ = try node.add(try lab.namespace("b6mpod"), containerID: "first")
        try PluginProcess.sh("ip -n \(node.ns) link set \(node.bridge) type bridge mcast_snooping 0")
        let pod = try lab.namespace("b6mpod")
        let out = try node.run("ADD", pod: pod, containerID: "second", config: node.conf())
        #expect(out.status == 0 && out.stderr.isEmpty, "\(out.stdout) \(out.stderr)")
        #expect(try K.ping(from: node.ns, try Bridge6Attachment(node: node, pod: pod, containerID: "second", ifname: "eth0",
                                                                 version: "1.0.0", output: out).address))
    }

    /// `ip -j neigh show dev DEV` of a namespace: address → (lladdr, state).
    func neighbours(_ ns: String, _ dev: String) throws -> [String: (mac: String, state: [String])] {
        var out: [String: (mac: String, state: [String])] = [:]
        for n in try K.ipJSON(ns, "neigh show dev \(dev)") {
            guard let dst = n["dst"] as? String else { continue }
            out[dst] = (n["lladdr"] as? String ?? "", n["state"] as? [String] ?? [])
        }
        return out
    }

    @Test("ADD tells the pod where its gateway is and the bridge where the pod is, replacing an old entry")
    func neighboursSeeded() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:d::/64")
        let pod = try lab.namespace("b6mpod")
        // An entry left by a pod that had the address before, with another MAC.
        try PluginProcess.sh("ip -n \(node.ns) link add \(node.bridge) type bridge && ip -n \(node.ns) link set \(node.bridge) up")
        try PluginProcess.sh("ip -n \(node.ns) neigh replace fd42:b6:d::2 lladdr 02:00:00:00:00:99 dev \(node.bridge) nud stale")
        let a = try node.add(pod)
        #expect(a.address == "fd42:b6:d::2")
        let interfaces = try #require(a.result["interfaces"] as? [[String: Any]])
        let bridgeMAC = try #require(interfaces.first?["mac"] as? String)
        let podMAC = try #require(interfaces.last?["mac"] as? String)
        let inPod = try neighbours(pod, "eth0")
        #expect(inPod[try #require(a.gateway)]?.mac == bridgeMAC, "pod's neighbours: \(inPod)")
        let onBridge = try neighbours(node.ns, node.bridge)
        #expect(onBridge[a.address]?.mac == podMAC, "bridge's neighbours: \(onBridge)")
        #expect(try K.ping(from: pod, try #require(a.gateway)) && K.ping(from: node.ns, a.address))
    }

    @Test("DEL takes the bridge's neighbour entry for the pod with it")
    func neighbourForgottenAtDEL() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:e::/64")
        let pod = try lab.namespace("b6mpod"), other = try lab.namespace("b6mother")
        // Two pods on a bridge bridge6 made (its MAC is fixed, so no port change flushes its table).
        let a = try node.add(pod), b = try node.add(other, containerID: "ctr2")
        #expect(try K.ping(from: node.ns, a.address) && K.ping(from: node.ns, b.address))
        #expect(try neighbours(node.ns, node.bridge)[a.address] != nil)
        #expect(try node.del(a).status == 0)
        let after = try neighbours(node.ns, node.bridge)
        #expect(after[a.address] == nil, "bridge's neighbours after DEL: \(after)")
        #expect(after[b.address] != nil, "the other pod's entry stays: \(after)")
    }
}

import Foundation
import Testing

/// A node namespace where bridge6 runs (as a runtime would run it on a node), with its own IPAM
/// data directory. The pods are namespaces of the same `NamespaceLab`.
struct Bridge6Node {
    let lab: NamespaceLab
    let ns: String
    let dataDir: String
    var network: String
    var bridge: String
    var subnet: String
    /// Plugin options besides name/type/bridge/ipam (default: the pods' default gateway is the bridge).
    var options: [String: Any]

    init(_ lab: NamespaceLab, subnet: String, network: String = "b6net", bridge: String = "cni6",
         options: [String: Any] = ["isDefaultGateway": true], ns: String? = nil) throws {
        self.lab = lab
        self.ns = try ns ?? lab.namespace("b6node")
        dataDir = lab.directory("b6data")
        self.network = network
        self.bridge = bridge
        self.subnet = subnet
        self.options = options
    }

    /// The network configuration as a runtime sends it (plus `prevResult` when given).
    func conf(version: String = "1.0.0", prevResult: Any? = nil, edit: ((inout [String: Any]) -> Void)? = nil) -> String {
        var c: [String: Any] = [
            "cniVersion": version, "name": network, "type": "bridge6", "bridge": bridge,
            "ipam": ["type": "host-local6", "dataDir": dataDir, "ranges": [[["subnet": subnet]]]] as [String: Any],
        ]
        for (k, v) in options { c[k] = v }
        if let prevResult { c["prevResult"] = prevResult }
        edit?(&c)
        return bridge6JSONText(c)
    }

    /// Runs bridge6 inside the node namespace; `pod == nil` sends an empty CNI_NETNS.
    @discardableResult
    func run(_ command: String, pod: String?, containerID: String = "ctr1", ifname: String = "eth0",
             config: String) throws -> PluginProcess.Output {
        try PluginProcess("bridge6").run(command, containerID: containerID, netns: pod.map(NamespaceLab.path) ?? "",
                                         ifname: ifname, config: config, netnsExec: ns)
    }

    /// An ADD that must succeed.
    func add(_ pod: String, containerID: String = "ctr1", ifname: String = "eth0", version: String = "1.0.0",
             sourceLocation: SourceLocation = #_sourceLocation) throws -> Bridge6Attachment {
        let out = try run("ADD", pod: pod, containerID: containerID, ifname: ifname, config: conf(version: version))
        try #require(out.status == 0, "bridge6 ADD failed (\(out.status)): \(out.stdout) \(out.stderr)",
                     sourceLocation: sourceLocation)
        return try Bridge6Attachment(node: self, pod: pod, containerID: containerID, ifname: ifname,
                                     version: version, output: out)
    }

    /// DEL with the ADD's result as prevResult.
    @discardableResult
    func del(_ a: Bridge6Attachment, withPrevResult: Bool = true, netns: Bool = true) throws -> PluginProcess.Output {
        try run("DEL", pod: netns ? a.pod : nil, containerID: a.containerID, ifname: a.ifname,
                config: conf(version: a.version, prevResult: withPrevResult ? a.result : nil))
    }

    @discardableResult
    func check(_ a: Bridge6Attachment) throws -> PluginProcess.Output {
        try run("CHECK", pod: a.pod, containerID: a.containerID, ifname: a.ifname,
                config: conf(version: a.version, prevResult: a.result))
    }

    // MARK: - What the node holds

    /// Leases on disk: lease file name (the address) → container ID written in it.
    func leases() throws -> [String: String] {
        let dir = "\(dataDir)/\(network)"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [:] }
        var out: [String: String] = [:]
        for name in names where !name.hasPrefix(".") && !name.hasPrefix("last_reserved_ip") && name != "lock" {
            let text = (try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8)) ?? ""
            out[name] = String(text.split(whereSeparator: \.isNewline).first ?? "")
        }
        return out
    }

    /// Our masquerade chains (`CNI-` + 24 hex digits) in the node's nat table.
    func masqueradeChains() throws -> [String] {
        try NamespaceLab.ip6tablesSave(ns, table: "nat").split(separator: "\n").compactMap { line in
            guard line.hasPrefix(":CNI-") else { return nil }
            let name = String(line.dropFirst().prefix { $0 != " " })
            let hex = name.dropFirst(4)
            return hex.count == 24 && hex.allSatisfy(\.isHexDigit) ? name : nil
        }
    }

    /// The nat table's rules (`-A` lines) that mention `text`.
    func natRules(mentioning text: String) throws -> [String] {
        try NamespaceLab.ip6tablesSave(ns, table: "nat").split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("-A") && $0.contains(text) }
    }

    /// The chain POSTROUTING sends `address`'s packets to.
    func masqueradeChain(for address: String) throws -> String? {
        for rule in try natRules(mentioning: "-A POSTROUTING -s \(address)/128 ") {
            if let r = rule.range(of: " -j ") { return String(rule[r.upperBound...]) }
        }
        return nil
    }

    func veths() throws -> [String] { try NamespaceLab.linkNames(ns, type: "veth") }

    /// Waits (at most `seconds`) for the node to hold no veth: a deleted pod namespace takes its
    /// veth pair with it, but the kernel tears namespaces down asynchronously.
    func vethsAfterSettling(seconds: Double = 3) throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let v = try veths()
            if v.isEmpty || Date() > deadline { return v }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Asserts the attachment left nothing in the node: no veth, no masquerade chain or rule, no lease.
    func expectNothingLeft(of a: Bridge6Attachment, settle: Bool = false,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let veths = settle ? try vethsAfterSettling() : try veths()
        #expect(veths.isEmpty, "veths left in the node: \(veths)", sourceLocation: sourceLocation)
        let chains = try masqueradeChains()
        #expect(chains.isEmpty, "masquerade chains left: \(chains)", sourceLocation: sourceLocation)
        let rules = try natRules(mentioning: a.address)
        #expect(rules.isEmpty, "nat rules left: \(rules)", sourceLocation: sourceLocation)
        let leases = try leases()
        #expect(!leases.values.contains(a.containerID), "leases left: \(leases)", sourceLocation: sourceLocation)
        #expect(leases[a.address] == nil, "lease file for \(a.address) left", sourceLocation: sourceLocation)
    }
}

extension Bridge6Node {
    /// Asserts, from the kernel, that the attachment is usable now: the pod's address is on its
    /// interface without DAD and not tentative (nor is its link-local address), the link is up, the
    /// default route goes via the gateway, and the gateway is on the bridge (NODAD, not tentative).
    func expectReady(_ a: Bridge6Attachment, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let podAddrs = try NamespaceLab.addresses6(a.pod, a.ifname)
        let own = podAddrs.first { $0["local"] as? String == a.address }
        #expect(own != nil, "\(a.address) is not on \(a.ifname) in \(a.pod): \(podAddrs)", sourceLocation: sourceLocation)
        if let own {
            #expect(own["prefixlen"] as? Int == Int(a.cidr.split(separator: "/").last ?? ""), sourceLocation: sourceLocation)
            #expect(own.flag("nodad") && !own.flag("tentative") && !own.flag("dadfailed"),
                    "pod address flags: \(own)", sourceLocation: sourceLocation)
        }
        for ll in podAddrs where ll["scope"] as? String == "link" {
            #expect(!ll.flag("tentative"), "pod link-local address is tentative: \(ll)", sourceLocation: sourceLocation)
        }
        let link = try NamespaceLab.link(a.pod, a.ifname)
        #expect((link?["flags"] as? [String])?.contains("UP") == true, "pod link not up: \(String(describing: link))",
                sourceLocation: sourceLocation)
        let gw = try #require(a.gateway, "no gateway in the result", sourceLocation: sourceLocation)
        let defaults = try NamespaceLab.routes6(a.pod).filter { $0["dst"] as? String == "default" }
        #expect(defaults.contains { $0["gateway"] as? String == gw && $0["dev"] as? String == a.ifname },
                "default route via \(gw) missing in \(a.pod): \(defaults)", sourceLocation: sourceLocation)

        let onBridge = try NamespaceLab.addresses6(ns, bridge)
        let gwEntry = onBridge.first { $0["local"] as? String == gw }
        #expect(gwEntry != nil, "gateway \(gw) not on bridge \(bridge): \(onBridge)", sourceLocation: sourceLocation)
        if let gwEntry {
            #expect(gwEntry.flag("nodad") && !gwEntry.flag("tentative"), "gateway flags: \(gwEntry)", sourceLocation: sourceLocation)
        }
        for ll in onBridge where ll["scope"] as? String == "link" {
            #expect(!ll.flag("tentative"), "bridge link-local address is tentative: \(ll)", sourceLocation: sourceLocation)
        }
        let ports = try NamespaceLab.links(ns, type: "veth").filter { $0["master"] as? String == bridge }
        #expect(!ports.isEmpty, "no veth attached to \(bridge)", sourceLocation: sourceLocation)
        if let ifaces = a.result["interfaces"] as? [[String: Any]], ifaces.count == 3 {
            // The host end the result names is a port of the bridge, up.
            let host = ports.first { $0["ifname"] as? String == ifaces[1]["name"] as? String }
            #expect(host?["operstate"] as? String == "UP", "host veth \(ifaces[1]) not an up port of \(bridge): \(ports)",
                    sourceLocation: sourceLocation)
            // A bridge port has no IPv6 of its own: no link-local address to be tentative, nothing
            // for the kernel to set up at link-up or tear down at DEL.
            if let name = host?["ifname"] as? String {
                let own = try NamespaceLab.addresses6(ns, name)
                #expect(own.isEmpty, "bridge port \(name) has IPv6 addresses: \(own)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// One pod attachment made by a successful ADD.
struct Bridge6Attachment {
    let pod: String
    let containerID: String
    let ifname: String
    let version: String
    /// The ADD's stdout, parsed (it is the prevResult of CHECK and DEL).
    let result: [String: Any]
    /// The pod's first IPv6 address, its CIDR and its gateway, as the result lists them.
    let address: String
    let cidr: String
    let gateway: String?

    init(node: Bridge6Node, pod: String, containerID: String, ifname: String, version: String,
         output: PluginProcess.Output) throws {
        self.pod = pod; self.containerID = containerID; self.ifname = ifname; self.version = version
        result = output.json
        var ips = result["ips"] as? [[String: Any]] ?? []
        if let ip6 = result["ip6"] as? [String: Any] {  // 0.1.0/0.2.0 shape
            ips.append(["address": ip6["ip"] ?? "", "gateway": ip6["gateway"] ?? ""])
        }
        let v6 = try #require(ips.first { ($0["address"] as? String)?.contains(":") == true },
                              "no IPv6 address in the ADD result: \(output.stdout)")
        cidr = v6["address"] as! String
        address = String(cidr.prefix { $0 != "/" })
        gateway = v6["gateway"] as? String
    }
}

func bridge6JSONText(_ object: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

func bridge6JSONObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

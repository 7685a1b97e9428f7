import Foundation
import Testing

/// A node of our own for ptp6: a network namespace where the plugin runs as a runtime runs it,
/// pods as namespaces of their own, and an "outside" namespace beyond an uplink:
///
/// ```
///   pod ns ─ eth0 ═ vethXXXX ─ node ns ─ up0 2001:db8:ff::1/64 ═ up1 2001:db8:ff::2/64 ─ outside ns
///                               lo fd42:ff::1/128
/// ```
/// Nothing here touches the root namespace: every link, address, route, sysctl and ip6tables rule
/// lives in a namespace this lab created (names carry the PID), and `destroy()` deletes them all.
/// The outside knows no route back to any pod prefix unless a test adds one.
final class Ptp6Lab {
    let node: String
    let outside: String
    var pods: [String] = []
    let data = TemporaryDirectory("ptp6")
    let network: String
    private var destroyed = false

    /// The node's uplink address (GUA) and a ULA address on its loopback.
    static let nodeUplink = "2001:db8:ff::1"
    static let nodeULA = "fd42:ff::1"
    static let outsideAddress = "2001:db8:ff::2"

    /// `uplink: false` leaves the node with nothing but `lo`, so the first host veth gets ifindex 2,
    /// the same as the pod's eth0 (a case the kernel treats differently, see `firstPacketSameIfindex`).
    init(network: String = "p6net", uplink: Bool = true) throws {
        self.network = network
        node = Unique.name("p6node")
        outside = Unique.name("p6out")
        try Self.sh("ip netns add \(node)")
        do {
            try Self.sh("ip netns add \(outside)")
            try Self.sh("ip -n \(node) link set lo up && ip -n \(outside) link set lo up")
            try Self.sh("ip -n \(node) addr add \(Self.nodeULA)/128 dev lo")
            guard uplink else { return }
            try Self.sh("ip -n \(node) link add up0 type veth peer name up1 netns \(outside)")
            // The test's own uplink: no DAD either, so the fixture itself never delays a packet.
            try Self.sh("ip netns exec \(node) sh -c 'echo 0 > /proc/sys/net/ipv6/conf/up0/accept_dad'")
            try Self.sh("ip netns exec \(outside) sh -c 'echo 0 > /proc/sys/net/ipv6/conf/up1/accept_dad'")
            try Self.sh("ip -n \(node) addr add \(Self.nodeUplink)/64 dev up0 nodad")
            try Self.sh("ip -n \(outside) addr add \(Self.outsideAddress)/64 dev up1 nodad")
            try Self.sh("ip -n \(node) link set up0 up && ip -n \(outside) link set up1 up")
            // The fixture's own uplink must be fully up before a test measures anything: until the
            // kernel's link watcher has run, a fresh veth drops what it sends (up to ~1 s).
            try Self.awaitOperUp(node, "up0")
            try Self.awaitOperUp(outside, "up1")
        } catch {
            destroy()
            throw error
        }
    }

    deinit { destroy() }

    /// Deletes every namespace this lab made (host veths, routes and ip6tables rules go with the
    /// node namespace); the data directory goes with `data`.
    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        for ns in pods + [outside, node] {
            _ = try? PluginProcess.exec(["/usr/sbin/ip", "netns", "del", ns])
        }
    }

    /// A new pod namespace (lo up, as the runtime's loopback plugin would leave it).
    func addPod() throws -> String {
        let name = Unique.name("p6pod")
        try Self.sh("ip netns add \(name)")
        pods.append(name)
        try Self.sh("ip -n \(name) link set lo up")
        return name
    }

    func deletePod(_ name: String) throws {
        try Self.sh("ip netns del \(name)")
        pods.removeAll { $0 == name }
    }

    // MARK: Running plugins

    /// Runs our ptp6 inside the node namespace for pod namespace `pod`.
    @discardableResult
    func ptp6(_ command: String, id: String, pod: String, config: [String: Any],
              env: [String: String] = [:]) throws -> PluginProcess.Output {
        try PluginProcess("ptp6").run(command, containerID: id, netns: "/run/netns/\(pod)", ifname: "eth0",
                                      config: Self.json(config), netnsExec: node, extraEnv: env)
    }

    /// Runs a reference plugin (/usr/lib/cni) inside the node namespace.
    @discardableResult
    func reference(_ plugin: String, _ command: String, id: String, pod: String,
                   config: [String: Any]) throws -> PluginProcess.Output {
        try PluginProcess(plugin, reference: true).run(command, containerID: id, netns: "/run/netns/\(pod)",
                                                       ifname: "eth0", config: Self.json(config), netnsExec: node)
    }

    /// A ptp6 network configuration with host-local6 leasing from `subnet` into this lab's data
    /// directory and a default route.
    func config(version: String = "1.0.0", subnet: String = "fd42:3::/64", name: String? = nil) -> [String: Any] {
        [
            "cniVersion": version, "name": name ?? network, "type": "ptp6",
            "ipam": [
                "type": "host-local6", "ranges": [[["subnet": subnet]]],
                "routes": [["dst": "::/0"]], "dataDir": data.path,
            ] as [String: Any],
        ]
    }

    static func json(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Observing

    static func sh(_ command: String) throws { try PluginProcess.sh(command) }

    /// Polls `ip link show dev` (itself a nudge to the kernel to apply the pending carrier change)
    /// until the link's operstate is UP; 2 s at most.
    static func awaitOperUp(_ ns: String, _ dev: String) throws {
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            if try jsonArray("ip -j -n \(ns) link show dev \(dev)").first?["operstate"] as? String == "UP" { return }
            usleep(5_000)
        }
        throw PluginProcess.ShellError(command: "waiting for \(dev) in \(ns) to come up", status: 1, stderr: "timeout")
    }

    /// A link's ifindex in a namespace.
    func ifindex(in ns: String, dev: String) throws -> Int? {
        try Self.jsonArray("ip -j -n \(ns) link show dev \(dev)").first?["ifindex"] as? Int
    }

    static func jsonArray(_ command: String) throws -> [[String: Any]] {
        let out = try PluginProcess.sh(command)
        return (try JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]] ?? []
    }

    /// One `ping -6 -c1 -W1` from a namespace: the first packet must get through, no retries.
    func ping(from ns: String, _ address: String) throws -> Bool {
        try PluginProcess.exec(["/usr/sbin/ip", "netns", "exec", ns, "ping", "-6", "-n", "-c1", "-W1", address]).status == 0
    }

    /// The ptp6 host veths in the node namespace (the uplink is not one).
    func hostVeths() throws -> [String] {
        try Self.jsonArray("ip -j -n \(node) link show type veth").compactMap { $0["ifname"] as? String }
            .filter { $0.hasPrefix("veth") }
    }

    func links(in ns: String) throws -> [String] {
        try Self.jsonArray("ip -j -n \(ns) link show").compactMap { $0["ifname"] as? String }
    }

    /// IPv6 routes of a namespace's main table, as `ip -j` prints them.
    func routes(in ns: String) throws -> [[String: Any]] {
        try Self.jsonArray("ip -j -n \(ns) -6 route show")
    }

    /// The node's routes through ptp6 host veths (the /128s to pods).
    func hostRoutes() throws -> [[String: Any]] {
        try routes(in: node).filter { ($0["dev"] as? String)?.hasPrefix("veth") == true && ($0["dst"] as? String)?.hasPrefix("fe80") == false }
    }

    /// `addr_info` entries of one link.
    func addresses(in ns: String, dev: String) throws -> [[String: Any]] {
        try Self.jsonArray("ip -j -n \(ns) -6 addr show dev \(dev)").first?["addr_info"] as? [[String: Any]] ?? []
    }

    func sysctl(in ns: String, _ key: String) throws -> String {
        try PluginProcess.sh("ip netns exec \(ns) cat /proc/sys/\(key)")
    }

    func natTable() throws -> String { try PluginProcess.sh("ip netns exec \(node) ip6tables-save -t nat") }

    /// The masquerade chains (`CNI-…`) in the node's nat table.
    func natChains() throws -> [String] {
        try natTable().split(separator: "\n").filter { $0.hasPrefix(":CNI-") }
            .map { String($0.dropFirst().prefix { $0 != " " }) }
    }

    /// The chain the POSTROUTING jump for container `id` leads to.
    func natChain(for id: String) throws -> String? {
        for line in try natTable().split(separator: "\n") where line.hasPrefix("-A POSTROUTING") && line.contains("id: \\\"\(id)\\\"") {
            if let r = line.range(of: "-j ") { return String(line[r.upperBound...]) }
        }
        return nil
    }

    /// Lease files (named after an address) host-local6 keeps for this lab's network(s).
    func leases(network: String? = nil) -> [String] {
        let dir = "\(data.path)/\(network ?? self.network)"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return files.filter { !$0.hasPrefix(".") && $0 != "lock" && !$0.hasPrefix("last_reserved_ip") }
    }

    /// Asserts the node is as it was before any ADD: no host veth, no route to a pod, no
    /// masquerade chain, no lease.
    func expectNoResidue(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let veths = try hostVeths(), routes = try hostRoutes(), chains = try natChains(), leases = leases()
        #expect(veths.isEmpty, "\(what): host veths left: \(veths)", sourceLocation: sourceLocation)
        #expect(routes.isEmpty, "\(what): routes to pods left: \(routes)", sourceLocation: sourceLocation)
        #expect(chains.isEmpty, "\(what): masquerade chains left: \(chains)", sourceLocation: sourceLocation)
        #expect(leases.isEmpty, "\(what): leases left: \(leases)", sourceLocation: sourceLocation)
    }
}

/// The parts of an ADD result the tests look at.
struct Ptp6Result {
    let json: [String: Any]
    init(_ output: PluginProcess.Output) { json = output.json }

    var interfaces: [[String: Any]] { json["interfaces"] as? [[String: Any]] ?? [] }
    var ips: [[String: Any]] { json["ips"] as? [[String: Any]] ?? [] }
    var routes: [[String: Any]] { json["routes"] as? [[String: Any]] ?? [] }
    var hostVeth: String { interfaces.first?["name"] as? String ?? "" }
    /// The first pod address with its prefix length, e.g. `fd42:3::2/64`.
    var cidr: String { ips.first?["address"] as? String ?? "" }
    /// The first pod address without the prefix length.
    var address: String { String(cidr.prefix { $0 != "/" }) }
}

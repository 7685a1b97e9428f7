import Foundation
import Testing

/// The network namespaces and directories one test creates. Every name is PID-unique, and
/// `cleanup()` (call it in `defer`) deletes them all, so a failing test leaves nothing behind.
/// Everything here works inside those namespaces only: nothing touches the root namespace.
final class NamespaceLab {
    private(set) var namespaces: [String] = []
    private var directories: [TemporaryDirectory] = []

    init() {}

    deinit { cleanup() }

    /// A new, empty network namespace (`ip netns add`); its path is `/run/netns/<name>`.
    func namespace(_ prefix: String) throws -> String {
        let name = Unique.name(prefix)
        try PluginProcess.sh("ip netns add \(name)")
        namespaces.append(name)
        return name
    }

    /// A new temporary directory, removed by `cleanup()`.
    func directory(_ prefix: String) -> String {
        let d = TemporaryDirectory(prefix)
        directories.append(d)
        return d.path
    }

    /// Deletes one of our namespaces now (a test that wants the pod's namespace gone).
    func deleteNamespace(_ name: String) throws {
        precondition(namespaces.contains(name), "not a namespace of this test: \(name)")
        try PluginProcess.sh("ip netns del \(name)")
        namespaces.removeAll { $0 == name }
    }

    func cleanup() {
        for ns in namespaces.reversed() {
            _ = try? PluginProcess.exec(["/usr/sbin/ip", "netns", "del", ns])
        }
        namespaces.removeAll()
        directories.removeAll()
    }

    static func path(_ ns: String) -> String { "/run/netns/\(ns)" }

    // MARK: - Building topology (inside our namespaces only)

    /// A veth between two of our namespaces: `nameA` in `a`, `nameB` in `b`, each end with DAD off
    /// (so its link-local address works at once) and the given address added `nodad`, then up.
    func connect(_ a: String, _ nameA: String, address addressA: String?,
                 _ b: String, _ nameB: String, address addressB: String?) throws {
        precondition(namespaces.contains(a) && namespaces.contains(b))
        try PluginProcess.sh("ip -n \(a) link add \(nameA) type veth peer name \(nameB) netns \(b)")
        for (ns, dev, addr) in [(a, nameA, addressA), (b, nameB, addressB)] {
            try Self.sysctl(ns, "net.ipv6.conf.\(dev).accept_dad", "0")
            if let addr { try PluginProcess.sh("ip -n \(ns) addr add \(addr) dev \(dev) nodad") }
            try PluginProcess.sh("ip -n \(ns) link set \(dev) up")
        }
        try Self.waitUntilIPv6Ready(a, nameA)
        try Self.waitUntilIPv6Ready(b, nameB)
    }

    /// Waits (at most 3 s) until the kernel has finished bringing a link up: operstate UP, IPv6
    /// configured on it (its ff00::/8 route in table local), a link-local address, nothing tentative.
    /// Until then IPv6 drops what arrives on it. The kernel's linkwatch may defer the first step up to
    /// a second — always for a veth whose two ends have the same ifindex, which two fresh namespaces
    /// give (both 2).
    static func waitUntilIPv6Ready(_ ns: String, _ dev: String) throws {
        let deadline = Date().addingTimeInterval(3)
        while true {
            let up = try link(ns, dev)?["operstate"] as? String == "UP"
            let mroute = try !ipJSON(ns, "-6 route show table local ff00::/8 dev \(dev)").isEmpty
            let addrs = try addresses6(ns, dev)
            let settled = addrs.contains { $0["scope"] as? String == "link" } && !addrs.contains { $0.flag("tentative") }
            if up && mroute && settled { return }
            guard Date() < deadline else {
                throw PluginProcess.ShellError(command: "waiting for \(dev) in \(ns)", status: 1,
                                               stderr: "link not ready after 3 s (operstate UP: \(up), multicast route: \(mroute), addresses settled: \(settled))")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    static func sysctl(_ ns: String, _ key: String, _ value: String) throws {
        try PluginProcess.sh("ip netns exec \(ns) sysctl -qw \(key)=\(value)")
    }

    static func readSysctl(_ ns: String, _ key: String) throws -> String {
        try PluginProcess.sh("ip netns exec \(ns) sysctl -n \(key)").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Reading kernel state

    /// `ip -j -n NS ARGS`, parsed.
    static func ipJSON(_ ns: String, _ args: String) throws -> [[String: Any]] {
        let out = try PluginProcess.sh("ip -j -n \(ns) \(args)")
        if out.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]] ?? []
    }

    /// Links of a namespace (optionally of one kind: `veth`, `bridge`).
    static func links(_ ns: String, type: String? = nil) throws -> [[String: Any]] {
        try ipJSON(ns, "link show" + (type.map { " type \($0)" } ?? ""))
    }

    static func linkNames(_ ns: String, type: String? = nil) throws -> [String] {
        try links(ns, type: type).compactMap { $0["ifname"] as? String }
    }

    static func link(_ ns: String, _ dev: String) throws -> [String: Any]? {
        try links(ns).first { $0["ifname"] as? String == dev }
    }

    /// The IPv6 `addr_info` entries of a device (empty when it does not exist).
    static func addresses6(_ ns: String, _ dev: String) throws -> [[String: Any]] {
        guard try link(ns, dev) != nil else { return [] }
        return try ipJSON(ns, "-6 addr show dev \(dev)").flatMap { $0["addr_info"] as? [[String: Any]] ?? [] }
    }

    /// IPv6 routes of the main table, each as `ip -j` prints it.
    static func routes6(_ ns: String) throws -> [[String: Any]] {
        try ipJSON(ns, "-6 route show")
    }

    /// One ICMPv6 echo, waiting at most a second: true when the reply came.
    static func ping(from ns: String, _ address: String) throws -> Bool {
        try PluginProcess.exec(["/usr/sbin/ip", "netns", "exec", ns, "ping", "-6", "-n", "-c1", "-W1", address]).status == 0
    }

    /// `ip6tables-save` of one table in a namespace (`-c`: with packet counters).
    static func ip6tablesSave(_ ns: String, table: String, counters: Bool = false) throws -> String {
        try PluginProcess.sh("ip netns exec \(ns) ip6tables-save -t \(table)\(counters ? " -c" : "")")
    }

    /// Runs `ip6tables ARGS` in a namespace.
    static func ip6tables(_ ns: String, _ args: String) throws {
        try PluginProcess.sh("ip netns exec \(ns) ip6tables -w \(args)")
    }

    /// Adds a filter/INPUT rule in `ns` that counts (and accepts) echo requests from `source`, a
    /// prefix in canonical form such as `fd42:1::/64` or `2001:db8::1/128`.
    static func countEchoRequests(_ ns: String, from source: String) throws {
        try ip6tables(ns, "-A INPUT -s \(source) -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT")
    }

    /// Echo requests counted so far by the `countEchoRequests(ns, from: source)` rule.
    static func echoRequests(_ ns: String, from source: String) throws -> Int {
        let save = try ip6tablesSave(ns, table: "filter", counters: true)
        var total = 0
        for line in save.split(separator: "\n") where line.contains("-A INPUT -s \(source) ") {
            // "[packets:bytes] -A INPUT -s ..."
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { continue }
            let counts = line[line.index(after: line.startIndex)..<close].split(separator: ":")
            total += Int(counts.first ?? "") ?? 0
        }
        return total
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `ip -j` flags of an address entry: `"tentative": true` etc.
    func flag(_ name: String) -> Bool { self[name] as? Bool ?? false }
}

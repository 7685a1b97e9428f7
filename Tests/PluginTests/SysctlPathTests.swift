import Foundation
import Testing

/// Cost per pod must not grow with the pods on the node. Every path walk through the machine's
/// /proc/sys/net passes one dentry per network namespace anyone looked up there (250–800 µs with
/// 1000 pods), so bridge6 and ptp6 open their sysctls in a procfs of their own (`SysctlRoot`).
/// strace shows which paths our executables name: none may be below /proc/sys.
@Suite("sysctl paths", .enabled(if: PluginProcess.isRoot))
struct SysctlPathTests {
    static let strace = "/usr/bin/strace"
    static let ours: Set<String> = ["bridge6", "ptp6", "host-local6"]

    /// Runs one of our plugins in node namespace `ns` under `strace -f`, as `PluginProcess.run` would
    /// run it; returns its output and the paths below /proc/sys our executables named.
    static func traced(_ plugin: String, _ command: String, ns: String, pod: String, containerID: String,
                       config: String, scratch: String) throws -> (PluginProcess.Output, [String]) {
        let trace = "\(scratch)/\(plugin).\(command).strace"
        let out = try PluginProcess(plugin).run(command, containerID: containerID, netns: NamespaceLab.path(pod),
                                                config: config, netnsExec: ns,
                                                wrapper: [strace, "-f", "-qq", "-e", "trace=%file", "-o", trace])
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        // The trace must have seen the plugin itself run, or an empty finding would prove nothing.
        try #require(text.contains("execve(\"\(PluginProcess(plugin).path)\""), "strace did not see \(plugin) run")
        return (out, machineSysctlPaths(text))
    }

    /// The syscalls in an `strace -f -o` trace ("PID call(…)" per line) in which one of our
    /// executables named a path below /proc/sys (ip6tables and the like are not ours to judge).
    static func machineSysctlPaths(_ trace: String) -> [String] {
        var executable: [Substring: String] = [:]  // pid → the program it runs
        var found: [String] = []
        for line in trace.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let (pid, call) = (parts[0], parts[1])
            if call.hasPrefix("execve(\""), call.hasSuffix("= 0") {
                let path = call.dropFirst("execve(\"".count).prefix { $0 != "\"" }
                executable[pid] = String(path.split(separator: "/").last ?? "")
            }
            if let exe = executable[pid], ours.contains(exe), call.contains("\"/proc/sys") {
                found.append("\(exe): \(call)")
            }
        }
        return found
    }

    @Test("the trace reader finds /proc/sys paths of our executables only")
    func readerSeesWhatItMust() {
        let trace = """
            10 execve("/opt/cni/bin/bridge6", ["bridge6"], 0x7ffc /* 6 vars */) = 0
            10 openat(AT_FDCWD, "/proc/sys/net/ipv6/conf", O_RDONLY|O_DIRECTORY) = 3
            10 openat(3, "eth0/accept_ra", O_WRONLY) = 4
            11 execve("/usr/sbin/ip6tables-restore", ["ip6tables-restore"], 0x7ffc /* 6 vars */) = 0
            11 openat(AT_FDCWD, "/proc/sys/net/ipv6/conf/all/forwarding", O_RDONLY) = 3
            12 execve("/opt/cni/bin/host-local6", ["host-local6"], 0x7ffc /* 6 vars */) = 0
            12 access("/proc/sys/net", F_OK) = 0
            """
        let found = Self.machineSysctlPaths(trace)
        #expect(found.count == 2)
        #expect(found.first?.hasPrefix("bridge6: openat(AT_FDCWD, \"/proc/sys/net/ipv6/conf\"") == true)
        #expect(found.last?.hasPrefix("host-local6: access(") == true)
    }

    @Test("bridge6 ADD and DEL name no path below /proc/sys")
    func bridge6() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.strace), "no strace (hack/deps.sh test installs it)")
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "fd42:b6:d::/64")
        let scratch = lab.directory("b6trace")
        _ = try node.add(try lab.namespace("b6pod"), containerID: "first")  // the first ADD makes the bridge
        let pod = try lab.namespace("b6pod")
        let (add, addPaths) = try Self.traced("bridge6", "ADD", ns: node.ns, pod: pod, containerID: "traced",
                                              config: node.conf(), scratch: scratch)
        try #require(add.status == 0, "ADD failed: \(add.stdout) \(add.stderr)")
        #expect(addPaths == [])
        // The sysctls were set all the same: the host end has no IPv6, the pod end no DAD.
        let hostEnd = try #require((add.json["interfaces"] as? [[String: Any]])?[1]["name"] as? String)
        let disabled = try PluginProcess.sh("ip netns exec \(node.ns) cat /proc/sys/net/ipv6/conf/\(hostEnd)/disable_ipv6")
        #expect(disabled.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let dad = try PluginProcess.sh("ip netns exec \(pod) cat /proc/sys/net/ipv6/conf/eth0/accept_dad")
        #expect(dad.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        let (del, delPaths) = try Self.traced("bridge6", "DEL", ns: node.ns, pod: pod, containerID: "traced",
                                              config: node.conf(prevResult: add.json), scratch: scratch)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        #expect(delPaths == [])
    }

    @Test("ptp6 ADD and DEL name no path below /proc/sys")
    func ptp6() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.strace), "no strace (hack/deps.sh test installs it)")
        let lab = try Ptp6Lab(uplink: false)
        defer { lab.destroy() }
        let scratchDir = TemporaryDirectory("p6trace")
        defer { withExtendedLifetime(scratchDir) {} }
        let scratch = scratchDir.path
        let pod = try lab.addPod()
        let config = Ptp6Lab.json(lab.config())
        let (add, addPaths) = try Self.traced("ptp6", "ADD", ns: lab.node, pod: pod, containerID: "traced",
                                              config: config, scratch: scratch)
        try #require(add.status == 0, "ADD failed: \(add.stdout) \(add.stderr)")
        #expect(addPaths == [])
        #expect(try lab.sysctl(in: lab.node, "net/ipv6/conf/all/forwarding").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        var withPrev = lab.config()
        withPrev["prevResult"] = add.json
        let (del, delPaths) = try Self.traced("ptp6", "DEL", ns: lab.node, pod: pod, containerID: "traced",
                                              config: Ptp6Lab.json(withPrev), scratch: scratch)
        #expect(del.status == 0, "DEL failed: \(del.stdout) \(del.stderr)")
        #expect(delPaths == [])
    }
}

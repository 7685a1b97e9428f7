import Foundation
import Testing

/// bridge6 and ptp6 run host-local6 in their own process for ADD when the file CNI_PATH names is
/// the host-local6 of their build (hack/build.sh writes its build-id into them), and as a child
/// for anything else: another build, a wrapper script. strace shows which programs were executed;
/// the store and the pod's interface show that the ADD did its work either way.
@Suite("host-local6 in the interface plugin's process", .serialized)
struct CompanionIPAMIntegrationTests {
    static var available: Bool { PluginProcess.isRoot && StartupTests.available }

    /// CNI_PATH folders, each holding one kind of `host-local6`.
    final class Candidates {
        let dir = TemporaryDirectory("companion")
        let companion: String, otherBuild: String, wrapper: String
        let log: String

        init() throws {
            let fm = FileManager.default
            let real = "\(PluginProcess.binDir)/host-local6"
            companion = "\(dir.path)/copy"
            otherBuild = "\(dir.path)/other"
            wrapper = "\(dir.path)/wrap"
            log = "\(dir.path)/wrapper.log"
            for d in [companion, otherBuild, wrapper] { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }
            // A byte-for-byte copy elsewhere: what counts is the content, not the path.
            try fm.copyItem(atPath: real, toPath: "\(companion)/host-local6")
            // The same program with one bit of its build-id changed stands for another build.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: real)))
            let header: [UInt8] = [4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 0x47, 0x4e, 0x55, 0]
            let at = try #require(bytes.firstRange(of: header), "no GNU build-id note in \(real)")
            bytes[at.upperBound] ^= 1
            try Data(bytes).write(to: URL(fileURLWithPath: "\(otherBuild)/host-local6"))
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(otherBuild)/host-local6")
            try "#!/bin/sh\necho \"$CNI_COMMAND\" >> \(log)\nexec \(real)\n"
                .write(toFile: "\(wrapper)/host-local6", atomically: true, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(wrapper)/host-local6")
        }

        var wrapperCalls: [String] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    /// Runs `plugin` in `node` under `strace -f -e trace=execve` with CNI_PATH = `cniPath`: its
    /// output and the paths of the `host-local6` programs it started.
    static func run(_ plugin: String, _ command: String, node: String, pod: String, containerID: String,
                    config: String, cniPath: String) throws -> (PluginProcess.Output, [String]) {
        let scratch = TemporaryDirectory("companion-trace")
        defer { withExtendedLifetime(scratch) {} }
        let trace = "\(scratch.path)/trace"
        let p = PluginProcess(plugin)
        let out = try p.run(command, containerID: containerID, netns: NamespaceLab.path(pod), config: config,
                            netnsExec: node, extraEnv: ["CNI_PATH": cniPath],
                            wrapper: [StartupTests.strace, "-f", "-qq", "-e", "trace=execve", "-o", trace])
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let started = lines.filter { $0.hasSuffix("= 0") }.compactMap { line -> String? in
            guard let open = line.range(of: "execve(\"") else { return nil }
            return String(line[open.upperBound...].prefix { $0 != "\"" })
        }
        try #require(started.first == p.path, "strace did not see \(plugin) start: \(lines)")
        return (out, started.dropFirst().filter { $0.hasSuffix("/host-local6") })
    }

    static func address(_ out: PluginProcess.Output) -> String? {
        ((out.json["ips"] as? [[String: Any]])?.first?["address"] as? String)?.split(separator: "/").first.map(String.init)
    }

    @Test("bridge6: ADD runs its own host-local6 in-process and any other as a child", .enabled(if: available))
    func bridge6() throws {
        let lab = NamespaceLab()
        defer { lab.cleanup() }
        let node = try Bridge6Node(lab, subnet: "2001:db8:c0::/64")
        let c = try Candidates()
        for (i, (dir, inProcess)) in [(c.companion, true), (c.otherBuild, false), (c.wrapper, false)].enumerated() {
            let pod = try lab.namespace("cpod")
            let id = "companion\(i)"
            let (add, started) = try Self.run("bridge6", "ADD", node: node.ns, pod: pod, containerID: id,
                                              config: node.conf(), cniPath: dir)
            try #require(add.status == 0, "\(dir): \(add.stdout) \(add.stderr)")
            let address = try #require(Self.address(add))
            #expect(started == (inProcess ? [] : ["\(dir)/host-local6"]) + (dir == c.wrapper ? ["\(PluginProcess.binDir)/host-local6"] : []),
                    "\(dir)")
            #expect(try node.leases()[address] == id, "the store holds no lease for \(address)")
            let onPod = try NamespaceLab.addresses6(pod, "eth0").compactMap { $0["local"] as? String }
            #expect(onPod.contains(address), "\(pod) eth0: \(onPod)")
            // DEL keeps its child (it runs while the kernel deletes the veth).
            let (del, delStarted) = try Self.run("bridge6", "DEL", node: node.ns, pod: pod, containerID: id,
                                                 config: node.conf(prevResult: add.json), cniPath: dir)
            #expect(del.status == 0, "\(del.stdout) \(del.stderr)")
            #expect(delStarted.first == "\(dir)/host-local6")
            #expect(try node.leases()[address] == nil)
        }
        #expect(c.wrapperCalls == ["ADD", "DEL"])
    }

    @Test("ptp6: ADD runs its own host-local6 in-process and another build as a child", .enabled(if: available))
    func ptp6() throws {
        let lab = try Ptp6Lab(uplink: false)
        defer { lab.destroy() }
        let c = try Candidates()
        for (i, (dir, inProcess)) in [(c.companion, true), (c.otherBuild, false)].enumerated() {
            let pod = try lab.addPod()
            let (add, started) = try Self.run("ptp6", "ADD", node: lab.node, pod: pod, containerID: "p\(i)",
                                              config: Ptp6Lab.json(lab.config()), cniPath: dir)
            try #require(add.status == 0, "\(dir): \(add.stdout) \(add.stderr)")
            #expect(started == (inProcess ? [] : ["\(dir)/host-local6"]), "\(dir)")
            let address = try #require(Self.address(add))
            let onPod = try lab.addresses(in: pod, dev: "eth0").compactMap { $0["local"] as? String }
            #expect(onPod.contains(address), "\(pod) eth0: \(onPod)")
        }
    }
}

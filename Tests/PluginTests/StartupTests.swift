import Foundation
import Testing

/// Every ADD and DEL starts two of our processes, so what the Swift runtime does before `main`
/// counts twice per pod. Two things it does by default on Linux are no use to a plugin and are
/// skipped by `Sources/ProcessStart` with hack/build.sh: reading /proc/self/maps to find argv, and
/// searching for `swift-backtrace` beside the runtime (≈ 0.1 ms of CPU per process together,
/// four alternating batches of 1000 VERSION calls). strace shows whether the release binaries still
/// do them.
@Suite("process start-up", .serialized)
struct StartupTests {
    static let strace = "/usr/bin/strace"

    /// The file syscalls `plugin` made running `command` with `config` on stdin (under `strace -f`).
    static func fileCalls(_ plugin: String, _ command: String, config: String, containerID: String = "start") throws
        -> (PluginProcess.Output, [String]) {
        let scratch = TemporaryDirectory("startup")
        defer { withExtendedLifetime(scratch) {} }
        let trace = "\(scratch.path)/trace"
        let path = PluginProcess(plugin).path
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": command, "CNI_CONTAINERID": containerID,
                   "CNI_NETNS": "/var/run/netns/none", "CNI_IFNAME": "eth0", "CNI_PATH": PluginProcess.cniPath]
        let out = try PluginProcess.exec([strace, "-f", "-qq", "-e", "trace=%file", "-o", trace, path],
                                         environment: env, stdin: config)
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        // The trace must have seen the plugin run, or finding nothing would prove nothing.
        try #require(calls.contains { $0.contains("execve(\"\(path)\"") }, "strace did not see \(plugin) run")
        return (out, calls)
    }

    static func runtimeStartupCalls(_ calls: [String]) -> [String] {
        calls.filter { $0.contains("/proc/self/maps") || $0.contains("swift-backtrace") }
    }

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: strace) && FootprintTests.releaseBuild
    }

    @Test("the start-up finder flags the runtime's argv scan and backtracer search only")
    func finderSeesWhatItMust() {
        let calls = [
            "7 execve(\"/opt/cni/bin/host-local6\", [\"host-local6\"], 0x7ffc /* 6 vars */) = 0",
            "7 readlink(\"/proc/self/exe\", \"/opt/cni/bin/host-local6\", 4096) = 24",
            "7 newfstatat(AT_FDCWD, \"/opt/cni/bin/swift-backtrace\", 0x7ffd, 0) = -1 ENOENT (No such file or directory)",
            "7 openat(AT_FDCWD, \"/proc/self/maps\", O_RDONLY) = 3",
            "7 openat(AT_FDCWD, \"/var/lib/cni/networks/n/lock\", O_RDWR|O_CREAT|O_CLOEXEC, 0600) = 3",
        ]
        #expect(Self.runtimeStartupCalls(calls) == [calls[2], calls[3]])
    }

    @Test("VERSION: no argv scan, no swift-backtrace search", .enabled(if: available),
          arguments: ["bridge6", "ptp6", "host-local6"])
    func version(plugin: String) throws {
        let (out, calls) = try Self.fileCalls(plugin, "VERSION", config: "{\"cniVersion\":\"1.1.0\"}")
        #expect(out.status == 0, "\(out.stdout) \(out.stderr)")
        #expect((out.json["supportedVersions"] as? [String])?.contains("0.1.0") == true, "\(out.stdout)")
        #expect(Self.runtimeStartupCalls(calls) == [])
    }

    @Test("host-local6 ADD and DEL: no argv scan, no swift-backtrace search", .enabled(if: available))
    func hostLocalAddDel() throws {
        let fixture = HostLocalFixture("startup")
        let config = fixture.config(ipam: "\"ranges\":[[{\"subnet\":\"fd42:5a::/64\"}]]")
        let (add, addCalls) = try Self.fileCalls("host-local6", "ADD", config: config)
        try #require(add.status == 0, "\(add.stdout) \(add.stderr)")
        #expect(Self.runtimeStartupCalls(addCalls) == [])
        #expect(addCalls.contains { $0.contains("\"\(fixture.dataDir)/") }, "the trace shows no lease store access")
        let (del, delCalls) = try Self.fileCalls("host-local6", "DEL", config: config)
        #expect(del.status == 0, "\(del.stdout) \(del.stderr)")
        #expect(Self.runtimeStartupCalls(delCalls) == [])
    }
}

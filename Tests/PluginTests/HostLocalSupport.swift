#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import Testing
import IPAddressing

/// Scratch space for one host-local6 process test: `<root>/data` is the `dataDir`, the network
/// directory is `<root>/data/<network>`. Everything under `root` goes away on deinit.
final class HostLocalFixture {
    nonisolated(unsafe) private static var counter = 0
    private static let counterLock = NSLock()

    let root: String
    let network: String
    var dataDir: String { "\(root)/data" }
    var netDir: String { "\(dataDir)/\(network)" }
    var indexDir: String { "\(netDir)/.v6cni" }

    /// `tmpfs: true` puts the directory on /dev/shm (no fsync cost) for the high-volume tests.
    init(_ tag: String, network: String = "mynet", tmpfs: Bool = false) {
        Self.counterLock.lock()
        Self.counter += 1
        let n = Self.counter
        Self.counterLock.unlock()
        let base = tmpfs && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        root = "\(base)/v6cni-hl-\(tag)-\(getpid())-\(n)"
        self.network = network
        try? FileManager.default.removeItem(atPath: root)
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A host-local network configuration. `ipam` and `top` are JSON members without braces.
    func config(_ version: String = "1.0.0", ipam: String, top: String = "", type: String = "host-local6",
                dataDir: String? = nil) -> String {
        let dir = dataDir ?? self.dataDir
        return "{\"cniVersion\":\"\(version)\",\"name\":\"\(network)\",\"type\":\"\(type)\"\(top.isEmpty ? "" : "," + top),"
            + "\"ipam\":{\"type\":\"\(type)\",\"dataDir\":\"\(dir)\"\(ipam.isEmpty ? "" : "," + ipam)}}"
    }

    /// The same config run by the reference binary (its `type` differs, nothing else).
    func referenceConfig(_ version: String = "1.0.0", ipam: String, top: String = "") -> String {
        config(version, ipam: ipam, top: top, type: "host-local")
    }

    /// Runs our binary. (Through `SpawnedPlugin`, not `PluginProcess.exec`: a plugin that refuses its
    /// environment exits without reading stdin, and writing to that pipe would SIGPIPE the test process.)
    @discardableResult
    func run(_ command: String, _ config: String, containerID: String = "ctr1", ifname: String = "eth0",
             args: String? = nil, env: [String: String] = [:]) throws -> PluginProcess.Output {
        var extra = env
        if let args { extra["CNI_ARGS"] = args }
        return try SpawnedPlugin.hostLocal(command, containerID: containerID, config: config, ifname: ifname,
                                           extraEnv: extra).wait().output
    }

    /// Runs the reference binary from /usr/lib/cni.
    @discardableResult
    func runReference(_ command: String, _ config: String, containerID: String = "ctr1", ifname: String = "eth0") throws -> PluginProcess.Output {
        try SpawnedPlugin.hostLocal(command, containerID: containerID, config: config, ifname: ifname,
                                    reference: true).wait().output
    }

    // MARK: what is on disk

    /// Lease files: address text → content.
    var leases: [String: String] {
        var out: [String: String] = [:]
        for name in HL.listing(netDir) where IPAddress(name) != nil {
            out[name] = HL.text("\(netDir)/\(name)") ?? ""
        }
        return out
    }

    /// Lease files held by `containerID` (any ifname), sorted.
    func leases(of containerID: String) -> [String] {
        leases.filter { $0.value.hasPrefix("\(containerID)\r\n") || $0.value == containerID }.keys.sorted()
    }

    /// Our index files (owner name → listed addresses), without `seen`, temporaries and spares.
    var indexFiles: [String: [String]] {
        var out: [String: [String]] = [:]
        for name in HL.listing(indexDir) where name != "seen" && !name.hasPrefix(".tmp-") && !name.hasPrefix(".spare-") {
            out[name] = (HL.indexText("\(indexDir)/\(name)") ?? "").split(separator: "\n").map(String.init)
        }
        return out
    }

    func lastReserved(_ set: Int) -> String? { HL.text("\(netDir)/last_reserved_ip.\(set)") }

    /// True when nothing but the scratch root itself exists (no data dir, nothing escaped next to it).
    var untouched: Bool { HL.listing(root).isEmpty }
}

/// Small helpers for the host-local process tests.
enum HL {
    static var referenceAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "\(PluginProcess.referenceDir)/host-local")
    }

    static var binaryAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "\(PluginProcess.binDir)/host-local6")
    }

    static let versions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    static func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func text(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// An index entry's address listing: its `user.v6cni.index` attribute (the entry is then a second
    /// name of a lease file), else the file's text.
    static func indexText(_ path: String) -> String? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { getxattr(path, "user.v6cni.index", $0.baseAddress, $0.count) }
        return n >= 0 ? String(decoding: buf[0..<n], as: UTF8.self) : text(path)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    /// JSON text with sorted keys, so two documents compare by content.
    static func canonical(_ text: String) -> String {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return "<not JSON: \(text)>" }
        return canonical(object: obj)
    }

    static func canonical(object: Any) -> String {
        guard let d = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "<unserializable>" }
        return String(decoding: d, as: UTF8.self)
    }

    /// The reference plugin prints `"dns":{}` for an empty DNS section; we omit it.
    static func withoutEmptyDNS(_ text: String) -> String {
        guard var obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return text }
        if let dns = obj["dns"] as? [String: Any], dns.isEmpty { obj["dns"] = nil }
        return canonical(object: obj)
    }

    /// Addresses (without prefix length) of a result in any version.
    static func addresses(_ out: PluginProcess.Output) -> [String] {
        let json = out.json
        var list: [String] = []
        if let ips = json["ips"] as? [[String: Any]] {
            list = ips.compactMap { $0["address"] as? String }
        } else {
            for key in ["ip4", "ip6"] { if let o = json[key] as? [String: Any], let a = o["ip"] as? String { list.append(a) } }
        }
        return list.map { String($0.split(separator: "/")[0]) }
    }

    static func seconds(since start: timespec) -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
    }

    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t
    }
}

/// A plugin process we start and reap ourselves (posix_spawn + waitpid), so it can be SIGKILLed by
/// its PID with no risk of hitting another process: until we reap it, the PID cannot be reused.
/// stdin is a socket, so writing to a child that has exited is EPIPE, never SIGPIPE.
final class SpawnedPlugin {
    let pid: pid_t
    private var stdinFD: Int32
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var reaped = false

    struct Exit {
        var code: Int32?      // nil when killed by a signal
        var signal: Int32?
        var stdout: String
        var stderr: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:] }
        var errorCode: Int? { json["code"] as? Int }
        /// As `PluginProcess` reports it (a signal as 128 + its number).
        var output: PluginProcess.Output {
            PluginProcess.Output(stdout: stdout, stderr: stderr, status: code ?? 128 + (signal ?? 0))
        }
    }

    /// Environment for a CNI verb, like `PluginProcess.run`.
    static func cniEnvironment(_ command: String, containerID: String, ifname: String = "eth0",
                               extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": command, "CNI_CONTAINERID": containerID,
                   "CNI_NETNS": "/var/run/netns/none", "CNI_IFNAME": ifname, "CNI_PATH": PluginProcess.cniPath]
        for (k, v) in extra { env[k] = v }
        return env
    }

    init(path: String, environment: [String: String], stdin: [UInt8]) throws {
        var sv: [Int32] = [0, 0]
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        // Socket pairs are created close-on-exec atomically, so children other threads spawn at the
        // same moment never inherit our ends (which would delay EOF).
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &sv) == 0, socketpair(AF_UNIX, type, 0, &outPipe) == 0,
              socketpair(AF_UNIX, type, 0, &errPipe) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, sv[1], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(sv[1]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(sv[0]); close(outPipe[0]); close(errPipe[0])
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO)
        }
        self.pid = pid
        stdinFD = sv[0]
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
        if stdin.count <= 65536 {
            writeStdin(stdin)
        } else {
            // Large input: feed it from a thread while `wait` drains the output.
            let fd = stdinFD
            stdinFD = -1
            let data = stdin
            Thread { SpawnedPlugin.send(data, fd); close(fd) }.start()
        }
    }

    private func writeStdin(_ bytes: [UInt8]) {
        Self.send(bytes, stdinFD)
        close(stdinFD)
        stdinFD = -1
    }

    /// Writes everything it can; stops quietly when the reader has gone (EPIPE).
    private static func send(_ bytes: [UInt8], _ fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// SIGKILL, by the PID we spawned and have not reaped yet.
    func kill() {
        precondition(!reaped)
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// True while the process runs: not yet exited (a zombie is not running). Does not reap.
    var isRunning: Bool {
        guard let stat = HL.text("/proc/\(pid)/stat"), let paren = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: paren)...].drop { $0 == " " }.first
        return state != nil && state != "Z" && state != "X"
    }

    /// Reads all output and reaps the process.
    func wait() -> Exit {
        var out: [UInt8] = [], err: [UInt8] = []
        var fds = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buf = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buf.withUnsafeMutableBytes { Glibc.read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if i == 0 { out += buf[0..<n] } else { err += buf[0..<n] }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        let signaled = status & 0x7f
        return Exit(code: signaled == 0 ? (status >> 8) & 0xff : nil, signal: signaled == 0 ? nil : signaled,
                    stdout: String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                    stderr: String(decoding: err, as: UTF8.self))
    }

    deinit {
        if !reaped {
            _ = Glibc.kill(pid, SIGKILL)
            _ = wait()
        }
        if stdinFD >= 0 { close(stdinFD) }
    }

    /// Starts our host-local6 with a CNI environment.
    static func hostLocal(_ command: String, containerID: String, config: String, ifname: String = "eth0",
                          extraEnv: [String: String] = [:], reference: Bool = false) throws -> SpawnedPlugin {
        try SpawnedPlugin(path: PluginProcess(reference ? "host-local" : "host-local6", reference: reference).path,
                          environment: cniEnvironment(command, containerID: containerID, ifname: ifname, extra: extraEnv),
                          stdin: Array(config.utf8))
    }
}

extension HL {
    /// Runs `body(i)` for i in 0..<count on `count` threads at once and waits for all of them.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let t = Thread { body(i); group.leave() }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
    }

    /// A lock-protected box for results gathered from several threads.
    final class Collected<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [T] = []
        func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
        var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    }
}

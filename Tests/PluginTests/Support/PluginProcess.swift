import Foundation
import Testing

/// Runs a built plugin binary the way a runtime does: CNI_* environment, config on stdin.
struct PluginProcess {
    struct Output {
        var stdout: String
        var stderr: String
        var status: Int32

        /// The stdout JSON as a dictionary (results and errors are JSON objects).
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
        var errorCode: Int? { json["code"] as? Int }
        var errorMessage: String { json["msg"] as? String ?? "" }
    }

    /// Folder with our built binaries: $V6CNI_BIN (hack/test.sh sets it), else the newer of out/bin and .build/debug.
    static let binDir: String = {
        if let d = ProcessInfo.processInfo.environment["V6CNI_BIN"], !d.isEmpty { return d }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        // The freshest build wins, so a stale out/bin never hides what `swift build` just made.
        func built(_ d: String) -> Date? {
            (try? FileManager.default.attributesOfItem(atPath: "\(d)/bridge6"))?[.modificationDate] as? Date
        }
        let candidates = ["\(root)/out/bin", "\(root)/.build/debug"].compactMap { d in built(d).map { (d, $0) } }
        return candidates.max { $0.1 < $1.1 }?.0 ?? "\(root)/out/bin"
    }()

    /// Debian's reference plugins.
    static let referenceDir = ProcessInfo.processInfo.environment["V6CNI_REFERENCE_BIN"] ?? "/usr/lib/cni"

    static var isRoot: Bool { geteuid() == 0 }

    /// CNI_PATH holding our binaries first, then the reference plugins.
    static var cniPath: String { "\(binDir):\(referenceDir)" }

    let path: String

    init(_ name: String, reference: Bool = false) {
        path = "\(reference ? Self.referenceDir : Self.binDir)/\(name)"
    }

    /// Runs the plugin; `netnsExec` runs it inside a named namespace (`ip netns exec NAME`), `wrapper`
    /// through a command such as `strace -o FILE`.
    @discardableResult
    func run(_ command: String, containerID: String = "ctr1", netns: String = "/var/run/netns/none",
             ifname: String = "eth0", args: String? = nil, config: String, netnsExec: String? = nil,
             extraEnv: [String: String] = [:], wrapper: [String] = []) throws -> Output {
        var env: [String: String] = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": command,
                                     "CNI_CONTAINERID": containerID, "CNI_NETNS": netns, "CNI_IFNAME": ifname,
                                     "CNI_PATH": Self.cniPath]
        if let args { env["CNI_ARGS"] = args }
        for (k, v) in extraEnv { env[k] = v }
        return try Self.exec((netnsExec.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + wrapper + [path],
                             environment: env, stdin: config)
    }

    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    static func exec(_ argv: [String], environment: [String: String]? = nil, stdin: String = "") throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if let environment { p.environment = environment }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        _ = ignoreSIGPIPE
        try p.run()
        // A plugin may exit before reading stdin (it refused its environment): that is EPIPE here,
        // not a signal that kills the test process.
        try? inPipe.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a chatty child never blocks on a full pipe.
        final class Box: @unchecked Sendable { var data = Data(); let done = NSCondition(); var finished = false }
        let err = Box()
        let handle = errPipe.fileHandleForReading
        Thread {
            let d = handle.readDataToEndOfFile()
            err.done.lock(); err.data = d; err.finished = true; err.done.signal(); err.done.unlock()
        }.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        err.done.lock()
        while !err.finished { err.done.wait() }
        err.done.unlock()
        return Output(stdout: String(decoding: outData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                      stderr: String(decoding: err.data, as: UTF8.self), status: p.terminationStatus)
    }

    /// Runs a shell command line (for `ip`, `ip6tables-save`, …) and returns stdout; throws on failure.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        let out = try exec(["/bin/sh", "-c", command])
        guard out.status == 0 else {
            throw ShellError(command: command, status: out.status, stderr: out.stderr)
        }
        return out.stdout
    }

    struct ShellError: Error, CustomStringConvertible {
        var command: String, status: Int32, stderr: String
        var description: String { "`\(command)` exited \(status): \(stderr)" }
    }
}

/// A unique name per test process and call: tests on this shared machine never collide.
enum Unique {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()
    static func name(_ prefix: String) -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        return "\(prefix)-\(getpid())-\(counter)"
    }
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String
    init(_ prefix: String = "v6cni") {
        path = NSTemporaryDirectory() + Unique.name(prefix)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

#if canImport(Glibc)
import Glibc
#endif

/// Kernel parameters under /proc/sys, read and written in the **calling thread's** network
/// namespace: wrap calls in `NetworkNamespace.perform { … }` to reach another namespace's
/// `net/...` keys.
///
/// Keys may be given with slashes (`net/ipv6/conf/eth0/accept_dad`) or dots
/// (`net.ipv6.conf.eth0.accept_dad`). Dots are only turned into slashes when the key has no
/// slash, so use the slash form for interface names containing a dot (`eth0.100`).
///
/// A missing key throws a `KernelError` with errno ENOENT (`isNotFound`): that is how a node booted
/// with `ipv6.disable=1` (no /proc/sys/net/ipv6) or a link that is gone shows up.
public enum Sysctl {
    /// The file behind a key, e.g. `/proc/sys/net/ipv6/conf/eth0/accept_dad`.
    public static func path(_ key: String) -> String {
        var k = key.hasPrefix("/proc/sys/") ? String(key.dropFirst("/proc/sys/".count)) : key
        if !k.contains("/") { k = k.replacingDots() }
        return "/proc/sys/" + k
    }

    /// Writes `value` to a key.
    public static func write(_ key: String, _ value: String) throws(KernelError) {
        let root = SysctlRoot.process, k = root.relative(try checkedPath(key))
        try write(at: root.fd, k, value, name: k)
    }

    /// Reads a key's value without the trailing newline.
    public static func read(_ key: String) throws(KernelError) -> String {
        let root = SysctlRoot.process, k = root.relative(try checkedPath(key))
        return try read(at: root.fd, k, name: k)
    }

    /// `path` relative to the directory `dirfd`; `name` is the key for messages.
    static func write(at dirfd: Int32, _ path: String, _ value: String, name: String) throws(KernelError) {
        let op = "setting \(name) to \(value)"
        let fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelError.fromErrno(op) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KernelError.fromErrno(op)
            }
            done += n
        }
    }

    static func read(at dirfd: Int32, _ path: String, name: String) throws(KernelError) -> String {
        let op = "reading \(name)"
        let fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelError.fromErrno(op) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KernelError.fromErrno(op)
            }
            if n == 0 { break }
            out += buf[0..<n]
        }
        while out.last == UInt8(ascii: "\n") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the key exists (e.g. `net/ipv6` is missing when IPv6 is disabled at boot).
    public static func exists(_ key: String) -> Bool {
        guard let p = try? checkedPath(key) else { return false }
        let root = SysctlRoot.process
        return faccessat(root.fd, root.relative(p), F_OK, 0) == 0
    }

    /// Refuses keys that would leave /proc/sys (empty or `..` components).
    /// True for a relative path of plain components (none empty, `.` or `..`).
    static func staysBelow(_ relative: Substring) -> Bool {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        return !parts.isEmpty && !parts.contains { $0.isEmpty || $0 == ".." || $0 == "." }
    }

    static func checkedPath(_ key: String) throws(KernelError) -> String {
        let p = path(key)
        guard staysBelow(p.dropFirst("/proc/sys/".count)) else {
            throw KernelError(errno: EINVAL, operation: "using sysctl key \"\(key)\"", kernelMessage: "invalid key")
        }
        return p
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "/" : $0 })
    }
}

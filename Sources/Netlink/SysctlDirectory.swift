#if canImport(Glibc)
import Glibc
#endif

/// A directory under /proc/sys (e.g. `net/ipv6/conf`), opened once in the calling thread's
/// network namespace; its keys are then opened relative to it, so a key walks only below it (every
/// walk through `net/` costs in proportion to the namespaces on the node, see `SysctlRoot`; eleven
/// of them cost bridge6 ≈ 4 ms per ADD with 1000 pods).
public final class SysctlDirectory {
    /// The directory's key, e.g. `net/ipv6/conf`.
    public let key: String
    private let fd: Int32

    /// Opens the directory. A missing one throws ENOENT (`isNotFound`): no /proc/sys/net/ipv6 on a
    /// node booted with `ipv6.disable=1`.
    public init(_ key: String, root: SysctlRoot = .process) throws(KernelError) {
        let p = try Sysctl.checkedPath(key)
        let fd = openat(root.fd, root.relative(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelError.fromErrno("opening \(p)") }
        self.key = String(p.dropFirst("/proc/sys/".count))
        self.fd = fd
    }

    deinit { close(fd) }

    /// Writes `value` to `key/sub` (`sub` like `eth0/accept_dad`).
    public func write(_ sub: String, _ value: String) throws(KernelError) {
        try Sysctl.write(at: fd, try checked(sub), value, name: "\(key)/\(sub)")
    }

    /// Reads `key/sub` without the trailing newline.
    public func read(_ sub: String) throws(KernelError) -> String {
        try Sysctl.read(at: fd, try checked(sub), name: "\(key)/\(sub)")
    }

    /// Whether `key/sub` exists.
    public func exists(_ sub: String) -> Bool {
        guard let s = try? checked(sub) else { return false }
        return faccessat(fd, s, F_OK, 0) == 0
    }

    /// Refuses what would leave the directory (absolute, empty or `..` components).
    private func checked(_ sub: String) throws(KernelError) -> String {
        guard Sysctl.staysBelow(sub[...]) else {
            throw KernelError(errno: EINVAL, operation: "using sysctl key \"\(key)/\(sub)\"", kernelMessage: "invalid key")
        }
        return sub
    }
}

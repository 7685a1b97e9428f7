#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// The directory /proc/sys keys are opened from.
///
/// Every walk through the machine's `/proc/sys/net` passes a dentry hash chain that holds one entry
/// per network namespace whose sysctls anyone has looked up: the sysctl filesystem keeps each
/// namespace's `net/ipv6` side by side under the one `/proc/sys/net` and tells them apart one by
/// one in `proc_sys_compare`, under a global lock. With 1000 pods a walk from the node costs
/// ≈ 250 µs and the first one in a new pod ≈ 500 µs (5–20 µs without them), and every pod a plugin
/// configures leaves its entry behind for as long as it lives. Dentries belong to one procfs
/// instance, so `process` is a procfs of this process's own, mounted detached (in no mount
/// namespace: nothing to unshare, nothing anyone else sees; ≈ 30 µs) and gone when the process
/// exits; its chain holds only what this process looks up. Lookups below it still resolve in the
/// calling thread's network namespace. Where no procfs may be mounted (no CAP_SYS_ADMIN over the
/// process's user namespace, an LSM that refuses it, a kernel before 5.2) it is /proc/sys.
public struct SysctlRoot: @unchecked Sendable {
    /// An open directory: `sys` of the private instance, or /proc/sys.
    let fd: Int32
    /// Whether `fd` is in a procfs instance of this process's own.
    public let isPrivate: Bool

    /// Made on first use, kept until the process exits.
    public static let process: SysctlRoot = privateInstance() ?? machine

    /// The machine's /proc/sys (what `process` falls back to).
    public static let machine = SysctlRoot(fd: Glibc.open("/proc/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC), isPrivate: false)

    static func privateInstance() -> SysctlRoot? {
        let mount = v6cni_private_proc()
        guard mount >= 0 else { return nil }
        let sys = openat(mount, "sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        close(mount)  // the open directory keeps the instance, and walks below it, alive
        return sys >= 0 ? SysctlRoot(fd: sys, isPrivate: true) : nil
    }

    /// `path` ("/proc/sys/…", as `Sysctl.checkedPath` makes it) relative to `fd`.
    func relative(_ path: String) -> String {
        String(path.dropFirst("/proc/sys/".count))
    }
}

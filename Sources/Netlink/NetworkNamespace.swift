import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// An open network namespace (a file descriptor to `/run/netns/NAME` or `/proc/PID/ns/net`).
/// The descriptor is closed when the value goes away.
///
/// Entering a namespace affects only the calling thread. The intended pattern (SWIFT-NOTES §4): on
/// the plugin's single synchronous thread, open a `routeSocket()` per namespace once and do all
/// netlink work through those sockets; use `perform` only for what needs the thread inside the
/// namespace (sysctl writes under /proc/sys/net). Never call `perform`/`routeSocket()` from async
/// code or from a thread pool you don't own.
public final class NetworkNamespace {
    /// The path it was opened from (quoted in error messages).
    public let path: String
    public let fileDescriptor: Int32

    private init(fileDescriptor: Int32, path: String) {
        self.fileDescriptor = fileDescriptor
        self.path = path
    }

    deinit { close(fileDescriptor) }

    /// Opens a namespace file. Fails with ENOENT if the path does not exist and EINVAL if it is not
    /// a namespace file (nsfs).
    public static func open(path: String) throws(KernelError) -> NetworkNamespace {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelError.fromErrno("opening network namespace \(path)") }
        var fs = statfs()
        guard fstatfs(fd, &fs) == 0 else {
            let e = KernelError.fromErrno("opening network namespace \(path)")
            close(fd)
            throw e
        }
        let nsfsMagic = 0x6e73_6673  // NSFS_MAGIC (Linux ≥ 3.19)
        guard Int(fs.f_type) == nsfsMagic else {
            close(fd)
            throw KernelError(errno: EINVAL, operation: "opening network namespace \(path)",
                              kernelMessage: "not a namespace file")
        }
        return NetworkNamespace(fileDescriptor: fd, path: path)
    }

    /// Opens a named namespace as `ip netns` creates it: `/run/netns/<name>`.
    public static func open(name: String) throws(KernelError) -> NetworkNamespace {
        try open(path: "/run/netns/" + name)
    }

    /// The calling thread's current namespace (`/proc/thread-self/ns/net`).
    public static func current() throws(KernelError) -> NetworkNamespace {
        try open(path: "/proc/thread-self/ns/net")
    }

    /// The namespace's inode number: two open namespaces are the same namespace when it matches.
    public var inode: UInt64 {
        var st = stat()
        guard fstat(fileDescriptor, &st) == 0 else { return 0 }
        return UInt64(st.st_ino)
    }

    /// Runs `body` with the calling thread inside this namespace, then returns the thread to the
    /// namespace it was in. Failing to enter throws a `KernelError`; failing to return is fatal
    /// (the thread would otherwise go on working in the wrong namespace).
    public func perform<T>(_ body: () throws -> T) throws -> T {
        let original = try NetworkNamespace.current()
        guard setns(fileDescriptor, CLONE_NEWNET) == 0 else {
            throw KernelError.fromErrno("entering network namespace \(path)")
        }
        defer {
            if setns(original.fileDescriptor, CLONE_NEWNET) != 0 {
                let e = KernelError.fromErrno("returning from network namespace \(path)")
                fatalError(e.description)
            }
        }
        return try body()
    }

    /// Opens a route socket that lives in this namespace (setns → socket → setns back on the
    /// calling thread). The socket may then be used from any thread.
    public func routeSocket() throws(KernelError) -> RouteSocket {
        do {
            let transport = try perform { try LibnlTransport() }
            return RouteSocket(transport: transport, namespacePath: path)
        } catch let e as KernelError {
            throw e
        } catch {
            throw KernelError(errno: EIO, operation: "opening route socket in \(path)")
        }
    }
}

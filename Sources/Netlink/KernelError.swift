#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by the kernel (a netlink NLMSG_ERROR, or a failing syscall such as
/// `setns` or a sysctl write), with what we were doing when it happened.
///
/// `description` reads like `adding fd42::5/64 to eth0 in /run/netns/pod-1: File exists`, followed
/// by the kernel's extended-ACK text in parentheses when it sent one.
public struct KernelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The positive errno value (EEXIST, ENODEV, …).
    public var errno: Int32
    /// What was being done, e.g. "adding fd42::5/64 to eth0".
    public var operation: String
    /// The namespace the socket belongs to, when it was opened through `NetworkNamespace`.
    public var namespacePath: String?
    /// The kernel's extended-ACK message (NLMSGERR_ATTR_MSG), if it sent one.
    public var kernelMessage: String?

    public init(errno: Int32, operation: String, namespacePath: String? = nil, kernelMessage: String? = nil) {
        self.errno = errno
        self.operation = operation
        self.namespacePath = namespacePath
        self.kernelMessage = kernelMessage
    }

    /// `strerror(errno)`, e.g. "File exists".
    public var reason: String {
        guard let s = strerror(errno) else { return "errno \(errno)" }
        return String(cString: s)
    }

    public var description: String {
        var s = operation
        if let ns = namespacePath { s += " in \(ns)" }
        s += ": \(reason)"
        if let m = kernelMessage, !m.isEmpty { s += " (\(m))" }
        return s
    }

    /// EEXIST: the link, address, route or neighbour is already there.
    public var isExists: Bool { errno == EEXIST }
    /// ENOBUFS from RTM_NEWNEIGH: the neighbour table is at its gc_thresh3 limit.
    public var isNeighborTableFull: Bool { errno == ENOBUFS }

    /// The object (or the path/namespace) does not exist: ENODEV (link), EADDRNOTAVAIL (address),
    /// ESRCH (route), ENOENT (neighbour, sysctl file, namespace path), ENXIO.
    public var isNotFound: Bool {
        errno == ENODEV || errno == ENOENT || errno == ESRCH || errno == EADDRNOTAVAIL || errno == ENXIO
    }

    /// EPERM / EACCES: not allowed (not root, or missing CAP_NET_ADMIN).
    public var isPermissionDenied: Bool { errno == EPERM || errno == EACCES }

    func with(operation: String, namespacePath: String?) -> KernelError {
        var e = self
        e.operation = operation
        e.namespacePath = namespacePath
        return e
    }

    /// The current `errno` as a KernelError.
    static func fromErrno(_ operation: String) -> KernelError {
        KernelError(errno: Glibc.errno, operation: operation)
    }
}

import CNetlink
#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE socket bound to one network namespace. Every call is synchronous: it sends one
/// request and waits for the kernel's answer. The operations live in extensions: links
/// (Link.swift), addresses (Address.swift), routes (Route.swift), neighbours (Neighbor.swift).
///
/// Open it with `NetworkNamespace.routeSocket()` (any namespace) or `RouteSocket()` (the calling
/// thread's current one). Not thread-safe: use one socket from one thread at a time.
public final class RouteSocket {
    public let transport: any NetlinkTransport
    /// The namespace path, quoted in error messages ("… in /run/netns/pod-1: …").
    public let namespacePath: String?

    public init(transport: any NetlinkTransport, namespacePath: String? = nil) {
        self.transport = transport
        self.namespacePath = namespacePath
    }

    /// A socket in the calling thread's current network namespace.
    public convenience init() throws(KernelError) {
        self.init(transport: try LibnlTransport())
    }

    /// Sends one request; a failure gets `operation` and the namespace path attached.
    @discardableResult
    func execute(_ request: NetlinkRequest, _ operation: () -> String) throws(KernelError) -> [NetlinkMessage] {
        do {
            return try transport.send(request)
        } catch {
            throw error.with(operation: operation(), namespacePath: namespacePath)
        }
    }

    /// A link's name for error messages, looked up only when something already failed.
    func describeLink(_ index: Int32) -> String {
        if let l = try? link(index: index) { return l.name }
        return "link #\(index)"
    }
}

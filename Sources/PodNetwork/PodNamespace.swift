import CNI
import Netlink

/// The pod's network namespace (`CNI_NETNS`) with its route socket, opened once on the main thread.
public struct PodNamespace {
    public let namespace: NetworkNamespace
    public let socket: RouteSocket

    /// Opens `path`; refuses the plugin's own namespace (the node's), as the reference `skel` does,
    /// unless `allowOwn` (CNI_NETNS_OVERRIDE) — a pod must never be configured onto the node.
    public init(_ path: String, allowOwn: Bool = false) throws(CNIError) {
        do {
            namespace = try NetworkNamespace.open(path: path)
            if !allowOwn, try namespace.inode == NetworkNamespace.current().inode {
                throw CNIError(.invalidNetns, "CNI_NETNS \"\(path)\" is the plugin's own network namespace, not a pod's")
            }
            socket = try namespace.routeSocket()
        } catch let e as CNIError {
            throw e
        } catch let e as KernelError {
            throw CNIError(.invalidNetns, "cannot use network namespace \"\(path)\": \(e.reason)")
        } catch {
            throw CNIError(.invalidNetns, "cannot use network namespace \"\(path)\": \(error)")
        }
    }

    /// The namespace when it still exists (DEL must work without it).
    public static func ifPresent(_ path: String) -> PodNamespace? {
        guard !path.isEmpty else { return nil }
        return try? PodNamespace(path)
    }
}

extension RouteSocket {
    /// A route socket in the namespace this process runs in (the node's).
    public static func inCurrentNamespace() throws -> RouteSocket { try RouteSocket() }
}

/// Runs `body`; a kernel "not found" (the thing is already gone) counts as success.
public func ignoringNotFound(_ body: () throws -> Void) throws {
    do { try body() } catch let e as KernelError where e.isNotFound {}
}

extension CNIError {
    /// CHECK found the attachment not as ADD left it (plugin-specific code 100).
    public static func checkFailed(_ msg: String) -> CNIError { CNIError(code: 100, msg) }
}

public func CheckFailure(_ msg: String) -> CNIError { .checkFailed(msg) }

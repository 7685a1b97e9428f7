import CNI
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Waits until the kernel has finished bringing a link up. A link that is set up only starts to
/// transmit once the kernel's link watcher has run for it (it then sets the operational state to
/// UP and attaches the queueing discipline); for a veth whose ifindex equals its peer's (possible
/// across namespaces) that can take up to a second, and packets sent before are dropped. Normally
/// the first look already says UP, so this costs one RTM_GETLINK.
public func waitUntilOperational(_ socket: RouteSocket, index: Int32, timeout: Double = 2) throws -> Link {
    var waited = 0.0
    var delay = 0.0005
    while true {
        guard let link = try socket.link(index: index) else {
            throw CNIError(.internalError, "link #\(index) vanished while it was being brought up")
        }
        if link.operState == .up || link.operState == .unknown || !link.isUp || waited >= timeout { return link }
        var ts = timespec(tv_sec: 0, tv_nsec: Int(delay * 1e9))
        nanosleep(&ts, nil)
        waited += delay
        delay = min(delay * 2, 0.05)
    }
}

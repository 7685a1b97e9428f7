import CNI
import Netlink
#if canImport(Glibc)
import Glibc
#endif

extension RouteSocket {
    /// Returns the link once the kernel has finished bringing it up, so that a packet sent the
    /// moment ADD returns is not dropped.
    ///
    /// Setting IFF_UP is not the end of it: the carrier change is applied later by the kernel's
    /// link watcher — it attaches the real qdisc (until then the device drops every packet it
    /// sends, neighbour advertisements included), sets the operational state, and tells IPv6 the
    /// link is ready (link-local address, multicast groups). The watcher runs "urgent" events at
    /// once but may hold others for up to a second (it is rate-limited machine-wide, so a busy
    /// node makes this likelier); a veth pair whose two ends happen to have the same ifindex in
    /// their namespaces is such a non-urgent case (measured: the first neighbour advertisement is
    /// lost). An RTM_GETLINK for the device makes the kernel apply its pending change right away
    /// (`rtnl_getlink` → `linkwatch_sync_dev` in recent kernels); on kernels without that, this polls
    /// until the watcher has run (at most about a second).
    ///
    /// `.unknown` counts as up (drivers without operational state report it).
    @discardableResult
    public func awaitOperationalUp(index: Int32, timeoutMilliseconds: Int = 1500) throws -> Link {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(timeoutMilliseconds)
        while true {
            guard let link = try link(index: index) else {
                throw CNIError(.internalError, "link #\(index) vanished while waiting for it to come up" + (namespacePath.map { " in \($0)" } ?? ""))
            }
            if link.operState == .up || link.operState == .unknown { return link }
            if clock.now >= deadline {
                throw CNIError(.tryAgainLater, "\(link.name)" + (namespacePath.map { " in \($0)" } ?? "") + " is not operational \(timeoutMilliseconds) ms after it was set up (operstate \(link.operState))")
            }
            usleep(2_000)
        }
    }
}

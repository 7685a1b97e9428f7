import IPAddressing
import Netlink
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// The kernel finishes bringing a link up asynchronously: its "linkwatch" work sees the carrier
/// (until then a veth's transmit queue drops everything, and a bridge neither forwards to nor from
/// the port), and only then does IPv6 make the link-local address and run the (no-)DAD work of
/// every address. A plugin that returns before all that has happened loses the pod's first packets:
/// measured on a loaded 2-core node, one ADD in about twenty. The reference bridge plugin waits for
/// its host veth the same way (`OperUp`).
public enum LinkReady {
    public struct Target {
        let socket: RouteSocket
        let link: Link
        let ipv6: Bool
        let bridgePort: Bool

        /// `ipv6`: also wait until the link has a link-local address and no tentative address.
        /// `bridgePort`: also wait until the link, a bridge port, forwards (IFLA_BRPORT_STATE).
        public init(_ socket: RouteSocket, _ link: Link, ipv6: Bool = false, bridgePort: Bool = false) {
            self.socket = socket; self.link = link; self.ipv6 = ipv6; self.bridgePort = bridgePort
        }
    }

    /// Polls, for at most `timeout`, until every target is ready: first after 0.2 ms, the interval
    /// doubling up to 2 ms (the kernel's linkwatch work usually lands within a millisecond, so a
    /// first sleep of 2 ms mostly overshoots). Returns what is still not ready (empty when all are).
    @discardableResult
    public static func wait(for targets: [Target], timeout: Duration = .seconds(3)) throws -> [String] {
        let deadline = Deadline(after: timeout)
        var pending = targets
        var interval = 200_000  // ns
        while true {
            var reasons: [String] = []
            pending = try pending.filter { t in
                guard let reason = try t.notReady() else { return false }
                reasons.append(reason)
                return true
            }
            if pending.isEmpty || deadline.remainingMilliseconds() == 0 { return reasons }
            var ts = timespec(tv_sec: 0, tv_nsec: interval)
            nanosleep(&ts, nil)
            interval = min(interval * 2, 2_000_000)
        }
    }
}

extension LinkReady.Target {
    /// Why the target is not ready yet, or nil when it is.
    func notReady() throws -> String? {
        let name = link.name
        guard let now = try socket.link(index: link.index) else { return "\(name) is gone" }
        guard now.operState == .up else { return "\(name) is not operationally up" }
        if ipv6 {
            let addrs = try socket.addresses(index: link.index, family: .v6)
            if let t = addrs.first(where: { $0.flags.contains(.tentative) }) { return "\(t.prefix) on \(name) is tentative" }
            if !addrs.contains(where: { $0.address.isLinkLocal }) { return "\(name) has no link-local address yet" }
        }
        if bridgePort, let state = now.bridgePortState, state != 3 {
            return "bridge port \(name) is not forwarding (state \(state))"
        }
        return nil
    }
}

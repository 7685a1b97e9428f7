import CNI
import IPAddressing
import Netlink
import PodNetwork

/// The routed point-to-point layout of one ptp6 attachment, computed from the IPAM result before
/// anything touches the kernel.
///
/// ```
///  pod netns                                  node netns
///  eth0  fd42:3::5/64 nodad noprefixroute     vethXXXX  fe80::1/64 nodad  (+ its kernel link-local)
///        fd42:3::/64 via fe80::1 dev eth0               fd42:3::5/128 dev vethXXXX scope link
///        default     via fe80::1 dev eth0               (forwarding=1, accept_dad=0, accept_ra=0)
/// ```
///
/// **The gateway is link-local.** Every host veth carries the same fixed `fe80::1` (link-local
/// addresses are per link, so that is no conflict), added with NODAD on a link whose `accept_dad`
/// is 0 before it goes up: no global address is spent on gateways, and the pod's first neighbour
/// solicitation for its gateway is answered — nothing waits for DAD on either side.
///
/// **Nothing of the pod's prefix is on-link.** In ptp there is no shared L2: the other pods of
/// fd42:3::/64 sit behind their own veths. The address is added with its IPAM prefix length (so
/// `ip addr`, the result and CHECK all say fd42:3::5/64, as the spec expects) but with
/// IFA_F_NOPREFIXROUTE, so the kernel adds no `fd42:3::/64 dev eth0` route; ptp6 routes the
/// prefix via fe80::1 instead, and pod→pod traffic goes through the node, which holds a /128
/// route per pod. (A /128 address would do the same on the wire, but then the interface would
/// disagree with the result about the prefix length.)
///
/// **IPv4 is refused** (code 7): ptp6 is IPv6-only. The reference's IPv4 scheme (the IPAM gateway
/// as a /32 on every host veth) needs a routable IPv4 address per node for gateways, which is the
/// cost this plugin exists to avoid; dual-stack pods are served by bridge6.
struct PtpRouting {
    /// The pod's gateway: the same link-local address on every host veth.
    static let gateway = IPAddress("fe80::1")!
    /// How it sits on the host veth.
    static let gatewayAddress = IPPrefix("fe80::1/64")!

    /// The pod's addresses: IPAM prefix length, gateway fe80::1, interface index 1 (the pod end).
    var ips: [CNIResult.IPConfig]
    /// The pod's routes, each with an explicit gateway: the IPAM subnets, the IPAM routes, and a
    /// default route unless IPAM sent one.
    var routes: [CNIResult.Route]

    init(ipam: CNIResult) throws(CNIError) {
        if let v4 = ipam.ips.first(where: { $0.address.family == .v4 }) {
            throw CNIError.invalidConfig("IPAM returned the IPv4 address \(v4.address): ptp6 routes IPv6 only (use bridge6 for dual-stack pods)")
        }
        if let v4 = ipam.routes.first(where: { $0.dst.family == .v4 }) {
            throw CNIError.invalidConfig("IPAM returned the IPv4 route \(v4.dst): ptp6 routes IPv6 only (use bridge6 for dual-stack pods)")
        }
        guard !ipam.ips.isEmpty else {
            throw CNIError.invalidConfig("IPAM returned no address: ptp6 needs at least one IPv6 address for the pod")
        }
        for ip in ipam.ips where ip.address.address.isLinkLocal || ip.address.address.isMulticast {
            throw CNIError.invalidConfig("IPAM returned \(ip.address), which cannot be a pod address (link-local or multicast)")
        }
        ips = ipam.ips.map { CNIResult.IPConfig(address: $0.address, gateway: Self.gateway, interface: 1) }

        var routes: [CNIResult.Route] = []
        func add(_ r: CNIResult.Route) {
            if !routes.contains(where: { $0.dst.network == r.dst.network && $0.table == r.table }) { routes.append(r) }
        }
        for ip in ips where ip.address.length < 128 {
            add(CNIResult.Route(dst: ip.address.network, gw: Self.gateway))
        }
        for var r in ipam.routes {
            // A route without gw goes via fe80::1; an explicit gw is kept as IPAM gave it. Only a
            // link-local one can work: nothing else is on-link on a point-to-point pod link (every
            // route is via a gateway), and the kernel refuses a next hop it cannot reach directly.
            if let gw = r.gw, !gw.isLinkLocal {
                throw CNIError.invalidConfig("IPAM route \(r.dst) via \(gw): on a ptp6 link only a link-local next hop is reachable; leave \"gw\" out to route via \(Self.gateway)")
            }
            if r.gw == nil { r.gw = Self.gateway }
            routes.removeAll { $0.dst.network == r.dst.network && $0.table == r.table }
            routes.append(r)
        }
        if !routes.contains(where: { $0.dst.length == 0 }) {
            add(CNIResult.Route(dst: IPPrefix("::/0")!, gw: Self.gateway))
        }
        self.routes = routes
    }

    /// The node's route to one pod address: `fd42:3::5/128 dev vethXXXX scope link`.
    static func hostRoute(to address: IPAddress, via hostIndex: Int32) -> Route {
        Route(destination: IPPrefix(address: address, length: address.bitWidth)!, outputIndex: hostIndex, scope: .link)
    }

    func podRoutes(index: Int32) -> [Route] {
        routes.map { $0.kernelRoute(index: index, defaultGateways: [Self.gateway]) }
    }
}

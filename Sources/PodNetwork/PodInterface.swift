import CNI
import IPAddressing
import Netlink

/// Configures the pod's interface inside its namespace: sysctls before the link goes up, addresses
/// without DAD, link up, routes — so the addresses and routes work the moment ADD returns.
public struct PodInterface {
    public let namespace: NetworkNamespace
    public let socket: RouteSocket
    public let link: Link

    public init(namespace: NetworkNamespace, socket: RouteSocket, link: Link) {
        self.namespace = namespace; self.socket = socket; self.link = link
    }

    /// `addressFlags` are added to every IPv6 address's flags (e.g. `.noPrefixRoute` when the
    /// addresses' prefixes must not be on-link, as in ptp6).
    public func configure(addresses: [CNIResult.IPConfig], routes: [Route], enableDAD: Bool, bringUp: Bool = true,
                          addressFlags: AddressFlags = []) throws {
        let hasV6 = addresses.contains { $0.address.family == .v6 }
        if hasV6 {
            try namespace.perform {
                try IPv6Sysctls.require("address \(addresses.first { $0.address.family == .v6 }!.address)")
                    .preparePodInterface(link.name, enableDAD: enableDAD)
            }
        }
        for ip in addresses {
            var flags: AddressFlags = ip.address.family == .v6 && !enableDAD ? [.noDAD] : []
            if ip.address.family == .v6 { flags.formUnion(addressFlags) }
            try socket.addAddress(ip.address, index: link.index, flags: flags)
        }
        if bringUp { try socket.setUp(index: link.index) }
        // Not exclusive, as the reference ConfigureIface (RouteAddEcmp): a pod on two networks that
        // both give it ::/0 (podman --network a,b) gets one multipath default route, not EEXIST.
        for r in routes { try socket.addRoute(r, exclusive: false) }
    }
}

extension CNIResult.Route {
    /// The kernel route for a result route through `index`; a route without `gw` goes via the first
    /// gateway of its family (as the reference `ConfigureIface`), or is on-link when there is none.
    public func kernelRoute(index: Int32, defaultGateways: [IPAddress]) -> Route {
        let gateway = gw ?? defaultGateways.first { $0.family == dst.family }
        var r = Route(destination: dst.network, gateway: gateway, outputIndex: index,
                      metric: priority.map { UInt32($0) }, table: table.map { UInt32($0) } ?? Route.mainTable,
                      mtu: mtu.map { UInt32($0) }, advmss: advmss.map { UInt32($0) })
        if let scope { r.scope = RouteScope(rawValue: UInt8(clamping: scope)) }
        else if gateway == nil { r.scope = .link }
        return r
    }
}

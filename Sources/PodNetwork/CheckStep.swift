import CNI
import IPAddressing
import Netlink

/// CHECK for an interface plugin: what `prevResult` lists must be there, as ADD made it.
public struct CheckStep {
    public let prev: CNIResult
    public let request: Request
    public let pod: PodNamespace
    public let node: RouteSocket

    public init(prev: CNIResult, request: Request, pod: PodNamespace, node: RouteSocket) {
        self.prev = prev; self.request = request; self.pod = pod; self.node = node
    }

    /// Verifies the pod interface, its addresses and routes, and the host veth (attached to
    /// `hostMaster` when given). Returns the pod link.
    @discardableResult
    public func verify(hostMaster: Int32?) throws -> Link {
        let ifname = request.env.ifname
        guard let podIndex = prev.interfaces.firstIndex(where: { $0.name == ifname && $0.sandbox == request.env.netns }) else {
            throw CNIError.checkFailed("prevResult lists no interface \(ifname) in \(request.env.netns)")
        }
        guard let link = try pod.socket.link(named: ifname) else {
            throw CNIError.checkFailed("interface \(ifname) does not exist in \(request.env.netns)")
        }
        guard link.kind == "veth" else {
            throw CNIError.checkFailed("interface \(ifname) in \(request.env.netns) is a \(link.kind ?? "non-veth") link, not a veth")
        }
        if let mac = prev.interfaces[podIndex].mac, let actual = link.mac, mac.lowercased() != actual.description {
            throw CNIError.checkFailed("interface \(ifname) has MAC \(actual), prevResult says \(mac)")
        }
        let present = try pod.socket.addresses(index: link.index).map(\.prefix)
        for ip in prev.ips where ip.interface == nil || ip.interface == podIndex {
            guard present.contains(ip.address) else {
                throw CNIError.checkFailed("address \(ip.address) is missing from \(ifname) in \(request.env.netns)")
            }
        }
        for r in prev.routes {
            let table = r.table.map { UInt32($0) } ?? Route.mainTable
            let routes = try pod.socket.routes(family: r.dst.family, table: table)
            guard routes.contains(where: { $0.destination == r.dst.network && (r.gw == nil || $0.gateway == r.gw) }) else {
                throw CNIError.checkFailed("route \(r.dst)\(r.gw.map { " via \($0)" } ?? "") is missing in \(request.env.netns)")
            }
        }
        for iface in prev.interfaces where (iface.sandbox ?? "").isEmpty && iface.name.hasPrefix("veth") {
            guard let host = try node.link(named: iface.name), host.kind == "veth" else {
                throw CNIError.checkFailed("host veth \(iface.name) does not exist")
            }
            if let hostMaster, host.masterIndex != hostMaster {
                throw CNIError.checkFailed("host veth \(iface.name) is not attached to its bridge")
            }
        }
        return link
    }
}

import CNI
import IPAddressing

/// The gateways of a bridge6 attachment, filled into the IPAM result as the reference bridge does:
/// every address belongs to the pod interface (index 2), a missing gateway is network+1 when
/// `isGateway`, and `isDefaultGateway` adds a default route per family unless IPAM sent one.
struct Gateways {
    /// One gateway per pod address that has one.
    var addresses: [IPAddress] = []
    /// What goes on the bridge: each gateway with its pod prefix length.
    var bridgeAddresses: [IPPrefix] = []

    init(result: inout CNIResult, conf: BridgeConfig) {
        for i in result.ips.indices {
            result.ips[i].interface = 2
            if result.ips[i].gateway == nil, conf.gateway {
                result.ips[i].gateway = result.ips[i].address.networkAddress.next
            }
            guard let gw = result.ips[i].gateway else { continue }
            addresses.append(gw)
            if let p = IPPrefix(address: gw, length: result.ips[i].address.length), !bridgeAddresses.contains(p) {
                bridgeAddresses.append(p)
            }
        }
        guard conf.isDefaultGateway == true else { return }
        for family in [IPAddress.Family.v6, .v4] {
            guard let gw = addresses.first(where: { $0.family == family }) else { continue }
            let hasDefault = result.routes.contains { $0.dst.length == 0 && $0.dst.family == family && $0.gw != nil }
            if !hasDefault {
                let any = family == .v6 ? IPPrefix("::/0")! : IPPrefix("0.0.0.0/0")!
                result.routes.removeAll { $0.dst == any }
                result.routes.append(CNIResult.Route(dst: any, gw: gw))
            }
        }
    }
}

import CNI
import IPAddressing
import Netlink
import PodNetwork

/// ptp6's options, validated before anything touches the kernel or the IPAM store.
struct PtpConfig {
    var ipMasq: Bool?
    /// Accepted so that reference ptp configurations load; ptp6 always uses ip6tables.
    var ipMasqBackend: String?
    var masqueradeExcept: [IPPrefix]?
    var mtu: Int?
    var dns: CNIResult.DNS?


    static let known: Set<String> = ["ipMasq", "ipMasqBackend", "masqueradeExcept", "mtu"]

    /// The smallest MTU IPv6 allows (RFC 8200 §5); every ptp6 attachment is IPv6.
    static let minimumMTU = 1280

    var masquerade: Bool { ipMasq ?? true }

    static func load(_ request: Request) throws(CNIError) -> PtpConfig {
        try request.refuseUnknownKeys(known: known)
        try request.env.args.validate(known: ["MAC", "IP"])
        let f = request.field
        let c = PtpConfig(ipMasq: try f["ipMasq"].bool(), ipMasqBackend: try f["ipMasqBackend"].string(),
                          masqueradeExcept: try f["masqueradeExcept"].prefixes(), mtu: try f["mtu"].int(),
                          dns: try CNIResult.DNS(field: f["dns"]))
        guard let ipam = request.config["ipam"], case .object = ipam, !ipam.objectKeys.isEmpty else {
            throw CNIError.invalidConfig("missing field \"ipam\": ptp6 needs an IPAM plugin for the pod's addresses (e.g. {\"type\": \"host-local6\", \"ranges\": [[{\"subnet\": \"fd42:3::/64\"}]]})")
        }
        if let mtu = c.mtu, mtu < minimumMTU || mtu > 65535 {
            throw CNIError.invalidConfig("field \"mtu\": \(mtu) is out of range \(minimumMTU)…65535 (IPv6 needs at least 1280)")
        }
        if let backend = c.ipMasqBackend, backend != "iptables", backend != "nftables" {
            throw CNIError.invalidConfig("field \"ipMasqBackend\": \"\(backend)\" is not one of \"iptables\", \"nftables\"")
        }
        _ = try PodMAC.requested(request)
        return c
    }

}

import CNI
import IPAddressing
import Netlink
import PodNetwork

/// bridge6's options, validated before anything touches the kernel.
struct BridgeConfig {
    var bridge: String?
    var isGateway: Bool?
    var isDefaultGateway: Bool?
    var forceAddress: Bool?
    var ipMasq: Bool?
    var ipMasqBackend: String?
    var masqueradeExcept: [IPPrefix]?
    var mtu: Int?
    var hairpinMode: Bool?
    var promiscMode: Bool?
    var enabledad: Bool?
    var disableContainerInterface: Bool?
    var portIsolation: Bool?
    var dns: CNIResult.DNS?


    static let defaultBridge = "cni6"

    static let known: Set<String> = ["bridge", "isGateway", "isDefaultGateway", "forceAddress", "ipMasq", "ipMasqBackend",
                                     "masqueradeExcept", "mtu", "hairpinMode", "promiscMode", "enabledad",
                                     "disableContainerInterface", "portIsolation"]
    /// Reference options bridge6 does not implement: refused unless they ask for nothing.
    static let unsupported: Set<String> = ["vlan", "vlanTrunk", "preserveDefaultVlan", "macspoofchk"]

    var bridgeName: String { bridge ?? Self.defaultBridge }
    var gateway: Bool { (isGateway ?? false) || (isDefaultGateway ?? false) }

    static func load(_ request: Request) throws(CNIError) -> BridgeConfig {
        for key in unsupported {
            guard let v = request.config[key] else { continue }
            switch v {
            case .null, .bool(false), .int(0): continue
            case .array(let a) where a.isEmpty: continue
            default:
                throw CNIError(.unsupportedField, "option \"\(key)\" = \(v.serialized()) is not supported by bridge6")
            }
        }
        try request.refuseUnknownKeys(known: known.union(unsupported))
        try request.env.args.validate(known: ["MAC", "IP"])
        let f = request.field
        let c = BridgeConfig(
            bridge: try f["bridge"].string(), isGateway: try f["isGateway"].bool(),
            isDefaultGateway: try f["isDefaultGateway"].bool(), forceAddress: try f["forceAddress"].bool(),
            ipMasq: try f["ipMasq"].bool(), ipMasqBackend: try f["ipMasqBackend"].string(),
            masqueradeExcept: try f["masqueradeExcept"].prefixes(), mtu: try f["mtu"].int(),
            hairpinMode: try f["hairpinMode"].bool(), promiscMode: try f["promiscMode"].bool(),
            enabledad: try f["enabledad"].bool(), disableContainerInterface: try f["disableContainerInterface"].bool(),
            portIsolation: try f["portIsolation"].bool(), dns: try CNIResult.DNS(field: f["dns"]))
        do { try Environment.validateInterfaceName(c.bridgeName) } catch {
            throw CNIError.invalidConfig("field \"bridge\": \"\(c.bridgeName)\" is not a valid interface name (at most 15 bytes, no '/', ':' or whitespace)")
        }
        if let mtu = c.mtu, mtu < 68 || mtu > 65535 {
            throw CNIError.invalidConfig("field \"mtu\": \(mtu) is out of range 68…65535")
        }
        if c.hairpinMode == true, c.promiscMode == true {
            throw CNIError.invalidConfig("options \"hairpinMode\" and \"promiscMode\" cannot both be true")
        }
        if let backend = c.ipMasqBackend, backend != "iptables", backend != "nftables" {
            throw CNIError.invalidConfig("field \"ipMasqBackend\": \"\(backend)\" is not one of \"iptables\", \"nftables\"")
        }
        let hasIPAM = request.config["ipam"].map { !$0.objectKeys.isEmpty } ?? false
        if c.disableContainerInterface == true, hasIPAM {
            throw CNIError.invalidConfig("option \"disableContainerInterface\" cannot be used with \"ipam\": an interface that stays down cannot use addresses")
        }
        _ = try PodMAC.requested(request)
        return c
    }

    /// An `ipam` object with content (an empty `{}` means L2 only, as in the reference).
    func hasIPAM(_ request: Request) throws(CNIError) -> Bool {
        guard let ipam = request.config["ipam"], !ipam.isNull else { return false }
        return !ipam.objectKeys.isEmpty
    }
}

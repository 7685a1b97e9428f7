import CNI
import IPAddressing

/// host-local6's configuration, from the `ipam` object plus the runtime's `ips`/`ipRanges` and
/// `args.cni.ips`, canonicalized and validated before anything touches the disk.
public struct HostLocalConfig: Sendable {
    public var rangeSets: [RangeSet]
    public var routes: [CNIResult.Route]
    public var dataDir: String
    public var resolvConf: String?
    public var lockTimeout: Double
    /// Addresses the runtime asked for, each to be taken from the range set that contains it.
    public var requestedIPs: [IPAddress]

    public static let defaultDataDir = "/var/lib/cni/networks"
    public static let knownKeys: Set<String> = ["type", "ranges", "subnet", "rangeStart", "rangeEnd", "gateway",
                                                "routes", "dataDir", "resolvConf", "lockTimeout"]

    struct RouteSpec: Decodable {
        var dst: IPPrefix
        var gw: IPAddress?
        var mtu: Int?
        var advmss: Int?
        var priority: Int?
        var table: Int?
        var scope: Int?
    }

    struct IPAMSection: Decodable {
        var type: String?
        var ranges: [[AddressRange]]?
        var subnet: IPPrefix?
        var rangeStart: IPAddress?
        var rangeEnd: IPAddress?
        var gateway: IPAddress?
        var routes: [RouteSpec]?
        var dataDir: String?
        var resolvConf: String?
        var lockTimeout: Double?
    }

    struct Envelope: Decodable {
        var ipam: IPAMSection?
        var runtimeConfig: RuntimeConfig?
        var args: Args?
        struct RuntimeConfig: Decodable {
            var ips: [String]?
            var ipRanges: [[AddressRange]]?
        }
        struct Args: Decodable {
            var cni: CNIArgsSection?
            struct CNIArgsSection: Decodable { var ips: [String]? }
        }
    }

    public init(request: Request) throws(CNIError) {
        guard let ipamValue = request.config["ipam"], case .object = ipamValue else {
            throw CNIError.invalidConfig("missing field \"ipam\": host-local6 needs an ipam object")
        }
        try request.refuseUnknownKeys(known: Self.knownKeys, in: ipamValue, field: "ipam")
        let envelope = try request.decodeConfig(Envelope.self)
        let ipam = envelope.ipam!

        var sets: [RangeSet] = []
        if let runtimeRanges = envelope.runtimeConfig?.ipRanges { sets += runtimeRanges }
        if let subnet = ipam.subnet {
            sets.append([AddressRange(subnet: subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway)])
        }
        sets += ipam.ranges ?? []
        guard !sets.isEmpty else {
            throw CNIError.invalidConfig("field \"ipam.ranges\": no IP ranges specified")
        }
        for i in sets.indices {
            guard !sets[i].isEmpty else { throw CNIError.invalidConfig("field \"ipam.ranges[\(i)]\": empty range set") }
            for j in sets[i].indices {
                try sets[i][j].canonicalize(field: "ipam.ranges[\(i)][\(j)]")
            }
            let family = sets[i][0].subnet.family
            if sets[i].contains(where: { $0.subnet.family != family }) {
                throw CNIError.invalidConfig("field \"ipam.ranges[\(i)]\": mixed address families in one range set")
            }
        }
        // No range may overlap another, within a set or across sets.
        let all = sets.enumerated().flatMap { (i, s) in s.enumerated().map { (i, $0, $1) } }
        for a in all.indices {
            for b in all.indices where b > a && all[a].2.overlaps(all[b].2) {
                throw CNIError.invalidConfig("field \"ipam.ranges\": range \(all[a].2.start)-\(all[a].2.end) (set \(all[a].0)) overlaps range \(all[b].2.start)-\(all[b].2.end) (set \(all[b].0))")
            }
        }
        if request.version < .v030 {
            for family in [IPAddress.Family.v4, .v6] where sets.filter({ $0.family == family }).count > 1 {
                throw CNIError.invalidConfig("CNI version \(request.version) does not support more than 1 address per family")
            }
        }
        rangeSets = sets
        routes = (ipam.routes ?? []).map {
            CNIResult.Route(dst: $0.dst, gw: $0.gw, mtu: $0.mtu, advmss: $0.advmss, priority: $0.priority, table: $0.table, scope: $0.scope)
        }
        dataDir = ipam.dataDir ?? Self.defaultDataDir
        guard dataDir.hasPrefix("/"), !dataDir.utf8.contains(0) else {
            throw CNIError.invalidConfig("field \"ipam.dataDir\": \"\(dataDir)\" must be an absolute path")
        }
        resolvConf = ipam.resolvConf
        lockTimeout = ipam.lockTimeout ?? 10
        guard lockTimeout > 0, lockTimeout <= 600 else {
            throw CNIError.invalidConfig("field \"ipam.lockTimeout\": \(lockTimeout) seconds is out of range (0, 600]")
        }

        // Requested addresses: runtimeConfig.ips and args.cni.ips; CNI_ARGS IP= only when neither is
        // given (the spec: `args` wins over the deprecated CNI_ARGS).
        var texts: [(String, String)] = []
        for s in envelope.runtimeConfig?.ips ?? [] { texts.append((s, "runtimeConfig.ips")) }
        for s in envelope.args?.cni?.ips ?? [] { texts.append((s, "args.cni.ips")) }
        if texts.isEmpty, let ip = request.env.args["IP"] {
            for s in ip.split(separator: ",") { texts.append((String(s), "CNI_ARGS IP")) }
        }
        var requested: [IPAddress] = []
        for (text, field) in texts {
            let t = text.trimmingWhitespace
            guard let a = IPPrefix(t, defaultFullLength: true)?.address else {
                throw CNIError.invalidConfig("\(field): \"\(text)\" is not an IP address")
            }
            if !requested.contains(a) { requested.append(a) }
        }
        requestedIPs = requested
    }
}

extension Substring {
    /// Without leading and trailing ASCII whitespace (all that lease files, `last_reserved_ip` and
    /// `CNI_ARGS` carry), found on UTF-8 bytes: the Character version costs a grapheme-breaking pass
    /// and generic metadata at every plugin start.
    var trimmingWhitespace: String {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0d).contains(b) }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension String {
    var trimmingWhitespace: String { self[...].trimmingWhitespace }
}

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

    public init(request: Request) throws(CNIError) {
        guard let ipamValue = request.config["ipam"], case .object = ipamValue else {
            throw CNIError.invalidConfig("missing field \"ipam\": host-local6 needs an ipam object")
        }
        try request.refuseUnknownKeys(known: Self.knownKeys, in: ipamValue, field: "ipam")
        let ipam = request.field["ipam"]
        let runtimeConfig = try request.field["runtimeConfig"].object()
        let readSets = { (f: ConfigField) throws(CNIError) -> [RangeSet]? in
            try f.list(of: { (set: ConfigField) throws(CNIError) in
                try set.list(of: { (r: ConfigField) throws(CNIError) in try AddressRange(field: r) }, expected: "an object")
            }, expected: "a list")
        }

        var sets: [RangeSet] = []
        if let runtimeConfig, let runtimeRanges = try readSets(runtimeConfig["ipRanges"]) { sets += runtimeRanges }
        if let subnet = try ipam["subnet"].prefix() {
            sets.append([AddressRange(subnet: subnet, rangeStart: try ipam["rangeStart"].address(),
                                      rangeEnd: try ipam["rangeEnd"].address(), gateway: try ipam["gateway"].address())])
        }
        sets += try readSets(ipam["ranges"]) ?? []
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
        routes = try ipam["routes"].list(of: { (r: ConfigField) throws(CNIError) in try CNIResult.Route(field: r) }, expected: "an object") ?? []
        dataDir = try ipam["dataDir"].string() ?? Self.defaultDataDir
        guard dataDir.hasPrefix("/"), !dataDir.utf8.contains(0) else {
            throw CNIError.invalidConfig("field \"ipam.dataDir\": \"\(dataDir)\" must be an absolute path")
        }
        resolvConf = try ipam["resolvConf"].string()
        lockTimeout = try ipam["lockTimeout"].double() ?? 10
        guard lockTimeout > 0, lockTimeout <= 600 else {
            throw CNIError.invalidConfig("field \"ipam.lockTimeout\": \(lockTimeout) seconds is out of range (0, 600]")
        }

        // Requested addresses: runtimeConfig.ips and args.cni.ips; CNI_ARGS IP= only when neither is
        // given (the spec: `args` wins over the deprecated CNI_ARGS).
        var texts: [(String, String)] = []
        for s in try runtimeConfig?["ips"].strings() ?? [] { texts.append((s, "runtimeConfig.ips")) }
        let args = try request.field["args"].object()
        let cniArgs = try args?["cni"].object()
        for s in try cniArgs?["ips"].strings() ?? [] { texts.append((s, "args.cni.ips")) }
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

extension CNIResult.Route {
    /// One `ipam.routes` item: `dst` required, the rest optional.
    init?(field: ConfigField) throws(CNIError) {
        guard let route = try field.object() else { return nil }
        self.init(dst: try route["dst"].required({ (f: ConfigField) throws(CNIError) in try f.prefix() }, expected: "a string"),
                  gw: try route["gw"].address(), mtu: try route["mtu"].int(), advmss: try route["advmss"].int(),
                  priority: try route["priority"].int(), table: try route["table"].int(), scope: try route["scope"].int())
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

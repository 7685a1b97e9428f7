import IPAddressing

/// The result's JSON in each spec version (REFERENCE §1.4–1.5):
/// 1.x `interfaces/ips/routes/dns`; 0.3.x/0.4.0 the same with `ips[].version` and without the 1.1
/// interface fields; 0.1.0/0.2.0 `ip4`/`ip6` with the first address of each family.
extension CNIResult {
    public func json(version: CNIVersion) throws(CNIError) -> JSONValue {
        if version < .v030 { return try legacyJSON(version: version) }
        var members: [(String, JSONValue)] = [("cniVersion", .string(version.description))]
        if !interfaces.isEmpty {
            members.append(("interfaces", .array(interfaces.map { $0.json(full: version >= .v100) })))
        }
        if !ips.isEmpty {
            members.append(("ips", .array(ips.map { $0.json(withVersion: version < .v100) })))
        }
        if !routes.isEmpty { members.append(("routes", .array(routes.map { $0.json(legacy: false) }))) }
        if !dns.isEmpty { members.append(("dns", dns.json)) }
        return .object(members)
    }

    private func legacyJSON(version: CNIVersion) throws(CNIError) -> JSONValue {
        var members: [(String, JSONValue)] = [("cniVersion", .string(version.description))]
        let v4 = ips.first { $0.address.family == .v4 }
        let v6 = ips.first { $0.address.family == .v6 }
        guard v4 != nil || v6 != nil else {
            throw CNIError(.incompatibleVersion, "cannot convert result to cniVersion \(version): no valid IP addresses")
        }
        for (key, ip, family) in [("ip4", v4, IPAddress.Family.v4), ("ip6", v6, .v6)] {
            guard let ip else { continue }
            var m: [(String, JSONValue)] = [("ip", .string(ip.address.description))]
            if let gw = ip.gateway { m.append(("gateway", .string(gw.description))) }
            let r = routes.filter { $0.dst.family == family }
            if !r.isEmpty { m.append(("routes", .array(r.map { $0.json(legacy: true) }))) }
            members.append((key, .object(m)))
        }
        if !dns.isEmpty { members.append(("dns", dns.json)) }
        return .object(members)
    }

    /// Reads a result (a `prevResult`, or a delegated IPAM plugin's output) written in any version.
    public init(json: JSONValue, defaultVersion: CNIVersion) throws(CNIError) {
        guard case .object = json else {
            throw CNIError(.decodingFailure, "result: expected a JSON object")
        }
        let version: CNIVersion
        if let v = json["cniVersion"]?.stringValue { version = try CNIVersion.of(config: v) } else { version = defaultVersion }
        self.init()
        do throws(CNIError) {
            if let d = try DNS(field: ConfigField(json["dns"], path: "dns")) { dns = d }
        } catch {
            throw CNIError(.decodingFailure, "result: \(error.msg)")
        }
        if version < .v030 {
            for key in ["ip4", "ip6"] {
                guard let o = json[key], !o.isNull else { continue }
                guard let ipText = o["ip"]?.stringValue, let ip = IPPrefix(ipText) else {
                    throw CNIError(.decodingFailure, "result: field \"\(key).ip\": expected a CIDR such as fd42::5/64")
                }
                ips.append(IPConfig(address: ip, gateway: try Self.address(o["gateway"], field: "\(key).gateway")))
                if case .array(let rs)? = o["routes"] {
                    for (i, r) in rs.enumerated() { routes.append(try Route(json: r, field: "\(key).routes[\(i)]")) }
                }
            }
            return
        }
        if case .array(let items)? = json["interfaces"] {
            for (i, item) in items.enumerated() { interfaces.append(try Interface(json: item, field: "interfaces[\(i)]")) }
        }
        if case .array(let items)? = json["ips"] {
            for (i, item) in items.enumerated() {
                let field = "ips[\(i)]"
                guard let a = item["address"]?.stringValue, let address = IPPrefix(a) else {
                    throw CNIError(.decodingFailure, "result: field \"\(field).address\": expected a CIDR such as fd42::5/64")
                }
                var ifIndex: Int? = nil
                if let v = item["interface"], !v.isNull {
                    guard case .int(let n) = v, n >= 0 else {
                        throw CNIError(.decodingFailure, "result: field \"\(field).interface\": expected a non-negative integer")
                    }
                    ifIndex = Int(n)
                }
                ips.append(IPConfig(address: address, gateway: try Self.address(item["gateway"], field: "\(field).gateway"), interface: ifIndex))
            }
        }
        if case .array(let items)? = json["routes"] {
            for (i, item) in items.enumerated() { routes.append(try Route(json: item, field: "routes[\(i)]")) }
        }
    }

    static func address(_ v: JSONValue?, field: String) throws(CNIError) -> IPAddress? {
        guard let v, !v.isNull else { return nil }
        guard let s = v.stringValue, let a = IPAddress(s) else {
            throw CNIError(.decodingFailure, "result: field \"\(field)\": expected an IP address")
        }
        return a
    }
}

extension CNIResult.Interface {
    func json(full: Bool) -> JSONValue {
        var m: [(String, JSONValue)] = [("name", .string(name))]
        if let mac, !mac.isEmpty { m.append(("mac", .string(mac))) }
        if full, let mtu, mtu > 0 { m.append(("mtu", .int(Int64(mtu)))) }
        if let sandbox, !sandbox.isEmpty { m.append(("sandbox", .string(sandbox))) }
        if full, let socketPath, !socketPath.isEmpty { m.append(("socketPath", .string(socketPath))) }
        if full, let pciID, !pciID.isEmpty { m.append(("pciID", .string(pciID))) }
        return .object(m)
    }

    init(json: JSONValue, field: String) throws(CNIError) {
        guard let name = json["name"]?.stringValue else {
            throw CNIError(.decodingFailure, "result: field \"\(field).name\": expected a string")
        }
        var mtu: Int? = nil
        if case .int(let n)? = json["mtu"] { mtu = Int(n) }
        self.init(name: name, mac: json["mac"]?.stringValue, mtu: mtu, sandbox: json["sandbox"]?.stringValue,
                  socketPath: json["socketPath"]?.stringValue, pciID: json["pciID"]?.stringValue)
    }
}

extension CNIResult.IPConfig {
    func json(withVersion: Bool) -> JSONValue {
        var m: [(String, JSONValue)] = []
        if withVersion { m.append(("version", .string(address.family == .v6 ? "6" : "4"))) }
        if let interface { m.append(("interface", .int(Int64(interface)))) }
        m.append(("address", .string(address.description)))
        if let gateway { m.append(("gateway", .string(gateway.description))) }
        return .object(m)
    }
}

extension CNIResult.Route {
    func json(legacy: Bool) -> JSONValue {
        var m: [(String, JSONValue)] = [("dst", .string(dst.description))]
        if let gw { m.append(("gw", .string(gw.description))) }
        if legacy { return .object(m) }
        for (k, v) in [("mtu", mtu), ("advmss", advmss), ("priority", priority), ("table", table), ("scope", scope)] {
            if let v { m.append((k, .int(Int64(v)))) }
        }
        return .object(m)
    }

    init(json: JSONValue, field: String) throws(CNIError) {
        guard let d = json["dst"]?.stringValue, let dst = IPPrefix(d) else {
            throw CNIError(.decodingFailure, "result: field \"\(field).dst\": expected a CIDR such as ::/0")
        }
        self.init(dst: dst, gw: try CNIResult.address(json["gw"], field: "\(field).gw"))
        func int(_ k: String) throws(CNIError) -> Int? {
            guard let v = json[k], !v.isNull else { return nil }
            guard case .int(let n) = v, n >= 0, n <= Int64(UInt32.max) else {
                throw CNIError(.decodingFailure, "result: field \"\(field).\(k)\": expected a non-negative integer")
            }
            return Int(n)
        }
        mtu = try int("mtu"); advmss = try int("advmss"); priority = try int("priority")
        table = try int("table"); scope = try int("scope")
    }
}

extension CNIResult.DNS {
    var json: JSONValue {
        var m: [(String, JSONValue)] = []
        if let nameservers, !nameservers.isEmpty { m.append(("nameservers", .array(nameservers.map { .string($0) }))) }
        if let domain, !domain.isEmpty { m.append(("domain", .string(domain))) }
        if let search, !search.isEmpty { m.append(("search", .array(search.map { .string($0) }))) }
        if let options, !options.isEmpty { m.append(("options", .array(options.map { .string($0) }))) }
        return .object(m)
    }
}

import IPAddressing

/// One result model for every spec version; `ResultCoding.swift` turns it into and out of each
/// version's JSON.
public struct CNIResult: Sendable, Equatable {
    public var interfaces: [Interface] = []
    public var ips: [IPConfig] = []
    public var routes: [Route] = []
    public var dns: DNS = DNS()

    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: DNS = DNS()) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        public var sandbox: String?
        public var socketPath: String?
        public var pciID: String?

        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil,
                    socketPath: String? = nil, pciID: String? = nil) {
            self.name = name; self.mac = mac; self.mtu = mtu; self.sandbox = sandbox
            self.socketPath = socketPath; self.pciID = pciID
        }
    }

    public struct IPConfig: Sendable, Equatable {
        /// The interface address with its prefix length, e.g. `fd42::5/64`.
        public var address: IPPrefix
        public var gateway: IPAddress?
        /// Index into `interfaces`.
        public var interface: Int?

        public init(address: IPPrefix, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address; self.gateway = gateway; self.interface = interface
        }
    }

    public struct Route: Sendable, Equatable {
        public var dst: IPPrefix
        public var gw: IPAddress?
        public var mtu: Int?
        public var advmss: Int?
        public var priority: Int?
        public var table: Int?
        public var scope: Int?

        public init(dst: IPPrefix, gw: IPAddress? = nil, mtu: Int? = nil, advmss: Int? = nil,
                    priority: Int? = nil, table: Int? = nil, scope: Int? = nil) {
            self.dst = dst; self.gw = gw; self.mtu = mtu; self.advmss = advmss
            self.priority = priority; self.table = table; self.scope = scope
        }
    }

    public struct DNS: Sendable, Equatable {
        public var nameservers: [String]?
        public var domain: String?
        public var search: [String]?
        public var options: [String]?

        public init(nameservers: [String]? = nil, domain: String? = nil, search: [String]? = nil, options: [String]? = nil) {
            self.nameservers = nameservers; self.domain = domain; self.search = search; self.options = options
        }

        public var isEmpty: Bool {
            (nameservers ?? []).isEmpty && (domain ?? "").isEmpty && (search ?? []).isEmpty && (options ?? []).isEmpty
        }

        /// A `dns` object of a configuration or a result; nil when absent or null.
        public init?(field: ConfigField) throws(CNIError) {
            guard let dns = try field.object() else { return nil }
            self.init(nameservers: try dns["nameservers"].strings(), domain: try dns["domain"].string(),
                      search: try dns["search"].strings(), options: try dns["options"].strings())
        }

        /// True when any field is set (even to an empty list): a plugin's `dns` then overrides IPAM's.
        public var isSet: Bool { nameservers != nil || domain != nil || search != nil || options != nil }
    }
}

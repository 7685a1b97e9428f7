import CNetlink
import IPAddressing
#if canImport(Glibc)
import Glibc
#endif

/// A route. Build one to add/replace/delete; `routes(…)` returns what the kernel has.
public struct Route: Equatable, Sendable {
    /// The destination prefix; `::/0` (or `0.0.0.0/0`) is the default route.
    public var destination: IPPrefix
    /// The next hop (RTA_GATEWAY); nil for a directly connected route.
    public var gateway: IPAddress?
    /// The output link (RTA_OIF).
    public var outputIndex: Int32?
    /// RTA_PRIORITY, which `ip` calls "metric". nil lets the kernel choose (1024 for IPv6).
    public var metric: UInt32?
    /// The routing table; 254 is main.
    public var table: UInt32
    public var scope: RouteScope
    public var type: RouteType
    public var routeProtocol: RouteProtocol
    /// The preferred source address (RTA_PREFSRC).
    public var source: IPAddress?
    /// RTA_METRICS / RTAX_MTU: path MTU for this route.
    public var mtu: UInt32?
    /// RTA_METRICS / RTAX_ADVMSS: the MSS advertised to peers reached over this route.
    public var advmss: UInt32?
    /// RTNH_F_ONLINK: treat the gateway as directly reachable on `outputIndex` even without a
    /// matching connected prefix.
    public var onLink: Bool

    public static let mainTable: UInt32 = 254

    public init(destination: IPPrefix, gateway: IPAddress? = nil, outputIndex: Int32? = nil,
                metric: UInt32? = nil, table: UInt32 = Route.mainTable, scope: RouteScope = .universe,
                type: RouteType = .unicast, routeProtocol: RouteProtocol = .boot, source: IPAddress? = nil,
                mtu: UInt32? = nil, advmss: UInt32? = nil, onLink: Bool = false) {
        self.destination = destination
        self.gateway = gateway
        self.outputIndex = outputIndex
        self.metric = metric
        self.table = table
        self.scope = scope
        self.type = type
        self.routeProtocol = routeProtocol
        self.source = source
        self.mtu = mtu
        self.advmss = advmss
        self.onLink = onLink
    }

    /// Decodes an RTM_NEWROUTE message. Routes whose next hops come only as RTA_MULTIPATH (ECMP)
    /// carry no gateway/outputIndex here: `expanding(_:)` gives one route per next hop.
    init?(_ m: NetlinkMessage) {
        guard m.type == UInt16(RTM_NEWROUTE), let h = m.header(as: rtmsg.self) else { return nil }
        let a = m.attributes(after: MemoryLayout<rtmsg>.size)
        let family: IPAddress.Family
        switch Int32(h.rtm_family) {
        case AF_INET6: family = .v6
        case AF_INET: family = .v4
        default: return nil
        }
        let dst = a.address(Int(RTA_DST.rawValue)) ?? IPAddress(family: family, integer: 0)
        guard let p = IPPrefix(address: dst, length: Int(h.rtm_dst_len)) else { return nil }
        destination = p
        gateway = a.address(Int(RTA_GATEWAY.rawValue))
        outputIndex = a.s32(Int(RTA_OIF.rawValue))
        metric = a.u32(Int(RTA_PRIORITY.rawValue))
        table = a.u32(Int(RTA_TABLE.rawValue)) ?? UInt32(h.rtm_table)
        scope = RouteScope(rawValue: h.rtm_scope)
        type = RouteType(rawValue: h.rtm_type)
        routeProtocol = RouteProtocol(rawValue: h.rtm_protocol)
        source = a.address(Int(RTA_PREFSRC.rawValue))
        let metrics = a.nested(Int(RTA_METRICS.rawValue))
        mtu = metrics?.u32(RTAX_MTU)
        advmss = metrics?.u32(RTAX_ADVMSS)
        onLink = h.rtm_flags & UInt32(RTNH_F_ONLINK) != 0
        isCloned = h.rtm_flags & UInt32(RTM_F_CLONED) != 0
    }

    /// A cached/exception entry (RTM_F_CLONED), not a configured route; `routes()` leaves these out.
    var isCloned = false

    /// The routes of an RTM_NEWROUTE message: the route itself, or for an RTA_MULTIPATH (ECMP) route
    /// one route per next hop (`struct rtnexthop` + its attributes), each with that hop's gateway,
    /// output link and onlink flag — as `ip route` lists them under "nexthop".
    static func expanding(_ m: NetlinkMessage) -> [Route] {
        guard let route = Route(m) else { return [] }
        let a = m.attributes(after: MemoryLayout<rtmsg>.size)
        guard let multipath = a[Int(RTA_MULTIPATH.rawValue)] else { return [route] }
        let bytes = Array(multipath)
        var hops: [Route] = []
        var i = 0
        while i + 8 <= bytes.count {  // rtnh_len u16, rtnh_flags u8, rtnh_hops u8, rtnh_ifindex s32
            guard let len = bytes.u16(at: i).map(Int.init), len >= 8, i + len <= bytes.count,
                  let index = bytes.s32(at: i + 4) else { break }
            let attributes = AttributeList(bytes[(i + 8)..<(i + len)])
            var hop = route
            hop.gateway = attributes.address(Int(RTA_GATEWAY.rawValue))
            hop.outputIndex = index
            hop.onLink = UInt32(bytes[i + 2]) & UInt32(RTNH_F_ONLINK) != 0
            hops.append(hop)
            i += align4(len)
        }
        return hops.isEmpty ? [route] : hops
    }

    public static func == (a: Route, b: Route) -> Bool {
        a.destination == b.destination && a.gateway == b.gateway && a.outputIndex == b.outputIndex
            && a.metric == b.metric && a.table == b.table && a.scope == b.scope && a.type == b.type
            && a.routeProtocol == b.routeProtocol && a.source == b.source && a.mtu == b.mtu
            && a.advmss == b.advmss && a.onLink == b.onLink
    }
}

/// rtm_type.
public enum RouteType: Hashable, Sendable {
    case unspecified, unicast, local, broadcast, anycast, multicast, blackhole, unreachable, prohibit, `throw`
    case other(UInt8)

    public init(rawValue v: UInt8) {
        switch v {
        case 0: self = .unspecified
        case 1: self = .unicast
        case 2: self = .local
        case 3: self = .broadcast
        case 4: self = .anycast
        case 5: self = .multicast
        case 6: self = .blackhole
        case 7: self = .unreachable
        case 8: self = .prohibit
        case 9: self = .throw
        default: self = .other(v)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .unspecified: 0
        case .unicast: 1
        case .local: 2
        case .broadcast: 3
        case .anycast: 4
        case .multicast: 5
        case .blackhole: 6
        case .unreachable: 7
        case .prohibit: 8
        case .throw: 9
        case .other(let v): v
        }
    }
}

/// rtm_protocol: who installed the route (`ip route` shows "proto …").
public struct RouteProtocol: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unspecified = RouteProtocol(rawValue: 0)
    public static let redirect = RouteProtocol(rawValue: 1)
    /// Installed by the kernel (connected prefixes of addresses).
    public static let kernel = RouteProtocol(rawValue: 2)
    /// What `ip route add` uses.
    public static let boot = RouteProtocol(rawValue: 3)
    public static let `static` = RouteProtocol(rawValue: 4)
    /// Learned from router advertisements.
    public static let ra = RouteProtocol(rawValue: 9)
    public static let dhcp = RouteProtocol(rawValue: 16)
}

enum RouteRequest {
    static func header(family: UInt8, dstLength: Int = 0, table: UInt32 = 0, protocol proto: UInt8 = 0,
                       scope: UInt8 = 0, type: UInt8 = 0, flags: UInt32 = 0) -> [UInt8] {
        var m = rtmsg()
        m.rtm_family = family
        m.rtm_dst_len = UInt8(dstLength)
        m.rtm_table = table < 256 ? UInt8(table) : 0  // RT_TABLE_UNSPEC; RTA_TABLE carries the rest
        m.rtm_protocol = proto
        m.rtm_scope = scope
        m.rtm_type = type
        m.rtm_flags = flags
        return structBytes(m)
    }

    /// The attributes that identify and describe a route.
    static func attributes(_ r: Route, full: Bool) -> [NetlinkAttribute] {
        var a: [NetlinkAttribute] = [.u32(Int(RTA_TABLE.rawValue), r.table)]
        if r.destination.length > 0 { a.append(.bytes(Int(RTA_DST.rawValue), r.destination.address.bytes)) }
        if let g = r.gateway { a.append(.bytes(Int(RTA_GATEWAY.rawValue), g.bytes)) }
        if let o = r.outputIndex { a.append(.u32(Int(RTA_OIF.rawValue), UInt32(bitPattern: o))) }
        if let m = r.metric { a.append(.u32(Int(RTA_PRIORITY.rawValue), m)) }
        guard full else { return a }
        if let s = r.source { a.append(.bytes(Int(RTA_PREFSRC.rawValue), s.bytes)) }
        var metrics: [NetlinkAttribute] = []
        if let mtu = r.mtu { metrics.append(.u32(RTAX_MTU, mtu)) }
        if let mss = r.advmss { metrics.append(.u32(RTAX_ADVMSS, mss)) }
        if !metrics.isEmpty { a.append(.nested(Int(RTA_METRICS.rawValue), metrics)) }
        return a
    }

    static func new(_ r: Route, flags: Int32) -> NetlinkRequest {
        NetlinkRequest(
            type: UInt16(RTM_NEWROUTE), flags: UInt16(flags),
            header: header(family: addressFamily(r.destination.family), dstLength: r.destination.length,
                           table: r.table, protocol: r.routeProtocol.rawValue, scope: r.scope.rawValue,
                           type: r.type.rawValue, flags: r.onLink ? UInt32(RTNH_F_ONLINK) : 0),
            attributes: attributes(r, full: true))
    }

    /// Delete matches on destination and table, plus gateway/output/metric when given; protocol,
    /// scope and type are left open (0 / RT_SCOPE_NOWHERE / RTN_UNSPEC) as `ip route del` does.
    static func delete(_ r: Route) -> NetlinkRequest {
        NetlinkRequest(
            type: UInt16(RTM_DELROUTE),
            header: header(family: addressFamily(r.destination.family), dstLength: r.destination.length,
                           table: r.table, scope: RouteScope.nowhere.rawValue),
            attributes: attributes(r, full: false))
    }

    /// With strict checking the kernel filters by RTA_TABLE and RTA_OIF.
    static func dump(family: IPAddress.Family?, table: UInt32?, outputIndex: Int32?) -> NetlinkRequest {
        var a: [NetlinkAttribute] = []
        if let t = table { a.append(.u32(Int(RTA_TABLE.rawValue), t)) }
        if let o = outputIndex { a.append(.u32(Int(RTA_OIF.rawValue), UInt32(bitPattern: o))) }
        return NetlinkRequest(type: UInt16(RTM_GETROUTE), flags: UInt16(NLM_F_DUMP),
                              header: header(family: addressFamily(family)), attributes: a)
    }
}

extension Route: CustomStringConvertible {
    /// `ip route`-like text for messages: `fd42:1::/64 via fd42::1 dev #3 metric 100 table 254`.
    public var description: String {
        var s = destination.length == 0 ? "default" : destination.description
        if let g = gateway { s += " via \(g)" }
        if let o = outputIndex { s += " dev #\(o)" }
        if let m = metric { s += " metric \(m)" }
        if table != Route.mainTable { s += " table \(table)" }
        if onLink { s += " onlink" }
        if let src = source { s += " src \(src)" }
        if let mtu { s += " mtu \(mtu)" }
        if let advmss { s += " advmss \(advmss)" }
        if type != .unicast { s += " type \(type.rawValue)" }
        if scope != .universe { s += " scope \(scope.rawValue)" }
        s += " proto \(routeProtocol.rawValue)"
        return s
    }
}

extension RouteSocket {
    /// Adds a route; EEXIST if the same destination/metric is already in the table.
    /// With `exclusive: false` (NLM_F_CREATE alone, as the reference plugins' `RouteAddEcmp`) a route
    /// to a destination that already has one through another next hop is added beside it — for
    /// IPv6 gateway routes the kernel merges them into one multipath (ECMP) route — and only an
    /// identical route is EEXIST.
    public func addRoute(_ route: Route, exclusive: Bool = true) throws(KernelError) {
        try execute(RouteRequest.new(route, flags: exclusive ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE)) {
            "adding route \(describe(route))"
        }
    }

    /// Adds the route or replaces the one with the same destination/metric.
    public func replaceRoute(_ route: Route) throws(KernelError) {
        try execute(RouteRequest.new(route, flags: NLM_F_CREATE | NLM_F_REPLACE)) { "replacing route \(describe(route))" }
    }

    /// Deletes the first route matching destination and table (and gateway, output link and metric
    /// when set). ESRCH (`isNotFound`) if there is none.
    public func deleteRoute(_ route: Route) throws(KernelError) {
        try execute(RouteRequest.delete(route)) { "deleting route \(describe(route))" }
    }

    /// The routes of a family in one table (nil: every table), optionally only those through one
    /// link. Cached/exception entries are left out. A table or link that doesn't exist has no routes.
    public func routes(family: IPAddress.Family? = .v6, table: UInt32? = Route.mainTable,
                       outputIndex: Int32? = nil) throws(KernelError) -> [Route] {
        let messages: [NetlinkMessage]
        do {
            messages = try execute(RouteRequest.dump(family: family, table: table, outputIndex: outputIndex)) {
                "listing routes"
            }
        } catch where (error.errno == ENOENT && table != nil) || (error.errno == ENODEV && outputIndex != nil) {
            return []
        }
        return messages.flatMap(Route.expanding).filter {
            !$0.isCloned && (family == nil || $0.destination.family == family)
                && (table == nil || $0.table == table) && (outputIndex == nil || $0.outputIndex == outputIndex)
        }
    }

    /// The route for messages, with the output link's name.
    func describe(_ r: Route) -> String {
        var s = r.destination.length == 0 ? "default" : r.destination.description
        if let g = r.gateway { s += " via \(g)" }
        if let o = r.outputIndex { s += " dev \(describeLink(o))" }
        if let m = r.metric { s += " metric \(m)" }
        if r.table != Route.mainTable { s += " table \(r.table)" }
        return s
    }
}

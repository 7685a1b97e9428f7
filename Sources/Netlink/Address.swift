import CNetlink
import IPAddressing
#if canImport(Glibc)
import Glibc
#endif

/// Address flags (IFA_F_*), as sent in IFA_FLAGS and reported by the kernel.
public struct AddressFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// IFA_F_SECONDARY (IPv4) / IFA_F_TEMPORARY (IPv6 privacy address).
    public static let secondary = AddressFlags(rawValue: 0x01)
    /// IFA_F_NODAD: skip duplicate address detection; the address is usable at once.
    public static let noDAD = AddressFlags(rawValue: 0x02)
    public static let optimistic = AddressFlags(rawValue: 0x04)
    /// IFA_F_DADFAILED: DAD found a duplicate; the address is unusable.
    public static let dadFailed = AddressFlags(rawValue: 0x08)
    public static let homeAddress = AddressFlags(rawValue: 0x10)
    public static let deprecated = AddressFlags(rawValue: 0x20)
    /// IFA_F_TENTATIVE: DAD still running; the address can't be used as a source yet.
    public static let tentative = AddressFlags(rawValue: 0x40)
    public static let permanent = AddressFlags(rawValue: 0x80)
    public static let managedTempAddress = AddressFlags(rawValue: 0x100)
    /// IFA_F_NOPREFIXROUTE: don't add the prefix route for this address.
    public static let noPrefixRoute = AddressFlags(rawValue: 0x200)
    public static let multicastAutoJoin = AddressFlags(rawValue: 0x400)
    public static let stablePrivacy = AddressFlags(rawValue: 0x800)
}

/// Scope of an address or route (rtm_scope / ifa_scope; `ip` shows global/site/link/host).
public enum RouteScope: Hashable, Sendable {
    case universe, site, link, host, nowhere
    case other(UInt8)

    public init(rawValue v: UInt8) {
        switch v {
        case 0: self = .universe
        case 200: self = .site
        case 253: self = .link
        case 254: self = .host
        case 255: self = .nowhere
        default: self = .other(v)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .universe: 0
        case .site: 200
        case .link: 253
        case .host: 254
        case .nowhere: 255
        case .other(let v): v
        }
    }
}

/// An address on a link, as the kernel reports it (RTM_NEWADDR).
public struct AddressInfo: Equatable, Sendable {
    /// The local address with the prefix length, e.g. `fd42::5/64`.
    public var prefix: IPPrefix
    /// The link's ifindex.
    public var index: Int32
    public var flags: AddressFlags
    public var scope: RouteScope
    /// The peer address of a point-to-point address (IFA_ADDRESS when it differs from IFA_LOCAL).
    public var peer: IPAddress?
    /// IFA_LABEL (IPv4 only).
    public var label: String?
    /// Lifetimes in seconds from IFA_CACHEINFO; UInt32.max is "forever".
    public var validLifetime: UInt32?
    public var preferredLifetime: UInt32?

    public var address: IPAddress { prefix.address }
    public var isTentative: Bool { flags.contains(.tentative) }
    public var isDADFailed: Bool { flags.contains(.dadFailed) }

    init?(_ m: NetlinkMessage) {
        guard m.type == UInt16(RTM_NEWADDR), let h = m.header(as: ifaddrmsg.self) else { return nil }
        let a = m.attributes(after: MemoryLayout<ifaddrmsg>.size)
        let local = a.address(IFA_LOCAL)
        let address = a.address(IFA_ADDRESS)
        guard let addr = local ?? address, let p = IPPrefix(address: addr, length: Int(h.ifa_prefixlen)) else {
            return nil
        }
        prefix = p
        index = Int32(bitPattern: h.ifa_index)
        flags = AddressFlags(rawValue: a.u32(IFA_FLAGS) ?? UInt32(h.ifa_flags))
        scope = RouteScope(rawValue: h.ifa_scope)
        peer = (local != nil && address != nil && local != address) ? address : nil
        label = a.string(IFA_LABEL)
        if let ci = a[IFA_CACHEINFO].map(Array.init) {  // ifa_prefered, ifa_valid, cstamp, tstamp
            preferredLifetime = ci.u32(at: 0)
            validLifetime = ci.u32(at: 4)
        }
    }
}

func addressFamily(_ f: IPAddress.Family?) -> UInt8 {
    switch f {
    case .v6: UInt8(AF_INET6)
    case .v4: UInt8(AF_INET)
    case nil: UInt8(AF_UNSPEC)
    }
}

enum AddressRequest {
    static func header(family: UInt8, prefixLength: Int = 0, flags: AddressFlags = [],
                       scope: RouteScope = .universe, index: Int32 = 0) -> [UInt8] {
        var m = ifaddrmsg()
        m.ifa_family = family
        m.ifa_prefixlen = UInt8(prefixLength)
        m.ifa_flags = UInt8(truncatingIfNeeded: flags.rawValue)
        m.ifa_scope = scope.rawValue
        m.ifa_index = UInt32(bitPattern: index)
        return structBytes(m)
    }

    static func add(_ prefix: IPPrefix, index: Int32, flags: AddressFlags, scope: RouteScope) -> NetlinkRequest {
        let bytes = prefix.address.bytes
        return NetlinkRequest(
            type: UInt16(RTM_NEWADDR), flags: UInt16(NLM_F_CREATE | NLM_F_EXCL),
            header: header(family: addressFamily(prefix.family), prefixLength: prefix.length, flags: flags,
                           scope: scope, index: index),
            attributes: [.bytes(IFA_LOCAL, bytes), .bytes(IFA_ADDRESS, bytes), .u32(IFA_FLAGS, flags.rawValue)])
    }

    static func delete(_ prefix: IPPrefix, index: Int32) -> NetlinkRequest {
        let bytes = prefix.address.bytes
        return NetlinkRequest(
            type: UInt16(RTM_DELADDR),
            header: header(family: addressFamily(prefix.family), prefixLength: prefix.length, index: index),
            attributes: [.bytes(IFA_LOCAL, bytes), .bytes(IFA_ADDRESS, bytes)])
    }

    /// With NETLINK_GET_STRICT_CHK the kernel filters the dump by `ifa_index`.
    static func dump(index: Int32?, family: IPAddress.Family?) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_GETADDR), flags: UInt16(NLM_F_DUMP),
                       header: header(family: addressFamily(family), index: index ?? 0))
    }
}

extension RouteSocket {
    /// Adds an address (`fd42::5/64`) to a link. Pass `.noDAD` to make an IPv6 address usable at
    /// once. EEXIST if the link already has it.
    public func addAddress(_ prefix: IPPrefix, index: Int32, flags: AddressFlags = [],
                           scope: RouteScope = .universe) throws(KernelError) {
        try execute(AddressRequest.add(prefix, index: index, flags: flags, scope: scope)) {
            "adding \(prefix) to \(describeLink(index))"
        }
    }

    /// Removes an address from a link. EADDRNOTAVAIL (`isNotFound`) if it isn't there.
    public func deleteAddress(_ prefix: IPPrefix, index: Int32) throws(KernelError) {
        try execute(AddressRequest.delete(prefix, index: index)) {
            "removing \(prefix) from \(describeLink(index))"
        }
    }

    /// The addresses of one link (or all links when `index` is nil), optionally of one family.
    /// The kernel filters by link when it accepts strict dump checking (Linux ≥ 4.20); the result
    /// is filtered here as well, so it is exact either way.
    public func addresses(index: Int32? = nil, family: IPAddress.Family? = nil) throws(KernelError) -> [AddressInfo] {
        let messages = try execute(AddressRequest.dump(index: index, family: family)) {
            "listing addresses" + (index.map { " of \(describeLink($0))" } ?? "")
        }
        return messages.compactMap(AddressInfo.init).filter {
            (index == nil || $0.index == index) && (family == nil || $0.prefix.family == family)
        }
    }
}

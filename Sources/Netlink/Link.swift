import CNetlink
#if canImport(Glibc)
import Glibc
#endif

/// A network interface as the kernel reports it (RTM_NEWLINK).
public struct Link: Equatable, Sendable {
    public var index: Int32
    public var name: String
    /// The hardware address bytes (6 for Ethernet-like links; empty if the kernel sent none).
    public var hardwareAddress: [UInt8]
    public var mtu: UInt32
    public var flags: Flags
    public var operState: OperState
    /// IFLA_INFO_KIND: "veth", "bridge", … (nil for physical and loopback links).
    public var kind: String?
    /// IFLA_INFO_SLAVE_KIND: "bridge" when this link is a bridge port.
    public var slaveKind: String?
    /// IFLA_MASTER: the bridge (or bond…) this link is attached to.
    public var masterIndex: Int32?
    /// IFLA_BRPORT_STATE of a bridge port (BR_STATE_*: 3 = forwarding); nil for other links.
    public var bridgePortState: UInt8?
    /// IFLA_LINK: for a veth the peer's ifindex — in the peer's namespace, which may be another
    /// one (then `linkNetnsID` is set).
    public var linkIndex: Int32?
    /// IFLA_LINK_NETNSID: the peer namespace's id as seen from this namespace.
    public var linkNetnsID: Int32?
    /// IFLA_PROMISCUITY: the kernel's promiscuity counter (bridge ports count here too).
    public var promiscuity: UInt32?
    /// ARPHRD_* (1 = Ethernet, 772 = loopback).
    public var hardwareType: UInt16

    /// The Ethernet address, when the hardware address has 6 bytes.
    public var mac: MACAddress? { MACAddress(bytes: hardwareAddress) }
    /// IFF_UP: administratively up.
    public var isUp: Bool { flags.contains(.up) }
    /// IFF_PROMISC as set by `setPromiscuous` (not the bridge's internal promiscuity).
    public var isPromiscuous: Bool { flags.contains(.promiscuous) }

    /// Interface flags (IFF_*).
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let up = Flags(rawValue: 0x1)
        public static let broadcast = Flags(rawValue: 0x2)
        public static let loopback = Flags(rawValue: 0x8)
        public static let pointToPoint = Flags(rawValue: 0x10)
        public static let running = Flags(rawValue: 0x40)
        public static let noARP = Flags(rawValue: 0x80)
        public static let promiscuous = Flags(rawValue: 0x100)
        public static let allMulticast = Flags(rawValue: 0x200)
        public static let master = Flags(rawValue: 0x400)
        public static let slave = Flags(rawValue: 0x800)
        public static let multicast = Flags(rawValue: 0x1000)
        public static let lowerUp = Flags(rawValue: 0x10000)
        public static let dormant = Flags(rawValue: 0x20000)
    }

    /// RFC 2863 operational state (IFLA_OPERSTATE).
    public enum OperState: Equatable, Sendable {
        case unknown, notPresent, down, lowerLayerDown, testing, dormant, up
        case other(UInt8)

        init(_ v: UInt8) {
            switch v {
            case 0: self = .unknown
            case 1: self = .notPresent
            case 2: self = .down
            case 3: self = .lowerLayerDown
            case 4: self = .testing
            case 5: self = .dormant
            case 6: self = .up
            default: self = .other(v)
            }
        }
    }

    /// Decodes an RTM_NEWLINK message; nil if it is not one.
    init?(_ m: NetlinkMessage) {
        guard m.type == UInt16(RTM_NEWLINK), let h = m.header(as: ifinfomsg.self) else { return nil }
        let a = m.attributes(after: MemoryLayout<ifinfomsg>.size)
        index = h.ifi_index
        hardwareType = h.ifi_type
        flags = Flags(rawValue: h.ifi_flags)
        name = a.string(IFLA_IFNAME) ?? ""
        hardwareAddress = a[IFLA_ADDRESS].map(Array.init) ?? []
        mtu = a.u32(IFLA_MTU) ?? 0
        operState = OperState(a.u8(IFLA_OPERSTATE) ?? 0)
        let info = a.nested(IFLA_LINKINFO)
        kind = info?.string(IFLA_INFO_KIND)
        slaveKind = info?.string(IFLA_INFO_SLAVE_KIND)
        masterIndex = a.s32(IFLA_MASTER).flatMap { $0 == 0 ? nil : $0 }
        bridgePortState = slaveKind == "bridge" ? info?.nested(IFLA_INFO_SLAVE_DATA)?.u8(IFLA_BRPORT_STATE) : nil
        linkIndex = a.s32(IFLA_LINK)
        linkNetnsID = a.s32(IFLA_LINK_NETNSID)
        promiscuity = a.u32(IFLA_PROMISCUITY)
    }
}

// MARK: - Requests

enum LinkRequest {
    static func header(index: Int32 = 0, family: Int32 = AF_UNSPEC, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
        var m = ifinfomsg()
        m.ifi_family = UInt8(family)
        m.ifi_index = index
        m.ifi_flags = flags
        m.ifi_change = change
        return structBytes(m)
    }

    static let extMask = NetlinkAttribute.u32(IFLA_EXT_MASK, UInt32(RTEXT_FILTER_SKIP_STATS))

    static func get(name: String) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_GETLINK), header: header(),
                       attributes: [.string(IFLA_IFNAME, name), extMask])
    }

    static func get(index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_GETLINK), header: header(index: index), attributes: [extMask])
    }

    static func dump() -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_GETLINK), flags: UInt16(NLM_F_DUMP), header: header(), attributes: [extMask])
    }

    /// Attributes common to a new link and a veth peer.
    static func basics(name: String, mtu: UInt32?, mac: MACAddress?) -> [NetlinkAttribute] {
        var a: [NetlinkAttribute] = [.string(IFLA_IFNAME, name)]
        if let mtu { a.append(.u32(IFLA_MTU, mtu)) }
        if let mac { a.append(.bytes(IFLA_ADDRESS, mac.bytes)) }
        return a
    }

    static func create(_ attributes: [NetlinkAttribute]) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_CREATE | NLM_F_EXCL),
                       header: header(), attributes: attributes)
    }

    static func bridge(name: String, mtu: UInt32?, mac: MACAddress?) -> NetlinkRequest {
        create(basics(name: name, mtu: mtu, mac: mac) + [
            .nested(IFLA_LINKINFO, [.string(IFLA_INFO_KIND, "bridge")]),
        ])
    }

    static func veth(name: String, peerName: String, peerNamespaceFD: Int32?, mtu: UInt32?,
                     mac: MACAddress?, peerMAC: MACAddress?) -> NetlinkRequest {
        // One queue each way per end. By default the kernel allocates one per possible CPU and
        // then cuts each end's real count to one, which waits for an expedited RCU grace period
        // while holding RTNL: two per pair, and every other netlink writer on the node waits too.
        let queues: [NetlinkAttribute] = [.u32(IFLA_NUM_TX_QUEUES, 1), .u32(IFLA_NUM_RX_QUEUES, 1)]
        var peer = basics(name: peerName, mtu: mtu, mac: peerMAC) + queues
        if let fd = peerNamespaceFD { peer.append(.u32(IFLA_NET_NS_FD, UInt32(bitPattern: fd))) }
        return create(basics(name: name, mtu: mtu, mac: mac) + queues + [
            .nested(IFLA_LINKINFO, [
                .string(IFLA_INFO_KIND, "veth"),
                .nested(IFLA_INFO_DATA, [
                    .nested(VETH_INFO_PEER, header: header(), peer),
                ]),
            ]),
        ])
    }

    /// RTM_NEWLINK without NLM_F_CREATE: change an existing link.
    static func change(index: Int32, flags: UInt32 = 0, change: UInt32 = 0,
                       _ attributes: [NetlinkAttribute] = []) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_NEWLINK), header: header(index: index, flags: flags, change: change),
                       attributes: attributes)
    }

    static func bridgePort(index: Int32, _ settings: [NetlinkAttribute]) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_SETLINK), header: header(index: index, family: AF_BRIDGE),
                       attributes: [.nested(IFLA_PROTINFO, settings)])
    }

    static func delete(index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_DELLINK), header: header(index: index))
    }

    static func delete(name: String) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_DELLINK), header: header(),
                       attributes: [.string(IFLA_IFNAME, name)])
    }
}

// MARK: - Operations

extension RouteSocket {
    /// The link with this name, or nil when there is none (ENODEV). One RTM_GETLINK, no dump.
    public func link(named name: String) throws(KernelError) -> Link? {
        do {
            return try execute(LinkRequest.get(name: name)) { "looking up link \(name)" }.lazy.compactMap(Link.init).first
        } catch where error.errno == ENODEV {
            return nil
        }
    }

    /// The link with this index, or nil when there is none (ENODEV).
    public func link(index: Int32) throws(KernelError) -> Link? {
        do {
            return try execute(LinkRequest.get(index: index)) { "looking up link #\(index)" }.lazy.compactMap(Link.init).first
        } catch where error.errno == ENODEV {
            return nil
        }
    }

    /// Every link of the namespace (a dump: for diagnostics and tests, not the ADD/DEL path).
    public func links() throws(KernelError) -> [Link] {
        try execute(LinkRequest.dump()) { "listing links" }.compactMap(Link.init)
    }

    /// The link with this name; throws ENODEV ("link eth0 not found") when there is none.
    public func requireLink(named name: String) throws(KernelError) -> Link {
        guard let l = try link(named: name) else {
            throw KernelError(errno: ENODEV, operation: "looking up link \(name)", namespacePath: namespacePath)
        }
        return l
    }

    /// Creates a bridge (down) and returns it. EEXIST if a link with that name exists.
    @discardableResult
    public func addBridge(name: String, mtu: UInt32? = nil, mac: MACAddress? = nil) throws(KernelError) -> Link {
        try execute(LinkRequest.bridge(name: name, mtu: mtu, mac: mac)) { "creating bridge \(name)" }
        return try requireLink(named: name)
    }

    /// Creates a veth pair (both ends down) and returns the end named `name`, which lives in this
    /// socket's namespace. The peer is created directly in `peerNamespace` (IFLA_NET_NS_FD inside
    /// VETH_INFO_PEER), or here when it is nil; the returned link's `linkIndex` is the peer's
    /// ifindex in its namespace. `mtu` applies to both ends.
    ///
    /// Don't try to bring the peer up in the same request: the kernel refuses with ENOTCONN. Bring
    /// each end up afterwards through the socket of its namespace.
    @discardableResult
    public func addVeth(name: String, peerName: String, peerNamespace: NetworkNamespace? = nil,
                        mtu: UInt32? = nil, mac: MACAddress? = nil,
                        peerMAC: MACAddress? = nil) throws(KernelError) -> Link {
        let req = LinkRequest.veth(name: name, peerName: peerName, peerNamespaceFD: peerNamespace?.fileDescriptor,
                                   mtu: mtu, mac: mac, peerMAC: peerMAC)
        try execute(req) {
            "creating veth \(name) (peer \(peerName)" + (peerNamespace.map { " in \($0.path)" } ?? "") + ")"
        }
        return try requireLink(named: name)
    }

    /// Sets IFF_UP.
    public func setUp(index: Int32) throws(KernelError) {
        try execute(LinkRequest.change(index: index, flags: 0x1, change: 0x1)) { "setting \(describeLink(index)) up" }
    }

    /// Clears IFF_UP.
    public func setDown(index: Int32) throws(KernelError) {
        try execute(LinkRequest.change(index: index, flags: 0, change: 0x1)) { "setting \(describeLink(index)) down" }
    }

    /// Attaches the link to a bridge (IFLA_MASTER); `master: nil` detaches it.
    public func setMaster(index: Int32, master: Int32?) throws(KernelError) {
        let req = LinkRequest.change(index: index, [.u32(IFLA_MASTER, UInt32(bitPattern: master ?? 0))])
        try execute(req) {
            if let master { "attaching \(describeLink(index)) to \(describeLink(master))" }
            else { "detaching \(describeLink(index)) from its master" }
        }
    }

    public func setMTU(index: Int32, _ mtu: UInt32) throws(KernelError) {
        try execute(LinkRequest.change(index: index, [.u32(IFLA_MTU, mtu)])) {
            "setting MTU \(mtu) on \(describeLink(index))"
        }
    }

    public func setMAC(index: Int32, _ mac: MACAddress) throws(KernelError) {
        try execute(LinkRequest.change(index: index, [.bytes(IFLA_ADDRESS, mac.bytes)])) {
            "setting MAC \(mac) on \(describeLink(index))"
        }
    }

    /// Sets or clears IFF_PROMISC.
    public func setPromiscuous(index: Int32, _ on: Bool) throws(KernelError) {
        try execute(LinkRequest.change(index: index, flags: on ? 0x100 : 0, change: 0x100)) {
            "turning promiscuous mode \(on ? "on" : "off") on \(describeLink(index))"
        }
    }

    /// Renames a link (it must be down).
    public func setName(index: Int32, _ name: String) throws(KernelError) {
        try execute(LinkRequest.change(index: index, [.string(IFLA_IFNAME, name)])) {
            "renaming \(describeLink(index)) to \(name)"
        }
    }

    /// Moves a link into another network namespace (IFLA_NET_NS_FD).
    public func moveLink(index: Int32, to namespace: NetworkNamespace) throws(KernelError) {
        let fd = UInt32(bitPattern: namespace.fileDescriptor)
        try execute(LinkRequest.change(index: index, [.u32(IFLA_NET_NS_FD, fd)])) {
            "moving \(describeLink(index)) to \(namespace.path)"
        }
    }

    /// Bridge port settings of a link attached to a bridge (RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO
    /// with NLA_F_NESTED). Only the settings given are changed.
    public func setBridgePort(index: Int32, hairpin: Bool? = nil, isolated: Bool? = nil,
                              learning: Bool? = nil, neighborSuppress: Bool? = nil) throws(KernelError) {
        var s: [NetlinkAttribute] = []
        func flag(_ kind: Int, _ v: Bool?) { if let v { s.append(.u8(kind, v ? 1 : 0)) } }
        flag(IFLA_BRPORT_MODE, hairpin)
        flag(IFLA_BRPORT_LEARNING, learning)
        flag(IFLA_BRPORT_NEIGH_SUPPRESS, neighborSuppress)
        flag(IFLA_BRPORT_ISOLATED, isolated)
        guard !s.isEmpty else { return }
        try execute(LinkRequest.bridgePort(index: index, s)) { "setting bridge port options on \(describeLink(index))" }
    }

    /// Deletes a link (for a veth, both ends go).
    public func deleteLink(index: Int32) throws(KernelError) {
        try execute(LinkRequest.delete(index: index)) { "deleting \(describeLink(index))" }
    }

    /// Deletes a link by name.
    public func deleteLink(named name: String) throws(KernelError) {
        try execute(LinkRequest.delete(name: name)) { "deleting link \(name)" }
    }
}

import CNI
import IPAddressing
import Netlink
import PodNetwork
#if canImport(Glibc)
import Glibc
#endif

/// The node side of bridge6: the bridge itself, its ports, its gateway addresses.
struct BridgeSetup {
    let node: RouteSocket
    let conf: BridgeConfig
    /// The node's IPv6 sysctls; nil on a node without IPv6.
    let sysctls: IPv6Sysctls?

    /// The bridge if it exists already (checked to be one, up), else nil.
    func existingBridge() throws -> Link? {
        let name = conf.bridgeName
        guard let existing = try node.link(named: name) else { return nil }
        guard existing.kind == "bridge" else {
            throw CNIError.invalidConfig("field \"bridge\": \(name) exists and is a \(existing.kind ?? "non-bridge") link, not a bridge")
        }
        try finish(existing)
        return existing
    }

    /// The bridge, created (with a fixed MAC, so it never changes as ports come and go, and with
    /// DAD off so its link-local address works at once) if it does not exist yet.
    func ensureBridge() throws -> Link {
        if let existing = try existingBridge() { return existing }
        let name = conf.bridgeName
        let bridge: Link
        do {
            bridge = try node.addBridge(name: name, mtu: conf.mtu.map { UInt32($0) }, mac: MACAddress.randomLocal())
        } catch {
            guard error.isExists else { throw error }
            return try ensureBridge()  // another ADD created it a moment ago
        }
        try sysctls?.prepareNodeInterface(name)
        try finish(bridge)
        return bridge
    }

    private func finish(_ bridge: Link) throws {
        if let promisc = conf.promiscMode, promisc != bridge.isPromiscuous {
            try node.setPromiscuous(index: bridge.index, promisc)
        }
        if !bridge.isUp { try node.setUp(index: bridge.index) }
    }

    /// Host end of the pod's veth: no IPv6 of its own, a port of the bridge, up.
    func attach(_ host: Link, to bridge: Link) throws {
        try sysctls?.prepareBridgePort(host.name)
        try node.setMaster(index: host.index, master: bridge.index)
        if conf.hairpinMode == true || conf.portIsolation == true {
            try node.setBridgePort(index: host.index, hairpin: conf.hairpinMode == true ? true : nil,
                                   isolated: conf.portIsolation == true ? true : nil)
        }
        try node.setUp(index: host.index)
    }

    /// Enters the pod's and the gateways' solicited-node groups in the bridge's multicast database
    /// (the pod's on its port, for good; the gateways' on the bridge itself). Once a bridge sees an
    /// MLD querier (its own, or a router's on an uplink port) its snooping sends an unknown group's
    /// multicast to router ports only, and a new pod's MLD report comes only after its interface is
    /// up: until the bridge hears it, nobody can resolve the pod's address (measured: the node's
    /// first ping after ADD lost 2 times in 8 with 200 pods on a querier bridge). Entered before the
    /// pod's interface goes up, neighbour discovery reaches the pod the moment ADD returns. A bridge
    /// without a querier floods every group and ignores these entries.
    func pinSolicitedNodeGroups(pod addresses: [IPAddress], port: Link, gateways: [IPAddress], on bridge: Link) {
        let entries = addresses.map { ($0, port.index) } + gateways.map { ($0, bridge.index) }
        for (address, member) in entries {
            guard case .v6(let a) = address else { continue }
            do {
                try node.addMulticastGroup(.v6(a.solicitedNodeMulticast), bridge: bridge.index, port: member)
            } catch where error.isExists {
            } catch where error.errno == EINVAL {
                return  // multicast snooping is off on this bridge: it floods every group anyway
            } catch {
                logWarning("bridge6: \(error)")
            }
        }
    }

    /// Tells each side where the other is: the pod's neighbour table gets its gateways at the
    /// bridge's MAC, the bridge's gets the pod's addresses at the pod's MAC (state STALE: used at
    /// once, confirmed by unicast later; replacing also corrects an entry left by an earlier pod
    /// with the same address). Otherwise the first packet each way waits for a neighbour
    /// solicitation, which a bridge without snooping floods to every port: with 1000 pods the
    /// copies overflowed the kernel's per-CPU receive backlog, the answer was dropped, and the new
    /// pod's first ping to its gateway failed 12 times in 12 (with the entries: never).
    /// `podLink` and `bridge` as read after both are up, so their MACs are current.
    func seedNeighbors(pod: RouteSocket, podLink: Link, addresses: [IPAddress], gateways: [IPAddress],
                       bridge: Link) throws {
        guard let bridgeMAC = bridge.mac, let podMAC = podLink.mac else { return }
        for gateway in gateways {
            guard try pod.seedNeighbor(gateway, mac: bridgeMAC, index: podLink.index) else { return warnTableFull() }
        }
        for address in addresses {
            guard try node.seedNeighbor(address, mac: podMAC, index: bridge.index) else { return warnTableFull() }
        }
    }

    private func warnTableFull() {
        logWarning("bridge6: the kernel's IPv6 neighbour table is full (net.ipv6.neigh.default.gc_thresh3, one limit for all namespaces); the pod's first packets will resolve by neighbour discovery")
    }

    /// Puts each gateway on the bridge (NODAD). Several IPv6 gateways live side by side when their
    /// subnets do not overlap; an overlapping different one is an error unless `forceAddress`.
    func addGatewayAddresses(_ gateways: [IPPrefix], to bridge: Link) throws {
        guard !gateways.isEmpty else { return }
        let existing = try node.addresses(index: bridge.index).filter { !$0.address.isLinkLocal }
        for gw in gateways {
            if existing.contains(where: { $0.prefix == gw }) { continue }
            for other in existing where other.prefix.overlaps(gw) {
                guard conf.forceAddress == true else {
                    throw CNIError.invalidConfig("bridge \(bridge.name) already has address \(other.prefix), which overlaps gateway \(gw) (set \"forceAddress\": true to replace it)")
                }
                try ignoringNotFound { try node.deleteAddress(other.prefix, index: bridge.index) }
            }
            let flags: AddressFlags = gw.family == .v6 && conf.enabledad != true ? [.noDAD] : []
            do {
                try node.addAddress(gw, index: bridge.index, flags: flags)
            } catch {
                guard error.isExists else { throw error }  // else a concurrent ADD put it there
            }
        }
    }
}

extension MACAddress {
    /// A random locally administered unicast MAC.
    static func randomLocal() -> MACAddress {
        var bytes = (0..<6).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0xfc) | 0x02
        return MACAddress(bytes: bytes)!
    }
}

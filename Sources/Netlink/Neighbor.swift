import CNetlink
import IPAddressing
#if canImport(Glibc)
import Glibc
#endif

enum NeighborRequest {
    static let ntfProxy: UInt8 = 0x08      // NTF_PROXY
    static let nudPermanent: UInt16 = 0x80 // NUD_PERMANENT
    static let nudStale: UInt16 = 0x04     // NUD_STALE

    static func header(family: UInt8, index: Int32, state: UInt16 = 0, flags: UInt8 = 0) -> [UInt8] {
        var m = ndmsg()
        m.ndm_family = family
        m.ndm_ifindex = index
        m.ndm_state = state
        m.ndm_flags = flags
        return structBytes(m)
    }

    static func addProxy(_ address: IPAddress, index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_NEWNEIGH), flags: UInt16(NLM_F_CREATE | NLM_F_EXCL),
                       header: header(family: addressFamily(address.family), index: index,
                                      state: nudPermanent, flags: ntfProxy),
                       attributes: [.bytes(NDA_DST, address.bytes)])
    }

    /// A neighbour entry in state STALE: used at once, confirmed later by the kernel's unicast
    /// probes, replaced if wrong (`ip neigh replace ADDR lladdr MAC dev LINK nud stale`).
    static func seed(_ address: IPAddress, mac: MACAddress, index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_NEWNEIGH), flags: UInt16(NLM_F_CREATE | NLM_F_REPLACE),
                       header: header(family: addressFamily(address.family), index: index, state: nudStale),
                       attributes: [.bytes(NDA_DST, address.bytes), .bytes(NDA_LLADDR, mac.bytes)])
    }

    static func delete(_ address: IPAddress, index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_DELNEIGH),
                       header: header(family: addressFamily(address.family), index: index),
                       attributes: [.bytes(NDA_DST, address.bytes)])
    }

    static func deleteProxy(_ address: IPAddress, index: Int32) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_DELNEIGH),
                       header: header(family: addressFamily(address.family), index: index, flags: ntfProxy),
                       attributes: [.bytes(NDA_DST, address.bytes)])
    }

    /// Strict dump checking wants ndm_ifindex 0; the link filter goes in NDA_IFINDEX.
    static func dumpProxies(family: IPAddress.Family, index: Int32?) -> NetlinkRequest {
        NetlinkRequest(type: UInt16(RTM_GETNEIGH), flags: UInt16(NLM_F_DUMP),
                       header: header(family: addressFamily(family), index: 0, flags: ntfProxy),
                       attributes: index.map { [.u32(NDA_IFINDEX, UInt32(bitPattern: $0))] } ?? [])
    }
}

/// A proxy neighbour entry (`ip -6 neigh add proxy ADDR dev LINK`): the link answers neighbour
/// solicitations for `address` (needs net.ipv6.conf.<link>.proxy_ndp=1 to take effect).
public struct ProxyNeighbor: Equatable, Sendable {
    public var address: IPAddress
    public var index: Int32
}

extension RouteSocket {
    /// Adds a proxy NDP (or proxy ARP) entry for `address` on a link. Idempotent: the kernel
    /// accepts an entry that already exists (it never answers EEXIST for proxy entries).
    public func addProxyNeighbor(_ address: IPAddress, index: Int32) throws(KernelError) {
        try execute(NeighborRequest.addProxy(address, index: index)) {
            "adding proxy neighbour \(address) on \(describeLink(index))"
        }
    }

    /// Tells a link's neighbour table where `address` lives (state STALE, replacing any entry), so
    /// the first packet to it needs no neighbour solicitation; the kernel confirms the entry by
    /// unicast when it is used, and resolves again if it was wrong.
    /// Returns false, having done nothing, when the kernel's neighbour table is full: ENOBUFS once
    /// the table holds gc_thresh3 entries (1024 by default, one count for all namespaces) that are
    /// too fresh to collect, as on a node that has just started 500 pods. An entry is only a hint,
    /// so that is no reason to fail a pod.
    @discardableResult
    public func seedNeighbor(_ address: IPAddress, mac: MACAddress, index: Int32) throws(KernelError) -> Bool {
        do throws(KernelError) {
            try execute(NeighborRequest.seed(address, mac: mac, index: index)) {
                "adding neighbour \(address) at \(mac) on \(describeLink(index))"
            }
            return true
        } catch where error.isNeighborTableFull {
            return false
        }
    }

    /// Removes a link's entry for `address`, if it has one (`ip neigh del ADDR dev LINK`).
    public func forgetNeighbor(_ address: IPAddress, index: Int32) throws(KernelError) {
        do throws(KernelError) {
            try execute(NeighborRequest.delete(address, index: index)) {
                "removing neighbour \(address) from \(describeLink(index))"
            }
        } catch where error.isNotFound {
        }
    }

    /// Removes a proxy entry. ENOENT (`isNotFound`) if there is none.
    public func deleteProxyNeighbor(_ address: IPAddress, index: Int32) throws(KernelError) {
        try execute(NeighborRequest.deleteProxy(address, index: index)) {
            "removing proxy neighbour \(address) from \(describeLink(index))"
        }
    }

    /// The proxy entries of a family, optionally of one link.
    public func proxyNeighbors(family: IPAddress.Family = .v6, index: Int32? = nil) throws(KernelError) -> [ProxyNeighbor] {
        let messages = try execute(NeighborRequest.dumpProxies(family: family, index: index)) {
            "listing proxy neighbours"
        }
        return messages.compactMap { m -> ProxyNeighbor? in
            guard m.type == UInt16(RTM_NEWNEIGH), let h = m.header(as: ndmsg.self),
                  h.ndm_flags & NeighborRequest.ntfProxy != 0,
                  let a = m.attributes(after: MemoryLayout<ndmsg>.size).address(NDA_DST),
                  a.family == family, index == nil || h.ndm_ifindex == index else { return nil }
            return ProxyNeighbor(address: a, index: h.ndm_ifindex)
        }
    }
}

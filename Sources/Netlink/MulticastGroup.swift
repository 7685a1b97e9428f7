import CNetlink
import IPAddressing
#if canImport(Glibc)
import Glibc
#endif

/// Bridge multicast database entries (`bridge mdb add`): which port, or the bridge itself, listens
/// to a group, so a snooping bridge forwards the group there without waiting to hear an MLD report.
enum MulticastGroupRequest {
    static let permanent: UInt8 = 1  // MDB_PERMANENT

    /// br_port_msg (family, ifindex of the bridge) followed by MDBA_SET_ENTRY = br_mdb_entry.
    static func add(bridge: Int32, port: Int32, group: IPAddress) -> NetlinkRequest {
        var header = br_port_msg()
        header.family = UInt8(AF_BRIDGE)
        header.ifindex = UInt32(bitPattern: bridge)
        var entry = br_mdb_entry()
        entry.ifindex = UInt32(bitPattern: port)
        // A port's entry never expires; the bridge's own (host) entry takes no state, the kernel
        // refreshes it from the bridge's reports.
        entry.state = port == bridge ? 0 : permanent
        entry.addr.proto = group.family == .v6 ? UInt16(ETH_P_IPV6).bigEndian : UInt16(ETH_P_IP).bigEndian
        let bytes = group.bytes
        withUnsafeMutableBytes(of: &entry.addr.u) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return NetlinkRequest(type: UInt16(RTM_NEWMDB), flags: UInt16(NLM_F_CREATE | NLM_F_EXCL),
                              header: structBytes(header),
                              attributes: [.bytes(Int(MDBA_SET_ENTRY), structBytes(entry))])
    }
}

extension RouteSocket {
    /// Makes `port` (or the bridge itself, when `port == bridge`) a listener of `group` in the
    /// bridge's multicast database. EEXIST (`isExists`) when it already is.
    public func addMulticastGroup(_ group: IPAddress, bridge: Int32, port: Int32) throws(KernelError) {
        try execute(MulticastGroupRequest.add(bridge: bridge, port: port, group: group)) {
            "adding multicast group \(group) for \(describeLink(port)) on bridge \(describeLink(bridge))"
        }
    }
}

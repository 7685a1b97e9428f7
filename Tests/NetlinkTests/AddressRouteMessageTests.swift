import CNetlink
import Glibc
import IPAddressing
import Testing
@testable import Netlink

/// Address and route requests/replies, no root needed.
@Suite struct AddressRouteMessageTests {
    @Test func addAddressSendsNoDADInHeaderAndIFAFlags() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).addAddress(IPPrefix("fd42::5/64")!, index: 3, flags: [.noDAD, .noPrefixRoute])
        let req = try #require(fake.sent.first)
        #expect(req.type == UInt16(RTM_NEWADDR))
        #expect(req.flags == UInt16(NLM_F_CREATE | NLM_F_EXCL))
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: ifaddrmsg.self) }
        #expect(Int32(h.ifa_family) == AF_INET6 && h.ifa_prefixlen == 64 && h.ifa_index == 3)
        #expect(h.ifa_flags == 0x02)  // low 8 bits: NODAD; NOPREFIXROUTE (0x200) only fits IFA_FLAGS
        #expect(h.ifa_scope == 0)
        let addr: [UInt8] = [0xfd, 0x42] + [UInt8](repeating: 0, count: 13) + [5]
        #expect(req[IFA_LOCAL]?.data == addr)
        #expect(req[IFA_ADDRESS]?.data == addr)
        #expect(req[IFA_FLAGS]?.data == UInt32(0x202).nativeBytes)
    }

    @Test func ipv4AddressUsesAFInet() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).addAddress(IPPrefix("192.0.2.7/24")!, index: 2)
        let h = fake.sent[0].header.withUnsafeBytes { $0.loadUnaligned(as: ifaddrmsg.self) }
        #expect(Int32(h.ifa_family) == AF_INET && h.ifa_prefixlen == 24)
        #expect(fake.sent[0][IFA_LOCAL]?.data == [192, 0, 2, 7])
    }

    @Test func addressDumpAsksForOneLinkAndFiltersAnyway() throws {
        let fake = FakeTransport()
        fake.replies = [.messages([
            addressMessage("fd42::1/64", index: 3, flags: 0x02),
            addressMessage("fd42::2/64", index: 4, flags: 0x40),  // another link: must be dropped
            addressMessage("fe80::1/64", index: 3, flags: 0x80, scope: 253),
        ])]
        let list = try RouteSocket(transport: fake).addresses(index: 3, family: .v6)
        let req = fake.sent[0]
        #expect(req.type == UInt16(RTM_GETADDR) && req.isDump)
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: ifaddrmsg.self) }
        #expect(h.ifa_index == 3 && Int32(h.ifa_family) == AF_INET6 && h.ifa_prefixlen == 0)
        #expect(list.map(\.prefix.description) == ["fd42::1/64", "fe80::1/64"])
        #expect(list[0].flags == .noDAD && !list[0].isTentative)
        #expect(list[1].scope == .link && list[1].flags.contains(.permanent))
    }

    @Test func addressErrorNamesPrefixAndLink() throws {
        let fake = FakeTransport()
        fake.replies = [.failure(KernelError(errno: EEXIST, operation: "")), .messages([makeLinkMessage(index: 3, name: "eth0")])]
        let e = expectKernelError { try RouteSocket(transport: fake, namespacePath: "/run/netns/pod-1").addAddress(IPPrefix("fd42::5/64")!, index: 3) }
        #expect(e?.description == "adding fd42::5/64 to eth0 in /run/netns/pod-1: File exists")
        #expect(e?.isExists == true)
    }

    @Test func addRouteEncodesGatewayMetricMetricsAndOnLink() throws {
        let fake = FakeTransport()
        let r = Route(destination: IPPrefix("2001:db8:1::/48")!, gateway: IPAddress("fd42::1"), outputIndex: 6,
                      metric: 100, mtu: 1400, advmss: 1340, onLink: true)
        try RouteSocket(transport: fake).addRoute(r)
        let req = try #require(fake.sent.first)
        #expect(req.type == UInt16(RTM_NEWROUTE) && req.flags == UInt16(NLM_F_CREATE | NLM_F_EXCL))
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
        #expect(Int32(h.rtm_family) == AF_INET6 && h.rtm_dst_len == 48 && h.rtm_table == 254)
        #expect(h.rtm_protocol == 3 && h.rtm_scope == 0 && h.rtm_type == 1)
        #expect(h.rtm_flags == UInt32(RTNH_F_ONLINK))
        #expect(req[Int(RTA_DST.rawValue)]?.data == IPAddress("2001:db8:1::")!.bytes)
        #expect(req[Int(RTA_GATEWAY.rawValue)]?.data == IPAddress("fd42::1")!.bytes)
        #expect(req[Int(RTA_OIF.rawValue)]?.data == UInt32(6).nativeBytes)
        #expect(req[Int(RTA_PRIORITY.rawValue)]?.data == UInt32(100).nativeBytes)
        #expect(req[Int(RTA_TABLE.rawValue)]?.data == UInt32(254).nativeBytes)
        let metrics = try #require(req[Int(RTA_METRICS.rawValue)])
        #expect(metrics[RTAX_MTU]?.data == UInt32(1400).nativeBytes)
        #expect(metrics[RTAX_ADVMSS]?.data == UInt32(1340).nativeBytes)
        // libnl builds the same bytes.
        var ours = req.encoded()
        let libnl = try LibnlTransport.libnlBytes(req)
        ours[6] = libnl[6]; ours[7] = libnl[7]
        #expect(ours == libnl)
    }

    @Test func defaultRouteHasNoDestinationAttributeAndBigTablesGoInRTATable() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).replaceRoute(Route(destination: IPPrefix("::/0")!, gateway: IPAddress("fd42::1"), table: 1000))
        let req = fake.sent[0]
        #expect(req.flags == UInt16(NLM_F_CREATE | NLM_F_REPLACE))
        #expect(req[Int(RTA_DST.rawValue)] == nil)
        #expect(req[Int(RTA_METRICS.rawValue)] == nil)
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
        #expect(h.rtm_dst_len == 0 && h.rtm_table == 0)
        #expect(req[Int(RTA_TABLE.rawValue)]?.data == UInt32(1000).nativeBytes)
    }

    @Test func deleteRouteLeavesProtocolScopeAndTypeOpen() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).deleteRoute(Route(destination: IPPrefix("fd42:9::/48")!, mtu: 1400))
        let req = fake.sent[0]
        #expect(req.type == UInt16(RTM_DELROUTE) && req.flags == 0)
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
        #expect(h.rtm_protocol == 0 && h.rtm_scope == 255 && h.rtm_type == 0)
        #expect(req[Int(RTA_METRICS.rawValue)] == nil)
    }

    @Test func routeDumpFiltersTableLinkAndClones() throws {
        let fake = FakeTransport()
        let wanted = Route(destination: IPPrefix("fd42:1::/64")!, gateway: IPAddress("fd42::1"), outputIndex: 2,
                           metric: 1024, mtu: 1400, advmss: 1300)
        var cloned = routeMessage(wanted)
        cloned.payload.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(RTM_F_CLONED), toByteOffset: 8, as: UInt32.self) }
        fake.replies = [.messages([
            routeMessage(wanted),
            routeMessage(Route(destination: IPPrefix("fd42:2::/64")!, outputIndex: 9)),   // other link
            routeMessage(Route(destination: IPPrefix("fd42:3::/64")!, outputIndex: 2, table: 255)),  // other table
            cloned,
        ])]
        let list = try RouteSocket(transport: fake).routes(family: .v6, table: 254, outputIndex: 2)
        #expect(list == [wanted])
        let req = fake.sent[0]
        #expect(req.isDump && req[Int(RTA_TABLE.rawValue)]?.data == UInt32(254).nativeBytes)
        #expect(req[Int(RTA_OIF.rawValue)]?.data == UInt32(2).nativeBytes)
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
        #expect(h.rtm_dst_len == 0 && h.rtm_scope == 0 && h.rtm_table == 0)  // strict dump rules
    }

    @Test func missingTableMeansNoRoutes() throws {
        let fake = FakeTransport()
        fake.replies = [.failure(KernelError(errno: ENOENT, operation: "", kernelMessage: "FIB table does not exist"))]
        #expect(try RouteSocket(transport: fake).routes(table: 77).isEmpty)
    }
}

func addressMessage(_ p: String, index: Int32, flags: UInt32, scope: UInt8 = 0) -> NetlinkMessage {
    let prefix = IPPrefix(p)!
    var h = ifaddrmsg()
    h.ifa_family = UInt8(AF_INET6)
    h.ifa_prefixlen = UInt8(prefix.length)
    h.ifa_flags = UInt8(truncatingIfNeeded: flags)
    h.ifa_scope = scope
    h.ifa_index = UInt32(index)
    let req = NetlinkRequest(type: 20, header: structBytes(h), attributes: [
        .bytes(IFA_ADDRESS, prefix.address.bytes), .u32(IFA_FLAGS, flags),
    ])
    return NetlinkMessage(type: UInt16(RTM_NEWADDR), payload: Array(req.encoded().dropFirst(16)))
}

/// An RTM_NEWROUTE as the kernel would report the route.
func routeMessage(_ r: Route) -> NetlinkMessage {
    let req = RouteRequest.new(r, flags: 0)
    return NetlinkMessage(type: UInt16(RTM_NEWROUTE), payload: Array(req.encoded().dropFirst(16)))
}

import CNetlink
import Glibc
import Testing
@testable import Netlink

/// Message building and parsing, no root needed.
@Suite struct MessageTests {
    func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    @Test func setUpEncodesExactBytes() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        try sock.setUp(index: 7)
        let req = try #require(fake.sent.first)
        // nlmsghdr: len 32, RTM_NEWLINK (16), REQUEST|ACK, seq 0, pid 0;
        // ifinfomsg: family 0, pad, type 0, index 7, flags IFF_UP, change IFF_UP.
        #expect(hex(req.encoded()) ==
            "20000000" + "1000" + "0500" + "00000000" + "00000000" +
            "00000000" + "07000000" + "01000000" + "01000000")
    }

    @Test func attributeEncodingPadsAndNests() {
        let req = NetlinkRequest(type: 16, header: [], attributes: [
            .string(3, "br0"),                     // 4 + 4 bytes, no padding needed
            .nested(18, [.string(1, "veth")]),     // 4 + (4 + 5 → 12), NLA_F_NESTED set
            .u8(9, 1),                             // 4 + 1 → 8
        ])
        let body = Array(req.encoded().dropFirst(16))
        #expect(hex(body) ==
            "0800" + "0300" + "62723000" +
            "1000" + "1280" + "0900" + "0100" + "7665746800" + "000000" +
            "0500" + "0900" + "01" + "000000")
    }

    /// The bytes libnl's nlmsg_append/nla_put/nla_nest_* produce equal our own encoding, for the
    /// most deeply nested request we build (veth with the peer in another namespace).
    @Test func libnlBuildsTheSameBytesAsOurEncoder() throws {
        let reqs = [
            LinkRequest.veth(name: "veth-host", peerName: "eth0", peerNamespaceFD: 9, mtu: 1400,
                             mac: MACAddress("02:00:00:00:00:01"), peerMAC: MACAddress("02:00:00:00:00:02")),
            LinkRequest.bridge(name: "cni0", mtu: nil, mac: nil),
            LinkRequest.bridgePort(index: 4, [.u8(IFLA_BRPORT_MODE, 1)]),
            LinkRequest.get(name: "eth0"),
        ]
        for req in reqs {
            let libnl = try LibnlTransport.libnlBytes(req)
            var ours = req.encoded()
            ours[6] = libnl[6]  // flags: the transport adds REQUEST|ACK at send time
            ours[7] = libnl[7]
            #expect(hex(libnl) == hex(ours))
        }
    }

    @Test func vethPeerIsCreatedInTheOtherNamespace() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        // The follow-up lookup of the new link gets an RTM_NEWLINK answer.
        fake.replies = [.messages([]), .messages([makeLinkMessage(index: 5, name: "veth0", linkIndex: 2)])]
        let link = try sock.addVethForTest(peerFD: 42)
        #expect(link.index == 5 && link.linkIndex == 2)

        let req = fake.sent[0]
        #expect(req.type == UInt16(RTM_NEWLINK))
        #expect(req.flags == UInt16(NLM_F_CREATE | NLM_F_EXCL))
        #expect(req[IFLA_IFNAME]?.data == Array("veth0".utf8) + [0])
        #expect(req[IFLA_MTU]?.data == UInt32(1450).nativeBytes)
        let info = try #require(req[IFLA_LINKINFO])
        #expect(info[IFLA_INFO_KIND]?.data == Array("veth".utf8) + [0])
        let peer = try #require(info[IFLA_INFO_DATA]?[VETH_INFO_PEER])
        guard case .nested(let header, let peerAttrs) = peer.payload else {
            Issue.record("peer is not a nest"); return
        }
        #expect(header.count == MemoryLayout<ifinfomsg>.size)
        #expect(peerAttrs.first { $0.kind == IFLA_IFNAME }?.data == Array("eth0".utf8) + [0])
        #expect(peerAttrs.first { $0.kind == IFLA_NET_NS_FD }?.data == UInt32(42).nativeBytes)
        #expect(peerAttrs.first { $0.kind == IFLA_MTU }?.data == UInt32(1450).nativeBytes)
        // Nobody asks for IFF_UP in the create request (the peer would fail with ENOTCONN).
        let h = header.withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        #expect(h.ifi_flags == 0 && h.ifi_change == 0)

        // Then a GETLINK by name for the result.
        #expect(fake.sent[1].type == UInt16(RTM_GETLINK))
        #expect(fake.sent[1][IFLA_IFNAME]?.data == Array("veth0".utf8) + [0])
    }

    @Test func bridgePortUsesNestedProtinfoWithAFBridge() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).setBridgePort(index: 9, hairpin: true, isolated: false)
        let req = try #require(fake.sent.first)
        #expect(req.type == UInt16(RTM_SETLINK))
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        #expect(Int32(h.ifi_family) == AF_BRIDGE && h.ifi_index == 9)
        let protinfo = try #require(req.attributes.first)
        #expect(protinfo.type == UInt16(IFLA_PROTINFO) | UInt16(NLA_F_NESTED))
        #expect(protinfo[IFLA_BRPORT_MODE]?.data == [1])
        #expect(protinfo[IFLA_BRPORT_ISOLATED]?.data == [0])
        #expect(protinfo[IFLA_BRPORT_LEARNING] == nil)
    }

    @Test func masterNilDetaches() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        try sock.setMaster(index: 3, master: 8)
        try sock.setMaster(index: 3, master: nil)
        #expect(fake.sent[0][IFLA_MASTER]?.data == UInt32(8).nativeBytes)
        #expect(fake.sent[1][IFLA_MASTER]?.data == UInt32(0).nativeBytes)
    }

    @Test func promiscuousChangesOnlyThatFlag() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        try sock.setPromiscuous(index: 3, true)
        try sock.setPromiscuous(index: 3, false)
        let on = fake.sent[0].header.withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        let off = fake.sent[1].header.withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        #expect(on.ifi_flags == 0x100 && on.ifi_change == 0x100)
        #expect(off.ifi_flags == 0 && off.ifi_change == 0x100)
    }

    @Test func linkLookupReturnsNilOnENODEVAndThrowsOtherwise() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake, namespacePath: "/run/netns/pod")
        fake.replies = [.failure(KernelError(errno: ENODEV, operation: ""))]
        #expect(try sock.link(named: "nope") == nil)
        fake.replies = [.failure(KernelError(errno: EPERM, operation: ""))]
        let e = expectKernelError { _ = try sock.link(named: "eth0") }
        #expect(e?.errno == EPERM)
        #expect(e?.description == "looking up link eth0 in /run/netns/pod: Operation not permitted")
    }

    @Test func errorCarriesOperationLinkNameAndKernelText() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        fake.replies = [
            .failure(KernelError(errno: ERANGE, operation: "", kernelMessage: "MTU too big")),
            .messages([makeLinkMessage(index: 4, name: "eth0")]),  // describeLink's lookup
        ]
        let e = expectKernelError { try sock.setMTU(index: 4, 99999) }
        #expect(e?.description == "setting MTU 99999 on eth0: Numerical result out of range (MTU too big)")
    }

    @Test func kernelErrorHelpers() {
        #expect(KernelError(errno: EEXIST, operation: "x").isExists)
        for e in [ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL] {
            #expect(KernelError(errno: e, operation: "x").isNotFound)
        }
        #expect(!KernelError(errno: EEXIST, operation: "x").isNotFound)
        #expect(KernelError(errno: EEXIST, operation: "adding fd42::5/64 to eth0").description
                == "adding fd42::5/64 to eth0: File exists")
    }

    @Test func decodesExtendedAckFromErrorMessage() {
        // NLMSG_ERROR, flags CAPPED|ACK_TLVS: error -17, echoed header, then NLMSGERR_ATTR_MSG.
        var payload: [UInt8] = Int32(-17).nativeBytes
        payload += [UInt8](repeating: 0, count: 16)  // the request's nlmsghdr
        let text = Array("Address already assigned".utf8) + [0]
        payload += UInt16(4 + text.count).nativeBytes + UInt16(1).nativeBytes + text
        payload += [UInt8](repeating: 0, count: align4(text.count) - text.count)
        let m = NetlinkMessage(type: UInt16(NLMSG_ERROR), flags: 0x300, payload: payload)
        let e = kernelFailure(in: m)
        #expect(e?.errno == EEXIST)
        #expect(e?.kernelMessage == "Address already assigned")

        // Error 0 is an ACK, not a failure.
        #expect(kernelFailure(in: NetlinkMessage(type: UInt16(NLMSG_ERROR), payload: [0, 0, 0, 0] + [UInt8](repeating: 0, count: 16))) == nil)
        // NLMSG_DONE carrying an error (a dump that failed).
        let done = NetlinkMessage(type: UInt16(NLMSG_DONE), payload: Int32(-2).nativeBytes)
        #expect(kernelFailure(in: done)?.errno == ENOENT)
    }

    @Test func decodesLinkMessage() throws {
        let m = makeLinkMessage(index: 12, name: "cni0", kind: "bridge", mac: [2, 0, 0, 0, 0, 0x0a],
                                mtu: 1450, flags: 0x1 | 0x100, master: 3, linkIndex: 7)
        let bytes = [UInt8](UInt32(16 + m.payload.count).nativeBytes) + UInt16(RTM_NEWLINK).nativeBytes
            + [0, 0] + [UInt8](repeating: 0, count: 8) + m.payload
        let link = try #require(NetlinkMessage(bytes: bytes).flatMap(Link.init))
        #expect(link.index == 12 && link.name == "cni0" && link.kind == "bridge")
        #expect(link.mac?.description == "02:00:00:00:00:0a")
        #expect(link.mtu == 1450 && link.isUp && link.isPromiscuous)
        #expect(link.masterIndex == 3 && link.linkIndex == 7)
        #expect(link.operState == .up)
    }

    @Test func attributeListWalksInOrderMasksFlagsAndStopsAtAMalformedTail() {
        // IFLA_IFNAME "ab"; IFLA_MTU 1400; IFLA_LINKINFO with NLA_F_NESTED set; IFLA_LINK with a
        // 2-byte value (too short for a u32); then a header whose length runs past the end.
        var b: [UInt8] = [7, 0, UInt8(IFLA_IFNAME), 0] + Array("ab".utf8) + [0, 0]
        b += [8, 0, UInt8(IFLA_MTU), 0] + UInt32(1400).nativeBytes
        b += [12, 0, UInt8(IFLA_LINKINFO), 0x80] + [8, 0, 1, 0] + Array("veth".utf8)
        b += [6, 0, UInt8(IFLA_LINK), 0, 9, 9, 0, 0]
        b += [40, 0, UInt8(IFLA_MASTER), 0, 1, 0, 0, 0]
        let a = AttributeList([0xff, 0xff] + b, from: 2)
        #expect(a.entries.map(\.kind) == [Int(IFLA_IFNAME), Int(IFLA_MTU), Int(IFLA_LINKINFO), Int(IFLA_LINK)])
        #expect(a.string(Int(IFLA_IFNAME)) == "ab")
        #expect(a.u32(Int(IFLA_MTU)) == 1400 && a.u16(Int(IFLA_MTU)) == 1400)
        #expect(a.nested(Int(IFLA_LINKINFO))?.string(1) == "veth")
        #expect(a[Int(IFLA_LINK)] == [9, 9] && a.u32(Int(IFLA_LINK)) == nil)
        #expect(a[Int(IFLA_MASTER)] == nil)  // past the malformed length
        #expect(a[Int(IFLA_OPERSTATE)] == nil)
        #expect(AttributeList(b, from: b.count + 8).entries.isEmpty)
    }

    @Test func macAddressParsing() {
        #expect(MACAddress("AA:bb:0c:dd:ee:0F")?.description == "aa:bb:0c:dd:ee:0f")
        #expect(MACAddress("aa:bb:cc:dd:ee") == nil)
        #expect(MACAddress("aa:bb:cc:dd:ee:fg") == nil)
        #expect(MACAddress("aaa:b:cc:dd:ee:ff") == nil)
    }
}

extension RouteSocket {
    func addVethForTest(peerFD: Int32) throws -> Link {
        // NetworkNamespace can't be faked; build and send the request directly, as addVeth does.
        let req = LinkRequest.veth(name: "veth0", peerName: "eth0", peerNamespaceFD: peerFD, mtu: 1450,
                                   mac: nil, peerMAC: nil)
        try execute(req) { "creating veth" }
        return try requireLink(named: "veth0")
    }
}

/// An RTM_NEWLINK message as the kernel would send it.
func makeLinkMessage(index: Int32, name: String, kind: String? = nil, mac: [UInt8] = [2, 0, 0, 0, 0, 1],
                     mtu: UInt32 = 1500, flags: UInt32 = 0, master: Int32? = nil, linkIndex: Int32? = nil) -> NetlinkMessage {
    var attrs: [NetlinkAttribute] = [
        .string(IFLA_IFNAME, name), .bytes(IFLA_ADDRESS, mac), .u32(IFLA_MTU, mtu), .u8(IFLA_OPERSTATE, 6),
    ]
    if let kind { attrs.append(.nested(IFLA_LINKINFO, [.string(IFLA_INFO_KIND, kind)])) }
    if let master { attrs.append(.s32(IFLA_MASTER, master)) }
    if let linkIndex { attrs.append(.s32(IFLA_LINK, linkIndex)) }
    let req = NetlinkRequest(type: UInt16(RTM_NEWLINK), header: LinkRequest.header(index: index, flags: flags),
                             attributes: attrs)
    return NetlinkMessage(type: UInt16(RTM_NEWLINK), payload: Array(req.encoded().dropFirst(16)))
}

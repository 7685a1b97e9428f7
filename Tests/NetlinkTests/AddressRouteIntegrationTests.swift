import Foundation
import Glibc
import IPAddressing
import Testing
@testable import Netlink

/// Addresses and routes against the real kernel, checked with `ip -j` (root only).
@Suite(.enabled(if: isRoot, "needs root to create network namespaces"))
struct AddressRouteIntegrationTests {
    /// A namespace with a veth pair whose both ends are up (so the link has carrier and DAD runs).
    func setUpPair(_ ns: TestNamespace) throws -> (RouteSocket, Link, Link) {
        let sock = try ns.socket()
        let a = try sock.addVeth(name: "va", peerName: "vb")
        let b = try #require(try sock.link(named: "vb"))
        try sock.setUp(index: a.index)
        try sock.setUp(index: b.index)
        return (sock, a, b)
    }

    func ipAddrInfo(_ ns: TestNamespace, _ dev: String, _ local: String) throws -> [String: Any]? {
        let l = try ns.ipJSON("-6", "addr", "show", "dev", dev)
        let infos = (l.first?["addr_info"] as? [[String: Any]]) ?? []
        return infos.first { $0["local"] as? String == local }
    }

    @Test func noDADAddressIsUsableAtOnceAndDADAddressIsTentative() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, _) = try setUpPair(ns)

        try sock.addAddress(IPPrefix("fd42:10::5/64")!, index: a.index, flags: .noDAD)
        try sock.addAddress(IPPrefix("fd42:11::5/64")!, index: a.index)  // control: DAD runs

        let ours = try sock.addresses(index: a.index, family: .v6)
        let nodad = try #require(ours.first { $0.prefix == IPPrefix("fd42:10::5/64") })
        #expect(nodad.flags.contains(.noDAD))
        #expect(!nodad.isTentative && !nodad.isDADFailed)
        #expect(nodad.scope == .universe && nodad.index == a.index)
        let dad = try #require(ours.first { $0.prefix == IPPrefix("fd42:11::5/64") })
        #expect(dad.isTentative && !dad.flags.contains(.noDAD))

        // The kernel's view agrees.
        let k1 = try #require(try ipAddrInfo(ns, "va", "fd42:10::5"))
        #expect(k1["nodad"] as? Bool == true)
        #expect(k1["tentative"] == nil)
        #expect(k1["prefixlen"] as? Int == 64)
        let k2 = try #require(try ipAddrInfo(ns, "va", "fd42:11::5"))
        #expect(k2["tentative"] as? Bool == true)
        #expect(k2["nodad"] == nil)
    }

    @Test func addressesAreListedPerLinkAndDeleted() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, b) = try setUpPair(ns)
        try sock.addAddress(IPPrefix("fd42:20::1/64")!, index: a.index, flags: .noDAD)
        try sock.addAddress(IPPrefix("fd42:20::2/64")!, index: b.index, flags: .noDAD)

        let onA = try sock.addresses(index: a.index, family: .v6).map(\.prefix.description)
        #expect(onA.contains("fd42:20::1/64") && !onA.contains("fd42:20::2/64"))
        #expect(try sock.addresses(index: b.index).contains { $0.prefix.description == "fd42:20::2/64" })
        #expect(try sock.addresses().count >= 2)

        try sock.deleteAddress(IPPrefix("fd42:20::1/64")!, index: a.index)
        #expect(try ipAddrInfo(ns, "va", "fd42:20::1") == nil)
        #expect(try ipAddrInfo(ns, "vb", "fd42:20::2") != nil)
        #expect(try !sock.addresses(index: a.index).contains { $0.prefix.description == "fd42:20::1/64" })

        let e = expectKernelError { try sock.deleteAddress(IPPrefix("fd42:20::1/64")!, index: a.index) }
        #expect(e?.errno == EADDRNOTAVAIL && e?.isNotFound == true)
    }

    /// A dump larger than one datagram (the kernel fills one up to 32 kB) arrives whole, with
    /// each datagram read by a single recvmsg into LibnlTransport's buffer.
    @Test func dumpsLongerThanOneDatagramArriveWhole() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, _) = try setUpPair(ns)
        let count = 700  // about 56 kB of RTM_NEWADDR messages
        let batch = (1...count).map { "address add fd42:30::\(String($0, radix: 16))/64 dev va nodad" }
            .joined(separator: "\n") + "\n"
        let file = "/tmp/v6cni-test-addrs.\(getpid())"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(batch.utf8)))
        defer { unlink(file) }
        try ns.ip("-6", "-batch", file)

        let ours = try sock.addresses(index: a.index, family: .v6).map(\.prefix.description).filter { $0.hasPrefix("fd42:30::") }
        let kernel = ((try ns.ipJSON("-6", "addr", "show", "dev", "va").first?["addr_info"] as? [[String: Any]]) ?? [])
            .compactMap { $0["local"] as? String }.filter { $0.hasPrefix("fd42:30::") }
        #expect(ours.count == count && kernel.count == count)
        #expect(Set(ours) == Set(kernel.map { $0 + "/64" }))
        #expect(try sock.addresses().count >= count)
    }

    @Test func duplicateAddressIsEEXISTWithOperationText() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, _) = try setUpPair(ns)
        try sock.addAddress(IPPrefix("fd42::5/64")!, index: a.index, flags: .noDAD)
        let e = expectKernelError { try sock.addAddress(IPPrefix("fd42::5/64")!, index: a.index, flags: .noDAD) }
        #expect(e?.errno == EEXIST)
        #expect(e?.isExists == true)
        #expect(e?.description.hasPrefix("adding fd42::5/64 to va in \(ns.path): File exists") == true)

        let e2 = expectKernelError { try sock.addAddress(IPPrefix("fd42::6/64")!, index: 9999) }
        #expect(e2?.errno == ENODEV && e2?.isNotFound == true)
        #expect(e2?.description.hasPrefix("adding fd42::6/64 to link #9999") == true)
    }

    @Test func routesWithGatewayMetricMTUAdvmssOnLinkReplaceDelete() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, b) = try setUpPair(ns)
        try sock.addAddress(IPPrefix("fd42:30::1/64")!, index: a.index, flags: .noDAD)

        let r = Route(destination: IPPrefix("fd42:99::/48")!, gateway: IPAddress("fd42:30::2"), outputIndex: a.index,
                      metric: 50, mtu: 1400, advmss: 1300)
        try sock.addRoute(r)
        let onlink = Route(destination: IPPrefix("2001:db8:5::/64")!, gateway: IPAddress("fd42:77::1"),
                           outputIndex: b.index, onLink: true)
        try sock.addRoute(onlink)
        let dflt = Route(destination: IPPrefix("::/0")!, gateway: IPAddress("fd42:30::9"), outputIndex: a.index, metric: 10)
        try sock.addRoute(dflt)

        // The kernel's view.
        let kroutes = try ns.ipJSON("-6", "route", "show", "table", "main")
        let k = try #require(kroutes.first { $0["dst"] as? String == "fd42:99::/48" })
        #expect(k["gateway"] as? String == "fd42:30::2")
        #expect(k["dev"] as? String == "va")
        #expect(k["metric"] as? Int == 50)
        let km = (k["metrics"] as? [[String: Any]])?.first
        #expect(km?["mtu"] as? Int == 1400)
        #expect(km?["advmss"] as? Int == 1300)
        let ko = try #require(kroutes.first { $0["dst"] as? String == "2001:db8:5::/64" })
        #expect((ko["flags"] as? [String])?.contains("onlink") == true)
        #expect(ko["gateway"] as? String == "fd42:77::1" && ko["dev"] as? String == "vb")
        let kd = try #require(kroutes.first { $0["dst"] as? String == "default" })
        #expect(kd["gateway"] as? String == "fd42:30::9" && kd["metric"] as? Int == 10)

        // Our view.
        let ours = try sock.routes(family: .v6, table: Route.mainTable)
        let mine = try #require(ours.first { $0.destination == IPPrefix("fd42:99::/48") })
        #expect(mine == r)  // every field, protocol boot included
        let mineOnLink = try #require(ours.first { $0.destination == IPPrefix("2001:db8:5::/64") })
        #expect(mineOnLink.onLink && mineOnLink.gateway == IPAddress("fd42:77::1"))
        #expect(ours.contains { $0.destination.length == 0 && $0.gateway == IPAddress("fd42:30::9") && $0.metric == 10 })
        #expect(ours.contains { $0.destination == IPPrefix("fd42:30::/64") && $0.routeProtocol == .kernel })

        // Filtered by output link.
        let viaB = try sock.routes(outputIndex: b.index)
        #expect(viaB.contains { $0.destination == IPPrefix("2001:db8:5::/64") })
        #expect(!viaB.contains { $0.destination == IPPrefix("fd42:99::/48") })
        #expect(viaB.allSatisfy { $0.outputIndex == b.index })

        // Adding again: EEXIST. Replacing changes the gateway in place.
        let e = expectKernelError { try sock.addRoute(r) }
        #expect(e?.isExists == true)
        #expect(e?.description.hasPrefix("adding route fd42:99::/48 via fd42:30::2 dev va metric 50 in \(ns.path): File exists") == true)
        var r2 = r
        r2.gateway = IPAddress("fd42:30::3")
        r2.mtu = 1380
        try sock.replaceRoute(r2)
        let k2 = try #require(try ns.ipJSON("-6", "route", "show", "fd42:99::/48").first)
        #expect(k2["gateway"] as? String == "fd42:30::3")
        #expect((k2["metrics"] as? [[String: Any]])?.first?["mtu"] as? Int == 1380)
        #expect(try ns.ipJSON("-6", "route", "show", "fd42:99::/48").count == 1)

        // Delete: gone from the kernel; deleting again is ESRCH.
        try sock.deleteRoute(Route(destination: IPPrefix("fd42:99::/48")!))
        #expect(try ns.ipJSON("-6", "route", "show", "fd42:99::/48").isEmpty)
        let e2 = expectKernelError { try sock.deleteRoute(Route(destination: IPPrefix("fd42:99::/48")!)) }
        #expect(e2?.errno == ESRCH && e2?.isNotFound == true)
    }

    /// A pod on two networks gets a default route from each (podman --network a,b): added without
    /// NLM_F_EXCL the kernel merges them into one multipath route, and `routes()` lists one Route
    /// per next hop — so CHECK finds each. Exclusive add of the second is EEXIST, as before.
    @Test func nonExclusiveDefaultRoutesMergeIntoMultipath() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, b) = try setUpPair(ns)
        let viaA = Route(destination: IPPrefix("::/0")!, gateway: IPAddress("fe80::1"), outputIndex: a.index)
        let viaB = Route(destination: IPPrefix("::/0")!, gateway: IPAddress("fe80::1"), outputIndex: b.index)
        try sock.addRoute(viaA, exclusive: false)
        #expect(throws: KernelError.self) { try sock.addRoute(viaB) }
        try sock.addRoute(viaB, exclusive: false)
        #expect(throws: KernelError.self) { try sock.addRoute(viaB, exclusive: false) }  // identical: EEXIST

        let ours = try sock.routes(family: .v6).filter { $0.destination.length == 0 }
        #expect(Set(ours.compactMap(\.outputIndex)) == [a.index, b.index])
        #expect(ours.allSatisfy { $0.gateway == IPAddress("fe80::1") })
        // The kernel's own view: one default route with two next hops.
        let kernel = try ns.ipJSON("-6", "route", "show", "default")
        #expect(kernel.count == 1)
        let hops = (kernel.first?["nexthops"] as? [[String: Any]]) ?? []
        #expect(Set(hops.compactMap { $0["dev"] as? String }) == ["va", "vb"])
    }

    @Test func otherTablesAndMissingTables() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, _) = try setUpPair(ns)
        let r = Route(destination: IPPrefix("fd42:40::/64")!, outputIndex: a.index, table: 1000)
        try sock.addRoute(r)
        let k = try ns.ipJSON("-6", "route", "show", "table", "1000")
        #expect(k.contains { $0["dst"] as? String == "fd42:40::/64" && $0["dev"] as? String == "va" })
        #expect(try sock.routes(table: 1000).contains { $0.destination == IPPrefix("fd42:40::/64") && $0.table == 1000 })
        #expect(try !sock.routes(table: Route.mainTable).contains { $0.destination == IPPrefix("fd42:40::/64") })
        #expect(try sock.routes(table: nil).contains { $0.table == 1000 })
        #expect(try sock.routes(table: 4242).isEmpty)
        #expect(try sock.routes(outputIndex: 9999).isEmpty)
        // This kernel filters dumps itself (NETLINK_GET_STRICT_CHK accepted).
        #expect(sock.transport.filtersDumps)
        try sock.deleteRoute(r)
        #expect(try ns.ipJSON("-6", "route", "show", "table", "1000").isEmpty)
    }

    @Test func kernelExtendedAckTextIsKept() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let (sock, a, _) = try setUpPair(ns)
        try sock.addAddress(IPPrefix("fd42:50::1/64")!, index: a.index, flags: .noDAD)
        let e = expectKernelError {
            try sock.addRoute(Route(destination: IPPrefix("fd42:51::/64")!, gateway: IPAddress("fd42:50::1"), outputIndex: a.index))
        }
        #expect(e?.errno == EINVAL)
        #expect(e?.kernelMessage == "Gateway can not be a local address")
        #expect(e?.description == "adding route fd42:51::/64 via fd42:50::1 dev va in \(ns.path): Invalid argument (Gateway can not be a local address)")
    }
}

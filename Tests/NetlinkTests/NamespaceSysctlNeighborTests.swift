import CLinux
import CNetlink
import Glibc
import IPAddressing
import Testing
@testable import Netlink

/// Proxy neighbours and sysctl keys, no root needed.
@Suite struct NeighborSysctlUnitTests {
    @Test func proxyNeighborRequest() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).addProxyNeighbor(IPAddress("fd42::7")!, index: 5)
        let req = try #require(fake.sent.first)
        #expect(req.type == UInt16(RTM_NEWNEIGH) && req.flags == UInt16(NLM_F_CREATE | NLM_F_EXCL))
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: ndmsg.self) }
        #expect(Int32(h.ndm_family) == AF_INET6 && h.ndm_ifindex == 5)
        #expect(h.ndm_flags == UInt8(NTF_PROXY) && h.ndm_state == UInt16(NUD_PERMANENT))
        #expect(req[NDA_DST]?.data == IPAddress("fd42::7")!.bytes)

        try RouteSocket(transport: fake).deleteProxyNeighbor(IPAddress("fd42::7")!, index: 5)
        #expect(fake.sent[1].type == UInt16(RTM_DELNEIGH))
        let d = fake.sent[1].header.withUnsafeBytes { $0.loadUnaligned(as: ndmsg.self) }
        #expect(d.ndm_flags == UInt8(NTF_PROXY) && d.ndm_ifindex == 5)
    }

    @Test func seedNeighborSkipsWhenTheTableIsFull() throws {
        let fake = FakeTransport()
        let sock = RouteSocket(transport: fake)
        let gw = IPAddress("fd42::1")!, mac = MACAddress(bytes: [2, 0, 0, 0, 0, 1])!
        #expect(try sock.seedNeighbor(gw, mac: mac, index: 4))
        let h = fake.sent[0].header.withUnsafeBytes { $0.loadUnaligned(as: ndmsg.self) }
        #expect(fake.sent[0].type == UInt16(RTM_NEWNEIGH) && h.ndm_state == UInt16(NUD_STALE))
        #expect(fake.sent[0].flags == UInt16(NLM_F_CREATE | NLM_F_REPLACE))

        // ENOBUFS: gc_thresh3 reached (one limit for all namespaces); a hint is skipped, not fatal.
        fake.replies = [.failure(KernelError(errno: ENOBUFS, operation: "x"))]
        #expect(try sock.seedNeighbor(gw, mac: mac, index: 4) == false)
        // Any other failure still surfaces.
        fake.replies = [.failure(KernelError(errno: ENODEV, operation: "x"))]
        let e = expectKernelError { try sock.seedNeighbor(gw, mac: mac, index: 4) }
        #expect(e?.errno == ENODEV)
    }

    @Test func multicastGroupRequest() throws {
        let fake = FakeTransport()
        try RouteSocket(transport: fake).addMulticastGroup(IPAddress("ff02::1:ff00:7")!, bridge: 3, port: 9)
        let req = try #require(fake.sent.first)
        #expect(req.type == UInt16(RTM_NEWMDB) && req.flags == UInt16(NLM_F_CREATE | NLM_F_EXCL))
        let h = req.header.withUnsafeBytes { $0.loadUnaligned(as: br_port_msg.self) }
        #expect(Int32(h.family) == AF_BRIDGE && h.ifindex == 3)
        let raw = try #require(req[Int(MDBA_SET_ENTRY)]?.data)
        #expect(raw.count == MemoryLayout<br_mdb_entry>.size)
        // br_mdb_entry: ifindex u32, state u8, flags u8, vid u16, addr.u (16 bytes), addr.proto be16
        #expect(Array(raw[0..<4]) == [9, 0, 0, 0] && raw[4] == UInt8(MDB_PERMANENT) && raw[5] == 0)
        #expect(Array(raw[8..<24]) == IPAddress("ff02::1:ff00:7")!.bytes)
        #expect(Array(raw[24..<26]) == [0x86, 0xdd])

        // The bridge itself as the member: a host entry, which takes no state.
        try RouteSocket(transport: fake).addMulticastGroup(IPAddress("ff02::1:ff00:1")!, bridge: 3, port: 3)
        let host = try #require(fake.sent[1][Int(MDBA_SET_ENTRY)]?.data)
        #expect(Array(host[0..<4]) == [3, 0, 0, 0] && host[4] == 0)
    }

    @Test func sysctlKeyForms() {
        #expect(Sysctl.path("net.ipv6.conf.eth0.accept_dad") == "/proc/sys/net/ipv6/conf/eth0/accept_dad")
        #expect(Sysctl.path("net/ipv6/conf/eth0.100/accept_dad") == "/proc/sys/net/ipv6/conf/eth0.100/accept_dad")
        #expect(Sysctl.path("/proc/sys/net/ipv6/conf/all/forwarding") == "/proc/sys/net/ipv6/conf/all/forwarding")
    }

    @Test func sysctlReadsAndReportsMissingKeysAsENOENT() throws {
        #expect(try Sysctl.read("kernel/ostype") == "Linux")
        #expect(Sysctl.exists("kernel.ostype"))
        #expect(!Sysctl.exists("net/ipv6/conf/v6nl-no-such-link/accept_dad"))
        let e = expectKernelError { _ = try Sysctl.read("net/ipv6/conf/v6nl-no-such-link/accept_dad") }
        #expect(e?.errno == ENOENT && e?.isNotFound == true)
        #expect(e?.description == "reading net/ipv6/conf/v6nl-no-such-link/accept_dad: No such file or directory")
        let bad = expectKernelError { _ = try Sysctl.read("net/../../etc/passwd") }
        #expect(bad?.errno == EINVAL)
    }

    @Test func namespaceOpenErrors() {
        let e = expectKernelError { _ = try NetworkNamespace.open(path: "/run/netns/v6nl-does-not-exist") }
        #expect(e?.errno == ENOENT && e?.isNotFound == true)
        let e2 = expectKernelError { _ = try NetworkNamespace.open(path: "/proc/self/status") }
        #expect(e2?.errno == EINVAL)
        #expect(e2?.description == "opening network namespace /proc/self/status: Invalid argument (not a namespace file)")
    }
}

/// Namespaces, sysctls and proxy neighbours against the kernel (root only).
@Suite(.enabled(if: isRoot, "needs root to create network namespaces"))
struct NamespaceIntegrationTests {
    @Test func performEntersAndReturns() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let target = ns.namespace
        let (before, inside, after) = try onDedicatedThread { () throws -> (UInt64, UInt64, UInt64) in
            let before = try NetworkNamespace.current().inode
            let inside = try target.perform { try NetworkNamespace.current().inode }
            let after = try NetworkNamespace.current().inode
            return (before, inside, after)
        }
        #expect(inside == target.inode)
        #expect(before == after && before != inside)
        // The test thread itself was never moved.
        #expect(try NetworkNamespace.current().inode == before)
    }

    @Test func performPassesErrorsThroughAndStillReturns() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let target = ns.namespace
        struct Boom: Error {}
        let (threw, back) = try onDedicatedThread { () throws -> (Bool, Bool) in
            let before = try NetworkNamespace.current().inode
            var threw = false
            do { _ = try target.perform { () throws -> Int in throw Boom() } } catch is Boom { threw = true }
            return (threw, try NetworkNamespace.current().inode == before)
        }
        #expect(threw && back)
    }

    @Test func sysctlWritesLandInTheNamespace() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()
        try sock.addVeth(name: "vs0", peerName: "vs1")
        let target = ns.namespace
        let (read, missing) = try onDedicatedThread { () throws -> (String, KernelError?) in
            try target.perform { () throws -> (String, KernelError?) in
                try Sysctl.write("net/ipv6/conf/vs0/accept_dad", "0")
                try Sysctl.write("net.ipv6.conf.vs0.accept_ra", "0")
                let v = try Sysctl.read("net/ipv6/conf/vs0/accept_dad")
                var missing: KernelError? = nil
                do { try Sysctl.write("net/ipv6/conf/vs-none/accept_dad", "0") } catch let e as KernelError { missing = e }
                return (v, missing)
            }
        }
        #expect(read == "0")
        #expect(missing?.errno == ENOENT && missing?.isNotFound == true)
        // The kernel's view from inside the namespace.
        let dad = try run("/usr/sbin/ip", ["netns", "exec", ns.name, "cat", "/proc/sys/net/ipv6/conf/vs0/accept_dad"])
        let ra = try run("/usr/sbin/ip", ["netns", "exec", ns.name, "cat", "/proc/sys/net/ipv6/conf/vs0/accept_ra"])
        #expect(dad.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(ra.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // vs0 does not exist in our own namespace, so nothing could have been written here.
        #expect(!Sysctl.exists("net/ipv6/conf/vs0/accept_dad"))
    }

    /// Through the process's own procfs instance (what the plugins use) and through /proc/sys (its
    /// fallback), keys land in the namespace the directory was opened in.
    @Test(arguments: [true, false]) func sysctlDirectoryKeysLandInItsNamespace(privateRoot: Bool) throws {
        let root = privateRoot ? SysctlRoot.process : SysctlRoot.machine
        #expect(root.isPrivate == privateRoot)
        let ns = try TestNamespace()
        defer { ns.destroy() }
        try ns.socket().addVeth(name: "vd0", peerName: "vd1")
        let target = ns.namespace
        let (ra, exists, missing, escape) = try onDedicatedThread { () throws -> (String, [Bool], KernelError?, KernelError?) in
            try target.perform { () throws -> (String, [Bool], KernelError?, KernelError?) in
                let conf = try SysctlDirectory("net/ipv6/conf", root: root)
                try conf.write("vd0/accept_ra", "0")
                try conf.write("vd1/accept_dad", "0")
                var missing: KernelError? = nil, escape: KernelError? = nil
                do { try conf.write("vd-none/accept_dad", "0") } catch let e as KernelError { missing = e }
                do { _ = try conf.read("../conf/vd0/accept_ra") } catch let e as KernelError { escape = e }
                return (try conf.read("vd0/accept_ra"), [conf.exists("vd0"), conf.exists("vd-none")], missing, escape)
            }
        }
        #expect(ra == "0" && exists == [true, false])
        #expect(missing?.isNotFound == true)
        #expect(missing?.description.hasPrefix("setting net/ipv6/conf/vd-none/accept_dad to 0") == true)
        #expect(escape?.errno == EINVAL)
        let dad = try run("/usr/sbin/ip", ["netns", "exec", ns.name, "cat", "/proc/sys/net/ipv6/conf/vd1/accept_dad"])
        #expect(dad.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(!Sysctl.exists("net/ipv6/conf/vd0"))
        let gone = expectKernelError { _ = try SysctlDirectory("net/ipv6/no-such-dir", root: root) }
        #expect(gone?.isNotFound == true)
    }

    /// The plugins' keys are opened in a procfs instance of their own, not below the machine's
    /// /proc/sys, whose `net/` dentry chain grows with every namespace on the node (SysctlRoot).
    /// The tests run as root, as a runtime runs the plugins, so the instance can be mounted here.
    @Test func processRootIsAProcfsOfItsOwn() throws {
        func target(_ fd: Int32) -> String {
            var buf = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/fd/\(fd)", &buf, buf.count - 1)
            return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        }
        #expect(SysctlRoot.process.isPrivate)
        #expect(!SysctlRoot.machine.isPrivate)
        #expect(target(SysctlRoot.machine.fd) == "/proc/sys")
        // A detached mount has no place in our mount tree: its path is relative to its own root.
        #expect(target(SysctlRoot.process.fd) == "/sys")
        // A second instance is a different superblock from /proc, so its dentries are its own.
        var a = stat(), b = stat()
        #expect(fstat(SysctlRoot.process.fd, &a) == 0 && stat("/proc/sys", &b) == 0)
        #expect(a.st_dev != b.st_dev)
        // And it is the live sysctl tree: the same value as through /proc/sys.
        let viaProc = try run("/usr/bin/cat", ["/proc/sys/net/ipv6/conf/all/forwarding"])
        #expect(try Sysctl.read("net/ipv6/conf/all/forwarding") == viaProc.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// An anonymous namespace made by unshare on a throwaway thread: the socket opened there keeps
    /// working from the test thread, and what it creates is not in the test's own namespace.
    @Test func socketStaysInItsNamespaceWhateverThreadUsesIt() throws {
        let (holder, sock) = try onDedicatedThread { () throws -> (NetworkNamespace, RouteSocket) in
            guard unshare(CLONE_NEWNET) == 0 else { throw KernelError.fromErrno("unshare") }
            return (try NetworkNamespace.current(), try RouteSocket())
        }
        let name = "v6nl-\(getpid())-anon"
        let br = try sock.addBridge(name: name)
        #expect(try sock.link(named: name)?.index == br.index)
        #expect(Set(try sock.links().map(\.name)) == ["lo", name])
        // Read-only check of our own namespace: the bridge is not here.
        #expect(try RouteSocket().link(named: name) == nil)
        // A second socket through the namespace fd sees the same bridge.
        let again = try onDedicatedThread { try holder.routeSocket() }
        #expect(try again.link(named: name)?.index == br.index)
    }

    @Test func proxyNeighbors() throws {
        let ns = try TestNamespace()
        defer { ns.destroy() }
        let sock = try ns.socket()
        let v = try sock.addVeth(name: "vn0", peerName: "vn1")
        let w = try #require(try sock.link(named: "vn1"))
        let addr = IPAddress("fd42:60::7")!
        try sock.addProxyNeighbor(addr, index: v.index)
        try sock.addProxyNeighbor(IPAddress("fd42:60::8")!, index: w.index)

        let k = try ns.ipJSON("-6", "neigh", "show", "proxy")
        #expect(k.contains { $0["dst"] as? String == "fd42:60::7" && $0["dev"] as? String == "vn0" })
        #expect(try sock.proxyNeighbors(index: v.index) == [ProxyNeighbor(address: addr, index: v.index)])
        #expect(try sock.proxyNeighbors().count == 2)

        // Adding it again is fine (the kernel keeps one entry).
        try sock.addProxyNeighbor(addr, index: v.index)
        #expect(try ns.ipJSON("-6", "neigh", "show", "proxy").filter { $0["dst"] as? String == "fd42:60::7" }.count == 1)
        let noLink = expectKernelError { try sock.addProxyNeighbor(addr, index: 9999) }
        #expect(noLink?.errno == ENODEV)
        #expect(noLink?.description.hasPrefix("adding proxy neighbour fd42:60::7 on link #9999 in \(ns.path): No such device") == true)

        try sock.deleteProxyNeighbor(addr, index: v.index)
        #expect(try !ns.ipJSON("-6", "neigh", "show", "proxy").contains { $0["dst"] as? String == "fd42:60::7" })
        let gone = expectKernelError { try sock.deleteProxyNeighbor(addr, index: v.index) }
        #expect(gone?.errno == ENOENT && gone?.isNotFound == true)
    }
}

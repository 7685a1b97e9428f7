import Foundation
import Testing

/// Every option of the reference host-local, through the built binary.
@Suite struct HostLocalOptionsTests {
    @Test func legacyTopLevelRange() throws {
        let f = HostLocalFixture("legacy")
        // rangeStart is the gateway: never handed out.
        let conf = f.config(ipam: """
            "subnet":"2001:db8:5::/64","rangeStart":"2001:db8:5::10","rangeEnd":"2001:db8:5::12","gateway":"2001:db8:5::10"
            """)
        var got: [String] = []
        for n in 0..<2 {
            let out = try f.run("ADD", conf, containerID: "c\(n)")
            #expect((out.json["ips"] as? [[String: Any]])?.first?["gateway"] as? String == "2001:db8:5::10")
            got += HL.addresses(out)
        }
        #expect(got == ["2001:db8:5::11", "2001:db8:5::12"])
        let full = try f.run("ADD", conf, containerID: "c9")
        #expect(full.errorMessage.hasPrefix("no IP addresses available in range set: 2001:db8:5::10-2001:db8:5::12"), "\(full.stdout)")
        #expect(!HL.exists("\(f.netDir)/2001:db8:5::10"))
        #expect(f.leases.count == 2)
    }

    @Test func legacyRangeComesBeforeRanges() throws {
        let f = HostLocalFixture("legacy-order")
        let out = try f.run("ADD", f.config(ipam: """
            "subnet":"10.5.0.0/16","ranges":[[{"subnet":"2001:db8:6::/64"}]]
            """))
        #expect(HL.addresses(out) == ["10.5.0.2", "2001:db8:6::2"])
        #expect(f.lastReserved(0) == "10.5.0.2" && f.lastReserved(1) == "2001:db8:6::2")
    }

    @Test func rangeSetsOneAddressEachAcrossRanges() throws {
        let f = HostLocalFixture("sets")
        let conf = f.config(ipam: """
            "ranges":[[{"subnet":"2001:db8:1::/64","rangeStart":"2001:db8:1::5","rangeEnd":"2001:db8:1::6"},
                       {"subnet":"2001:db8:9::/64","rangeStart":"2001:db8:9::100","rangeEnd":"2001:db8:9::100","gateway":"2001:db8:9::1"}],
                      [{"subnet":"fd00:7::/120"}],
                      [{"subnet":"192.168.7.0/24"}]]
            """)
        var sets: [[String]] = []
        for n in 0..<3 {
            let out = try f.run("ADD", conf, containerID: "c\(n)")
            #expect(out.status == 0, "\(out.stdout)")
            sets.append(HL.addresses(out))
        }
        #expect(sets == [["2001:db8:1::5", "fd00:7::2", "192.168.7.2"],
                         ["2001:db8:1::6", "fd00:7::3", "192.168.7.3"],
                         ["2001:db8:9::100", "fd00:7::4", "192.168.7.4"]])
        #expect(f.leases(of: "c2") == ["192.168.7.4", "2001:db8:9::100", "fd00:7::4"])
        #expect(f.lastReserved(0) == "2001:db8:9::100" && f.lastReserved(2) == "192.168.7.4")
    }

    @Test func routesAreReturnedVerbatim() throws {
        let f = HostLocalFixture("routes")
        let ipam = """
            "subnet":"2001:db8:1::/64",
            "routes":[{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:1::fe","mtu":1400,"advmss":1340,"priority":7,"table":100,"scope":0}]
            """
        let v110 = try f.run("ADD", f.config("1.1.0", ipam: ipam), containerID: "a")
        #expect(HL.canonical(HL.canonical(object: v110.json["routes"] ?? [])) == HL.canonical("""
            [{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:1::fe","mtu":1400,"advmss":1340,"priority":7,"table":100,"scope":0}]
            """))
        let v020 = try f.run("ADD", f.config("0.2.0", ipam: ipam), containerID: "b")
        #expect(HL.canonical(HL.canonical(object: (v020.json["ip6"] as? [String: Any])?["routes"] ?? [])) == HL.canonical("""
            [{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:1::fe"}]
            """))
    }

    @Test func dataDirHoldsOneDirectoryPerNetwork() throws {
        let f = HostLocalFixture("datadir", network: "net-a")
        let g = HostLocalFixture("datadir", network: "net.b_2")
        let custom = "\(f.root)/deeper/still"
        let a = try f.run("ADD", f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"", dataDir: custom))
        let b = try f.run("ADD", g.config(ipam: "\"subnet\":\"2001:db8:1::/64\"", dataDir: custom))
        // Two networks, same subnet: separate stores, same first address.
        #expect(HL.addresses(a) == ["2001:db8:1::2"] && HL.addresses(b) == ["2001:db8:1::2"])
        #expect(HL.text("\(custom)/net-a/2001:db8:1::2") == "ctr1\r\neth0")
        #expect(HL.text("\(custom)/net.b_2/2001:db8:1::2") == "ctr1\r\neth0")
        #expect(HL.listing(custom) == ["net-a", "net.b_2"])
        #expect(HL.mode("\(custom)/net-a") == 0o700)
    }

    @Test func resolvConfFillsDNS() throws {
        let f = HostLocalFixture("dns")
        let path = "\(f.root)/resolv.conf"
        try Data("""
            # generated
            nameserver 2001:db8::53
            nameserver 192.0.2.53
            domain example.com
            search a.example.com b.example.com
            options ndots:2 edns0
            """.utf8).write(to: URL(fileURLWithPath: path))
        let out = try f.run("ADD", f.config(ipam: "\"subnet\":\"2001:db8:1::/64\",\"resolvConf\":\"\(path)\""))
        #expect(HL.canonical(object: out.json["dns"] ?? [:]) == HL.canonical("""
            {"nameservers":["2001:db8::53","192.0.2.53"],"domain":"example.com","search":["a.example.com","b.example.com"],"options":["ndots:2","edns0"]}
            """))
        let missing = try f.run("ADD", f.config(ipam: "\"subnet\":\"2001:db8:1::/64\",\"resolvConf\":\"\(f.root)/nope\""), containerID: "b")
        #expect(missing.errorCode == 7)
        #expect(missing.errorMessage.contains("resolvConf"))
        #expect(f.leases(of: "b").isEmpty)
    }

    @Test func requestedAddressFromEachSource() throws {
        let f = HostLocalFixture("req")
        let ipam = "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"10.1.2.0/24\"}]]"
        // runtimeConfig.ips (the `ips` capability), with a prefix length.
        let r = try f.run("ADD", f.config(ipam: ipam, top: "\"runtimeConfig\":{\"ips\":[\"2001:db8:1::abc/64\"]}"), containerID: "r")
        #expect(HL.addresses(r) == ["2001:db8:1::abc", "10.1.2.2"])
        // args.cni.ips, both families, no prefix.
        let a = try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"10.1.2.77\",\"2001:db8:1::77\"]}}"), containerID: "a")
        #expect(HL.addresses(a) == ["2001:db8:1::77", "10.1.2.77"])
        // CNI_ARGS IP= (kubelet-style, unknown keys ignored).
        let c = try f.run("ADD", f.config(ipam: ipam), containerID: "c",
                          args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IP=2001:db8:1::88")
        #expect(HL.addresses(c) == ["2001:db8:1::88", "10.1.2.78"])
        // args wins over CNI_ARGS.
        let both = try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:1::99\"]}}"), containerID: "d",
                             args: "IP=2001:db8:1::98")
        #expect(HL.addresses(both) == ["2001:db8:1::99", "10.1.2.79"])
        #expect(f.leases["2001:db8:1::abc"] == "r\r\neth0" && f.leases["10.1.2.77"] == "a\r\neth0")
        #expect(f.leases["2001:db8:1::88"] == "c\r\neth0" && f.leases["2001:db8:1::99"] == "d\r\neth0")
        #expect(f.leases["2001:db8:1::98"] == nil)
    }

    @Test func requestedAddressFromAWiderSubnet() throws {
        let f = HostLocalFixture("req48")
        let out = try f.run("ADD", f.config(ipam: """
            "ranges":[[{"subnet":"10.1.2.0/24"}],[{"subnet":"2001:db8:1::/48"}]]
            """, top: "\"args\":{\"cni\":{\"ips\":[\"10.1.2.88\",\"2001:db8:1::999\"]}}"))
        #expect(out.status == 0, "\(out.stdout)")
        #expect(out.json["ips"] as? [[String: String]] == [["address": "10.1.2.88/24", "gateway": "10.1.2.1"],
                                                          ["address": "2001:db8:1::999/48", "gateway": "2001:db8:1::1"]])
    }

    @Test func unfulfilledRequestsFailAndLeaveNothing() throws {
        let f = HostLocalFixture("req-fail")
        let ipam = "\"ranges\":[[{\"subnet\":\"10.1.2.0/24\"}],[{\"subnet\":\"2001:db8:1::/64\"}]]"
        #expect(try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:1::5\"]}}"), containerID: "first").status == 0)
        let before = f.leases

        // Taken: the v4 set (allocated first) is rolled back.
        let taken = try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:1::5\"]}}"), containerID: "x")
        #expect(taken.errorCode == 7)
        #expect(taken.errorMessage.contains("requested IP address 2001:db8:1::5 is not available in range set"), "\(taken.stdout)")
        // Not in any set.
        let nowhere = try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:99::5\"]}}"), containerID: "y")
        #expect(nowhere.errorMessage.contains("failed to allocate all requested IPs"), "\(nowhere.stdout)")
        #expect(nowhere.errorMessage.contains("2001:db8:99::5"))
        // Two requests in one set.
        let two = try f.run("ADD", f.config(ipam: ipam, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:1::6\",\"2001:db8:1::7\"]}}"), containerID: "z")
        #expect(two.errorMessage.contains("failed to allocate all requested IPs"), "\(two.stdout)")
        // The gateway.
        let gw = try f.run("ADD", f.config(ipam: ipam, top: "\"runtimeConfig\":{\"ips\":[\"10.1.2.1\"]}"), containerID: "g")
        #expect(gw.errorCode == 7)
        #expect(gw.errorMessage.contains("gateway"), "\(gw.stdout)")
        // Not an address.
        let junk = try f.run("ADD", f.config(ipam: ipam), containerID: "j", args: "IP=../../etc/passwd")
        #expect(junk.errorCode == 7)

        #expect(f.leases == before)
        #expect(f.indexFiles.keys.sorted() == ["first.65746830"])
    }

    @Test func ipRangesCapabilityIsPrepended() throws {
        let f = HostLocalFixture("iprange")
        let conf = f.config(ipam: "\"ranges\":[[{\"subnet\":\"10.1.2.0/24\"}]]", top: """
            "runtimeConfig":{"ipRanges":[[{"subnet":"2001:db8:77::/64","rangeStart":"2001:db8:77::100"}]]}
            """)
        let out = try f.run("ADD", conf)
        #expect(HL.addresses(out) == ["2001:db8:77::100", "10.1.2.2"])
        #expect(f.lastReserved(0) == "2001:db8:77::100" && f.lastReserved(1) == "10.1.2.2")
        // Only ipRanges, no static ranges at all, is a valid config.
        let only = f.config(ipam: "", top: "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"2001:db8:78::/64\"}]]}")
        #expect(HL.addresses(try f.run("ADD", only, containerID: "o")) == ["2001:db8:78::2"])
        // Overlapping a static range is refused.
        let overlap = f.config(ipam: "\"ranges\":[[{\"subnet\":\"10.1.2.0/24\"}]]",
                               top: "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.1.0.0/16\"}]]}")
        #expect(try f.run("ADD", overlap, containerID: "p").errorCode == 7)
        #expect(f.leases(of: "p").isEmpty)
    }

    @Test func unknownCNIArgsKeyNeedsIgnoreUnknown() throws {
        let f = HostLocalFixture("cniargs")
        let conf = f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"")
        let out = try f.run("ADD", conf, args: "FOO=bar")
        #expect(out.errorCode == 4)
        #expect(out.errorMessage.contains("FOO"))
        #expect(f.untouched)
        #expect(try f.run("ADD", conf, args: "IgnoreUnknown=true;FOO=bar").status == 0)
    }

    @Test func oldVersionsRefuseTwoAddressesOfOneFamily() throws {
        let f = HostLocalFixture("old2")
        let out = try f.run("ADD", f.config("0.2.0", ipam: "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"2001:db8:2::/64\"}]]"))
        #expect(out.errorCode == 7)
        #expect(out.errorMessage == "CNI version 0.2.0 does not support more than 1 address per family")
        #expect(f.untouched)
    }
}

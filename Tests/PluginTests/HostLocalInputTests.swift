import Foundation
import Testing

/// Bad input is refused with the spec's code and leaves the disk untouched: the data directory is
/// never created, and nothing appears next to it (no path escapes `dataDir`).
@Suite struct HostLocalInputTests {
    static let ipam = "\"subnet\":\"2001:db8:1::/64\""

    func expectRefused(_ f: HostLocalFixture, _ config: String, code: Int, mentioning needle: String? = nil,
                       command: String = "ADD", containerID: String = "ctr1", ifname: String = "eth0",
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = try f.run(command, config, containerID: containerID, ifname: ifname)
        #expect(out.status != 0, "\(command) accepted: \(out.stdout)", sourceLocation: sourceLocation)
        #expect(out.errorCode == code, "\(out.stdout)", sourceLocation: sourceLocation)
        if let needle {
            #expect(out.errorMessage.contains(needle), "\(out.errorMessage) should mention \(needle)", sourceLocation: sourceLocation)
        }
        #expect(f.untouched, "files were written: \(HL.listing(f.root))", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["ADD", "DEL", "CHECK", "STATUS", "GC"])
    func malformedJSONIsCode6(_ verb: String) throws {
        let f = HostLocalFixture("bad-json")
        for text in ["{\"cniVersion\":\"1.1.0\",", "not json", "[1,2]", "\"string\"", ""] {
            try expectRefused(f, text, code: 6, command: verb)
        }
    }

    @Test func wrongTypesAreCode7NamingTheField() throws {
        let f = HostLocalFixture("bad-types")
        let cases: [(String, String)] = [
            ("\"ranges\":{\"subnet\":\"2001:db8::/64\"}", "ipam.ranges"),
            ("\"ranges\":[[{\"subnet\":[\"2001:db8::/64\"]}]]", "ipam.ranges[0][0].subnet"),
            ("\"ranges\":[[{\"subnet\":\"2001:db8::/64\",\"rangeStart\":7}]]", "ipam.ranges[0][0].rangeStart"),
            (Self.ipam + ",\"routes\":{\"dst\":\"::/0\"}", "ipam.routes"),
            (Self.ipam + ",\"routes\":[{\"dst\":\"::/0\",\"mtu\":\"big\"}]", "ipam.routes[0].mtu"),
            (Self.ipam + ",\"resolvConf\":true", "ipam.resolvConf"),
            (Self.ipam + ",\"lockTimeout\":\"soon\"", "ipam.lockTimeout"),
            ("\"subnet\":64", "ipam.subnet"),
            ("\"subnet\":\"2001:db8::/64\",\"gateway\":\"2001:db8::zz\"", "ipam.gateway"),
        ]
        for (ipam, field) in cases {
            try expectRefused(f, f.config(ipam: ipam), code: 7, mentioning: "\"\(field)\"")
        }
        let listDataDir = f.config(ipam: Self.ipam).replacingOccurrences(of: "\"dataDir\":\"\(f.dataDir)\"", with: "\"dataDir\":[\"\(f.dataDir)\"]")
        try expectRefused(f, listDataDir, code: 7, mentioning: "\"ipam.dataDir\"")
        try expectRefused(f, f.config(ipam: Self.ipam, top: "\"runtimeConfig\":{\"ips\":\"2001:db8:1::5\"}"), code: 7, mentioning: "runtimeConfig.ips")
        try expectRefused(f, f.config(ipam: Self.ipam, top: "\"args\":{\"cni\":{\"ips\":[5]}}"), code: 7, mentioning: "args.cni.ips[0]")
        try expectRefused(f, "{\"cniVersion\":\"1.0.0\",\"name\":\"mynet\",\"type\":\"host-local6\",\"ipam\":\"host-local6\"}", code: 7, mentioning: "ipam")
        try expectRefused(f, "{\"cniVersion\":1.0,\"name\":\"mynet\",\"ipam\":{}}", code: 6, mentioning: "cniVersion")
    }

    @Test func unknownIpamOptionIsCode2() throws {
        let f = HostLocalFixture("unknown-key")
        try expectRefused(f, f.config(ipam: Self.ipam + ",\"rangeend\":\"2001:db8:1::9\""), code: 2, mentioning: "ipam.rangeend")
    }

    @Test func unknownVersionsAreCode1() throws {
        let f = HostLocalFixture("bad-version")
        for v in ["9.9.9", "1.2.0", "0.5.0", "1.0", "v1.0.0", ""] {
            try expectRefused(f, f.config(v, ipam: Self.ipam), code: 1, mentioning: v.isEmpty ? "cniVersion" : v)
        }
        // CHECK before 0.4.0, STATUS/GC before 1.1.0: code 1 too.
        try expectRefused(f, f.config("0.3.1", ipam: Self.ipam), code: 1, mentioning: "CHECK", command: "CHECK")
        try expectRefused(f, f.config("1.0.0", ipam: Self.ipam), code: 1, mentioning: "STATUS", command: "STATUS")
        try expectRefused(f, f.config("1.0.0", ipam: Self.ipam), code: 1, mentioning: "GC", command: "GC")
    }

    @Test func badPrefixes() throws {
        let f = HostLocalFixture("bad-prefix")
        let cases: [(String, String)] = [
            ("2001:db8:1::1/64", "host bits"),
            ("2001:db8:1:1::/63", "host bits"),
            ("2001:db8::/127", "too small"),
            ("2001:db8::1/128", "too small"),
            ("10.0.0.0/31", "too small"),
            ("10.0.0.1/24", "host bits"),
            ("2001:db8::/129", "ipam.ranges[0][0].subnet"),
            ("2001:db8::/-1", "ipam.ranges[0][0].subnet"),
            ("2001:db8::", "ipam.ranges[0][0].subnet"),
            ("2001:db8:::/64", "ipam.ranges[0][0].subnet"),
            ("::ffff:10.0.0.0/300", "ipam.ranges[0][0].subnet"),
        ]
        for (subnet, needle) in cases {
            try expectRefused(f, f.config(ipam: "\"ranges\":[[{\"subnet\":\"\(subnet)\"}]]"), code: 7, mentioning: needle)
        }
        try expectRefused(f, f.config(ipam: "\"ranges\":[[{\"subnet\":\"2001:db8::/64\",\"rangeStart\":\"2001:db9::1\"}]]"), code: 7, mentioning: "rangeStart")
        try expectRefused(f, f.config(ipam: "\"ranges\":[[{\"subnet\":\"2001:db8::/64\"},{\"subnet\":\"10.0.0.0/8\"}]]"), code: 7, mentioning: "mixed")
        try expectRefused(f, f.config(ipam: "\"ranges\":[[{\"subnet\":\"2001:db8::/64\"}],[{\"subnet\":\"2001:db8::/48\"}]]"), code: 7, mentioning: "overlaps")
        try expectRefused(f, f.config(ipam: "\"ranges\":[]"), code: 7)
        try expectRefused(f, f.config(ipam: ""), code: 7)
    }

    /// Nothing in CNI_CONTAINERID, CNI_IFNAME or the network name can name a path outside `dataDir`.
    @Test func traversalLookingNamesAreRefused() throws {
        let f = HostLocalFixture("traversal")
        let conf = f.config(ipam: Self.ipam)
        for id in ["../../escape", "../escape", "a/b", "/abs", ".hidden", "..", "-x", "a b", "ctr\u{1}", String(repeating: "a", count: 201), "ctr%2F..%2F"] {
            let out = try f.run("ADD", conf, containerID: id)
            #expect(out.status != 0 && out.errorCode == 4, "CNI_CONTAINERID \(id): \(out.stdout)")
            let del = try f.run("DEL", conf, containerID: id)
            #expect(del.status != 0 && del.errorCode == 4, "DEL CNI_CONTAINERID \(id): \(del.stdout)")
        }
        for ifname in ["..", ".", "../x", "a/b", "eth0:1", "a b", "abcdefghijklmnop", "eth\t0"] {
            let out = try f.run("ADD", conf, ifname: ifname)
            #expect(out.status != 0 && out.errorCode == 4, "CNI_IFNAME \(ifname): \(out.stdout)")
        }
        for name in ["..", ".", "../escape", "a/b", "/abs", "", "a\\u0000b", "net\\n", String(repeating: "n", count: 129), ".v6cni"] {
            let c = conf.replacingOccurrences(of: "\"name\":\"mynet\"", with: "\"name\":\"\(name)\"")
            let out = try f.run("ADD", c)
            #expect(out.status != 0 && out.errorCode == 7, "network name \(name): \(out.stdout)")
        }
        for dir in ["relative", "../up", "/tmp/a\\u0000b", ""] {
            let out = try f.run("ADD", f.config(ipam: Self.ipam, dataDir: dir))
            #expect(out.errorCode == 7, "dataDir \(dir): \(out.stdout)")
        }
        #expect(f.untouched, "\(HL.listing(f.root))")
        #expect(!HL.exists("\(f.root)/../escape") && !HL.exists("/tmp/escape") && !HL.exists("/escape"))
        // The longest names that are allowed work, and stay inside the network directory.
        let longID = String(repeating: "c", count: 200)
        let longNet = String(repeating: "n", count: 128)
        let ok = try f.run("ADD", conf.replacingOccurrences(of: "\"name\":\"mynet\"", with: "\"name\":\"\(longNet)\""),
                           containerID: longID, ifname: "abcdefghijklmno")
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(HL.listing(f.dataDir) == [longNet])
        #expect(HL.text("\(f.dataDir)/\(longNet)/2001:db8:1::2") == "\(longID)\r\nabcdefghijklmno")
    }

    @Test func missingEnvironmentIsCode4() throws {
        let f = HostLocalFixture("env")
        let conf = f.config(ipam: Self.ipam)
        let out = try f.run("ADD", conf, env: ["CNI_NETNS": "", "CNI_IFNAME": ""])
        #expect(out.errorCode == 4)
        #expect(out.errorMessage.contains("CNI_NETNS") && out.errorMessage.contains("CNI_IFNAME"))
        let noID = try f.run("ADD", conf, env: ["CNI_CONTAINERID": ""])
        #expect(noID.status != 0)
        #expect(try f.run("BOGUS", conf).errorCode == 4)
        #expect(f.untouched)
    }

    /// More than 1 MiB on stdin is refused (code 7) without being parsed; exactly 1 MiB is read.
    @Test func oversizedStdinIsRefused() throws {
        let f = HostLocalFixture("big")
        let limit = 1 << 20
        func padded(to size: Int) -> String {
            let conf = f.config(ipam: Self.ipam)
            let prefix = "{\"pad\":\""
            let suffix = "\"," + conf.dropFirst()
            return prefix + String(repeating: "x", count: size - prefix.utf8.count - suffix.utf8.count) + suffix
        }
        let tooBig = padded(to: limit + 1)
        #expect(tooBig.utf8.count == limit + 1)
        let p = try SpawnedPlugin.hostLocal("ADD", containerID: "big", config: tooBig)
        let out = p.wait()
        #expect(out.code == 1, "\(out.stdout)")
        #expect(out.errorCode == 7, "\(out.stdout)")
        #expect((out.json["msg"] as? String ?? "").contains("larger than"))
        #expect(f.untouched)

        // Far more than the limit: refused early, never hangs.
        let huge = try SpawnedPlugin.hostLocal("ADD", containerID: "big", config: String(repeating: " ", count: 8 << 20))
        #expect(huge.wait().errorCode == 7)

        let exact = padded(to: limit)
        let okOut = try SpawnedPlugin.hostLocal("ADD", containerID: "big", config: exact).wait()
        #expect(okOut.code == 0, "\(okOut.stdout)")
        #expect(f.leases == ["2001:db8:1::2": "big\r\neth0"])
    }
}

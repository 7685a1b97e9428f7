import Testing
import IPAddressing
@testable import CNI
@testable import IPAM

/// `HostLocalConfig`: option parsing, defaults and validation (config_test.go), no disk access.
@Suite struct HostLocalConfigTests {
    /// A network config with `ipam` members (JSON text without braces) and optional top-level members.
    func conf(_ ipam: String, version: String = "1.0.0", top: String = "") -> String {
        "{\"cniVersion\":\"\(version)\",\"name\":\"net\",\"type\":\"host-local6\"\(top.isEmpty ? "" : "," + top),\"ipam\":{\"type\":\"host-local6\"\(ipam.isEmpty ? "" : "," + ipam)}}"
    }

    func load(_ text: String, cniArgs: String? = nil) throws -> HostLocalConfig {
        try HostLocalConfig(request: try request(text, cniArgs: cniArgs))
    }

    func loadError(_ text: String, cniArgs: String? = nil) -> CNIError? {
        cniError { _ = try load(text, cniArgs: cniArgs) }
    }

    @Test func defaults() throws {
        let c = try load(conf("\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}]]"))
        #expect(c.dataDir == "/var/lib/cni/networks")
        #expect(c.lockTimeout == 10)
        #expect(c.resolvConf == nil)
        #expect(c.routes.isEmpty)
        #expect(c.requestedIPs.isEmpty)
        #expect(c.rangeSets.count == 1)
        #expect(c.rangeSets[0][0].start == ip("2001:db8:1::1"))
        #expect(c.rangeSets[0][0].gateway == ip("2001:db8:1::1"))
    }

    @Test func everyOption() throws {
        let c = try load(conf("""
            "ranges":[[{"subnet":"10.1.2.0/24"},{"subnet":"10.2.2.0/24","rangeStart":"10.2.2.10","rangeEnd":"10.2.2.20","gateway":"10.2.2.254"}],[{"subnet":"2001:db8:1::/64"}]],
            "routes":[{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:3::1","mtu":1400,"priority":5}],
            "dataDir":"/tmp/x","resolvConf":"/etc/resolv.conf","lockTimeout":2.5
            """))
        #expect(c.rangeSets.count == 2)
        #expect(c.rangeSets[0].count == 2)
        #expect(c.rangeSets[0][1].start == ip("10.2.2.10") && c.rangeSets[0][1].end == ip("10.2.2.20"))
        #expect(c.rangeSets[0][1].gateway == ip("10.2.2.254"))
        #expect(c.routes == [CNIResult.Route(dst: prefix("::/0")),
                             CNIResult.Route(dst: prefix("2001:db8:2::/64"), gw: ip("2001:db8:3::1"), mtu: 1400, priority: 5)])
        #expect(c.dataDir == "/tmp/x")
        #expect(c.resolvConf == "/etc/resolv.conf")
        #expect(c.lockTimeout == 2.5)
    }

    @Test func legacySubnetIsSetZeroAndRuntimeRangesComeFirst() throws {
        let c = try load(conf("""
            "subnet":"2001:db8:9::/64","rangeStart":"2001:db8:9::10","rangeEnd":"2001:db8:9::20","gateway":"2001:db8:9::fe",
            "ranges":[[{"subnet":"2001:db8:1::/64"}]]
            """, top: "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"2001:db8:7::/64\"}],[{\"subnet\":\"10.7.0.0/16\"}]]}"))
        #expect(c.rangeSets.map { $0[0].subnet } == [prefix("2001:db8:7::/64"), prefix("10.7.0.0/16"),
                                                      prefix("2001:db8:9::/64"), prefix("2001:db8:1::/64")])
        let legacy = c.rangeSets[2][0]
        #expect(legacy.start == ip("2001:db8:9::10") && legacy.end == ip("2001:db8:9::20") && legacy.gateway == ip("2001:db8:9::fe"))
    }

    @Test func legacySubnetAlone() throws {
        let c = try load(conf("\"subnet\":\"10.9.0.0/16\""))
        #expect(c.rangeSets.count == 1)
        #expect(c.rangeSets[0][0].end == ip("10.9.255.254"))
    }

    @Test func noRanges() {
        #expect(loadError(conf(""))?.msg.contains("no IP ranges") == true)
        #expect(loadError(conf("\"ranges\":[]"))?.code == 7)
        #expect(loadError(conf("\"ranges\":[[]]"))?.msg.contains("empty range set") == true)
        #expect(loadError("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"host-local6\"}")?.msg.contains("ipam") == true)
    }

    @Test func mixedFamiliesInOneSet() {
        let e = loadError(conf("\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"},{\"subnet\":\"10.0.0.0/24\"}]]"))
        #expect(e?.code == 7)
        #expect(e?.msg.contains("mixed address families") == true)
    }

    @Test func overlapsWithinAndAcrossSets() {
        let within = loadError(conf("\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"},{\"subnet\":\"2001:db8:1::/64\",\"rangeStart\":\"2001:db8:1::5\"}]]"))
        #expect(within?.code == 7)
        #expect(within?.msg.contains("overlaps") == true)
        let across = loadError(conf("\"ranges\":[[{\"subnet\":\"2001:db8::/48\"}],[{\"subnet\":\"2001:db8:0:1::/64\"}]]"))
        #expect(across?.msg.contains("overlaps") == true)
        let legacyVsRanges = loadError(conf("\"subnet\":\"2001:db8:1::/64\",\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}]]"))
        #expect(legacyVsRanges?.msg.contains("overlaps") == true)
        // Disjoint ranges of one subnet in two sets are fine.
        #expect(loadError(conf("\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\",\"rangeEnd\":\"2001:db8:1::ff\"}],[{\"subnet\":\"2001:db8:1::/64\",\"rangeStart\":\"2001:db8:1::100\"}]]")) == nil)
    }

    @Test func oldVersionsAllowOneAddressPerFamily() throws {
        let two6 = "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"2001:db8:2::/64\"}]]"
        for v in ["0.1.0", "0.2.0"] {
            let e = loadError(conf(two6, version: v))
            #expect(e?.code == 7)
            #expect(e?.msg == "CNI version \(v) does not support more than 1 address per family")
            #expect(try load(conf("\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"2001:db8:2::/64\"}]]", version: v)).rangeSets.count == 2)
        }
        #expect(try load(conf(two6, version: "0.3.0")).rangeSets.count == 2)
    }

    @Test func requestedAddresses() throws {
        let ranges = "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"10.0.0.0/24\"}]]"
        let both = try load(conf(ranges, top: """
            "runtimeConfig":{"ips":["2001:db8:1::5/64"]},"args":{"cni":{"ips":["10.0.0.5"," 2001:db8:1::5 "]}}
            """), cniArgs: "IP=2001:db8:1::99")
        // runtimeConfig and args merged (duplicates once); CNI_ARGS ignored when `args` is given.
        #expect(both.requestedIPs == [ip("2001:db8:1::5"), ip("10.0.0.5")])
        let cniArgs = try load(conf(ranges), cniArgs: "IgnoreUnknown=1;IP=2001:db8:1::99,10.0.0.9")
        #expect(cniArgs.requestedIPs == [ip("2001:db8:1::99"), ip("10.0.0.9")])
        let bad = loadError(conf(ranges, top: "\"args\":{\"cni\":{\"ips\":[\"2001:db8:1::zz\"]}}"))
        #expect(bad?.code == 7)
        #expect(bad?.msg.contains("args.cni.ips") == true && bad?.msg.contains("2001:db8:1::zz") == true)
        let badRuntime = loadError(conf(ranges, top: "\"runtimeConfig\":{\"ips\":[\"x\"]}"))
        #expect(badRuntime?.msg.contains("runtimeConfig.ips") == true)
    }

    @Test func wrongTypesNameTheField() {
        let cases: [(String, String)] = [
            ("\"ranges\":\"2001:db8::/64\"", "ipam.ranges"),
            ("\"ranges\":[[{\"subnet\":64}]]", "ipam.ranges[0][0].subnet"),
            ("\"ranges\":[[{\"subnet\":\"2001:db8::/129\"}]]", "ipam.ranges[0][0].subnet"),
            ("\"ranges\":[[{\"subnet\":\"2001:db8::/64\",\"gateway\":\"nope\"}]]", "ipam.ranges[0][0].gateway"),
            ("\"subnet\":\"2001:db8::/64\",\"dataDir\":5", "ipam.dataDir"),
            ("\"subnet\":\"2001:db8::/64\",\"lockTimeout\":\"10\"", "ipam.lockTimeout"),
            ("\"subnet\":\"2001:db8::/64\",\"routes\":[{\"dst\":\"::/0\",\"gw\":1}]", "ipam.routes[0].gw"),
            ("\"subnet\":\"2001:db8::/64\",\"routes\":[{\"gw\":\"::1\"}]", "ipam.routes[0].dst"),
        ]
        for (ipam, field) in cases {
            let e = loadError(conf(ipam))
            #expect(e?.code == 7, "\(ipam)")
            #expect(e?.msg.contains("\"\(field)\"") == true, "\(ipam): \(e?.msg ?? "no error")")
        }
    }

    @Test func unknownIpamKeyIsCode2() {
        let e = loadError(conf("\"subnet\":\"2001:db8::/64\",\"rangestart\":\"2001:db8::5\""))
        #expect(e?.code == 2)
        #expect(e?.msg.contains("ipam.rangestart") == true)
    }

    @Test func dataDirAndLockTimeoutBounds() {
        #expect(loadError(conf("\"subnet\":\"2001:db8::/64\",\"dataDir\":\"relative/dir\""))?.msg.contains("ipam.dataDir") == true)
        #expect(loadError(conf("\"subnet\":\"2001:db8::/64\",\"dataDir\":\"/tmp/a\\u0000b\""))?.code == 7)
        #expect(loadError(conf("\"subnet\":\"2001:db8::/64\",\"lockTimeout\":0"))?.msg.contains("ipam.lockTimeout") == true)
        #expect(loadError(conf("\"subnet\":\"2001:db8::/64\",\"lockTimeout\":-1"))?.code == 7)
        #expect(loadError(conf("\"subnet\":\"2001:db8::/64\",\"lockTimeout\":601"))?.code == 7)
    }
}

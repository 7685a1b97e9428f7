import Foundation
import Testing

/// host-local6 ADD / DEL / CHECK / STATUS / GC / VERSION as a runtime runs them: the built binary,
/// CNI_* environment, config on stdin; asserting on stdout JSON and on the files in `dataDir`.
@Suite struct HostLocalVerbTests {
    /// The reference host_local_test.go network: a v4 set of two ranges and a v6 set.
    static let dualStack = """
        "ranges":[[{"subnet":"10.1.2.0/24"},{"subnet":"10.2.2.0/24"}],[{"subnet":"2001:db8:1::/64"}]],
        "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:3::1"}]
        """

    static func expectedDualStackResult(_ v: String) -> String {
        let legacy = v == "0.1.0" || v == "0.2.0"
        if legacy {
            return """
                {"cniVersion":"\(v)",
                 "ip4":{"ip":"10.1.2.2/24","gateway":"10.1.2.1","routes":[{"dst":"0.0.0.0/0"}]},
                 "ip6":{"ip":"2001:db8:1::2/64","gateway":"2001:db8:1::1","routes":[{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:3::1"}]}}
                """
        }
        let version4 = v.hasPrefix("0.") ? "\"version\":\"4\"," : ""
        let version6 = v.hasPrefix("0.") ? "\"version\":\"6\"," : ""
        return """
            {"cniVersion":"\(v)",
             "ips":[{\(version4)"address":"10.1.2.2/24","gateway":"10.1.2.1"},{\(version6)"address":"2001:db8:1::2/64","gateway":"2001:db8:1::1"}],
             "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"},{"dst":"2001:db8:2::/64","gw":"2001:db8:3::1"}]}
            """
    }

    @Test(arguments: HL.versions)
    func addCheckDelPerVersion(_ v: String) throws {
        let f = HostLocalFixture("verbs")
        let conf = f.config(v, ipam: Self.dualStack)
        let add = try f.run("ADD", conf, containerID: "dummy")
        #expect(add.status == 0, "\(add.stdout)")
        #expect(HL.canonical(add.stdout) == HL.canonical(Self.expectedDualStackResult(v)))
        #expect(add.stderr.isEmpty, "\(add.stderr)")

        // The reference layout, byte for byte.
        #expect(f.leases == ["10.1.2.2": "dummy\r\neth0", "2001:db8:1::2": "dummy\r\neth0"])
        #expect(f.lastReserved(0) == "10.1.2.2")
        #expect(f.lastReserved(1) == "2001:db8:1::2")
        #expect(HL.exists("\(f.netDir)/lock"))
        #expect(HL.mode(f.netDir) == 0o700)
        for name in HL.listing(f.netDir) where name != ".v6cni" {
            #expect(HL.mode("\(f.netDir)/\(name)") == 0o600, "\(name)")
        }
        #expect(f.indexFiles == ["dummy.65746830": ["10.1.2.2", "2001:db8:1::2"]])

        // CHECK: from 0.4.0, with the ADD result as prevResult; refused (code 1) before.
        let withPrev = try Self.config(conf, prevResult: add.stdout)
        let check = try f.run("CHECK", withPrev, containerID: "dummy")
        if v == "0.4.0" || v.hasPrefix("1.") {
            #expect(check.status == 0 && check.stdout.isEmpty, "\(check.stdout)")
        } else {
            #expect(check.errorCode == 1, "\(check.stdout)")
            #expect(check.errorMessage.contains("CHECK"))
        }

        // DEL frees both files (and the index entry); a second DEL is fine.
        let del = try f.run("DEL", v >= "0.4.0" ? withPrev : conf, containerID: "dummy")
        #expect(del.status == 0 && del.stdout.isEmpty, "\(del.stdout)")
        #expect(f.leases.isEmpty)
        #expect(f.indexFiles.isEmpty)
        #expect(try f.run("DEL", conf, containerID: "dummy").status == 0)
        // last_reserved_ip stays: the next ADD continues after it.
        let next = try f.run("ADD", conf, containerID: "dummy2")
        #expect(HL.addresses(next) == ["10.1.2.3", "2001:db8:1::3"])
    }

    /// Our results equal the reference plugin's for every version both speak (it prints an empty
    /// `"dns":{}` we leave out).
    @Test(.enabled(if: HL.referenceAvailable), arguments: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"])
    func sameResultAsTheReference(_ v: String) throws {
        let ours = HostLocalFixture("same-ours"), ref = HostLocalFixture("same-ref")
        for n in 1...2 {
            let a = try ours.run("ADD", ours.config(v, ipam: Self.dualStack), containerID: "c\(n)")
            let b = try ref.runReference("ADD", ref.referenceConfig(v, ipam: Self.dualStack), containerID: "c\(n)")
            #expect(a.status == 0 && b.status == 0, "\(a.stdout) / \(b.stdout)")
            #expect(HL.withoutEmptyDNS(a.stdout) == HL.withoutEmptyDNS(b.stdout))
        }
        #expect(ours.leases == ref.leases)
        #expect(ours.lastReserved(0) == ref.lastReserved(0) && ours.lastReserved(1) == ref.lastReserved(1))
    }

    /// No `cniVersion` means 0.1.0: a 0.1.0 result, and no CHECK/STATUS/GC.
    @Test func missingVersionIs010() throws {
        let f = HostLocalFixture("noversion")
        let conf = f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"").replacingOccurrences(of: "\"cniVersion\":\"1.0.0\",", with: "")
        #expect(!conf.contains("cniVersion"))
        let add = try f.run("ADD", conf)
        #expect(HL.canonical(add.stdout) == HL.canonical("{\"cniVersion\":\"0.1.0\",\"ip6\":{\"ip\":\"2001:db8:1::2/64\",\"gateway\":\"2001:db8:1::1\"}}"))
        for verb in ["CHECK", "STATUS", "GC"] { #expect(try f.run(verb, conf).errorCode == 1, "\(verb)") }
        #expect(try f.run("DEL", conf).status == 0)
        #expect(f.leases.isEmpty)
    }

    @Test func ipv6OnlyLegacyResultHasNoIp4() throws {
        let f = HostLocalFixture("v6only")
        let add = try f.run("ADD", f.config("0.2.0", ipam: "\"subnet\":\"fd00:10::/64\""))
        #expect(HL.canonical(add.stdout) == HL.canonical("{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"fd00:10::2/64\",\"gateway\":\"fd00:10::1\"}}"))
    }

    @Test func duplicateAddIsRefusedOtherIfnameAndIdGetTheNextAddress() throws {
        let f = HostLocalFixture("dup")
        let conf = f.config(ipam: "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}]]")
        #expect(HL.addresses(try f.run("ADD", conf, containerID: "a")) == ["2001:db8:1::2"])
        let dup = try f.run("ADD", conf, containerID: "a")
        #expect(dup.errorCode == 7)
        #expect(dup.errorMessage.contains("2001:db8:1::2") && dup.errorMessage.contains("duplicate"))
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0"])
        #expect(f.lastReserved(0) == "2001:db8:1::2")
        #expect(HL.addresses(try f.run("ADD", conf, containerID: "a", ifname: "net1")) == ["2001:db8:1::3"])
        #expect(HL.addresses(try f.run("ADD", conf, containerID: "b")) == ["2001:db8:1::4"])
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0", "2001:db8:1::3": "a\r\nnet1", "2001:db8:1::4": "b\r\neth0"])
        // DEL is per (container, ifname).
        #expect(try f.run("DEL", conf, containerID: "a", ifname: "net1").status == 0)
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0", "2001:db8:1::4": "b\r\neth0"])
    }

    @Test func delOfUnknownContainerIsSuccess() throws {
        let f = HostLocalFixture("del-unknown")
        let conf = f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"")
        // Nothing on disk yet, then a store holding someone else's lease.
        #expect(try f.run("DEL", conf, containerID: "ghost").status == 0)
        #expect(try f.run("ADD", conf, containerID: "real").status == 0)
        let del = try f.run("DEL", conf, containerID: "ghost", env: ["CNI_NETNS": ""])  // netns optional for DEL
        #expect(del.status == 0 && del.stdout.isEmpty, "\(del.stdout)")
        #expect(f.leases == ["2001:db8:1::2": "real\r\neth0"])
    }

    @Test func checkFailsWhenTheLeaseIsGoneOrDiffers() throws {
        let f = HostLocalFixture("check")
        let conf = f.config("1.0.0", ipam: "\"subnet\":\"2001:db8:1::/64\"")
        let add = try f.run("ADD", conf)
        #expect(try f.run("CHECK", conf).status == 0)  // no prevResult: the lease must exist
        // prevResult naming an address we did not lease (inside our range) fails…
        let wrong = try Self.config(conf, prevResult: "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"2001:db8:1::99/64\"}]}")
        let bad = try f.run("CHECK", wrong)
        #expect(bad.status != 0 && bad.errorCode != nil)
        #expect(bad.errorMessage.contains("2001:db8:1::99"))
        // …while addresses from other plugins (outside our ranges) are not ours to judge.
        let other = try Self.config(conf, prevResult: "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"2001:db8:1::2/64\"},{\"address\":\"fd00::5/64\"}]}")
        #expect(try f.run("CHECK", other).status == 0)
        // A lease file removed behind our back (the reference's DEL, an admin) makes CHECK fail.
        try FileManager.default.removeItem(atPath: "\(f.netDir)/2001:db8:1::2")
        let gone = try f.run("CHECK", try Self.config(conf, prevResult: add.stdout))
        #expect(gone.status != 0 && gone.errorCode != nil, "\(gone.stdout)")
        // After DEL, CHECK fails too.
        #expect(try f.run("DEL", conf).status == 0)
        #expect(try f.run("CHECK", conf).status != 0)
        #expect(f.leases.isEmpty)
    }

    @Test func statusReportsReadinessWritabilityAndExhaustion() throws {
        let f = HostLocalFixture("status")
        let conf = f.config("1.1.0", ipam: "\"ranges\":[[{\"subnet\":\"2001:db8:1::/126\"}],[{\"subnet\":\"10.9.9.0/30\"}]]")
        let ok = try f.run("STATUS", conf, env: ["CNI_CONTAINERID": "", "CNI_IFNAME": "", "CNI_NETNS": ""])
        #expect(ok.status == 0 && ok.stdout.isEmpty, "\(ok.stdout)")
        // The v4 /30 has one usable address: after one ADD its set is exhausted.
        #expect(try f.run("ADD", conf, containerID: "a").status == 0)
        let full = try f.run("STATUS", conf)
        #expect(full.status != 0)
        #expect(full.errorCode == 50, "\(full.stdout)")
        #expect(full.errorMessage.contains("range set 1"))
        #expect(f.leases.count == 2)  // STATUS reads, never writes
        // A second ADD fails (set 1 exhausted) and leaves nothing behind in set 0.
        let second = try f.run("ADD", conf, containerID: "b")
        #expect(second.status != 0)
        #expect(second.errorMessage.contains("no IP addresses available"), "\(second.stdout)")
        #expect(f.leases(of: "b").isEmpty)
        #expect(f.indexFiles.keys.sorted() == ["a.65746830"])
        #expect(try f.run("DEL", conf, containerID: "a").status == 0)
        #expect(try f.run("STATUS", conf).status == 0)

        // The v6 /126 has two (::1 is the gateway).
        let v6 = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:2::/126\"")
        #expect(try f.run("ADD", v6, containerID: "x").status == 0)
        #expect(try f.run("STATUS", v6).status == 0)
        #expect(try f.run("ADD", v6, containerID: "y").status == 0)
        #expect(try f.run("STATUS", v6).errorCode == 50)
    }

    @Test func statusWhenTheDataDirCannotBeWritten() throws {
        let f = HostLocalFixture("status-ro")
        // A regular file where the data directory should be: cannot be created even by root.
        FileManager.default.createFile(atPath: "\(f.root)/file", contents: Data("x".utf8))
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"", dataDir: "\(f.root)/file/data")
        let out = try f.run("STATUS", conf)
        #expect(out.status != 0)
        #expect(out.errorCode == 50, "\(out.stdout)")
        #expect(HL.listing(f.root) == ["file"])
    }

    @Test(arguments: ["0.1.0", "0.2.0", "0.3.1", "0.4.0", "1.0.0"])
    func statusAndGCNeedVersion110(_ v: String) throws {
        let f = HostLocalFixture("verb-version")
        let conf = f.config(v, ipam: "\"subnet\":\"2001:db8:1::/64\"", top: "\"cni.dev/valid-attachments\":[]")
        for verb in ["STATUS", "GC"] {
            let out = try f.run(verb, conf)
            #expect(out.errorCode == 1, "\(verb) \(v): \(out.stdout)")
            #expect(out.errorMessage.contains(verb))
        }
        #expect(f.untouched)
    }

    /// GC frees every lease whose (containerID, ifname) is not in the valid set.
    @Test func gcReleasesWhatIsNotValid() throws {
        let f = HostLocalFixture("gc")
        let ipam = "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"10.1.0.0/24\"}]]"
        let conf = f.config("1.1.0", ipam: ipam)
        for (id, ifname) in [("a", "eth0"), ("a", "net1"), ("b", "eth0"), ("c", "eth0")] {
            #expect(try f.run("ADD", conf, containerID: id, ifname: ifname).status == 0)
        }
        // A legacy ID-only lease (pre-0.7 reference) of container d, and one of container e.
        try Data("d".utf8).write(to: URL(fileURLWithPath: "\(f.netDir)/2001:db8:1::ff"))
        try Data("e".utf8).write(to: URL(fileURLWithPath: "\(f.netDir)/2001:db8:1::fe"))
        #expect(f.leases.count == 10)

        // Key absent (cnitool gc): nothing is released.
        #expect(try f.run("GC", conf, env: ["CNI_CONTAINERID": "", "CNI_IFNAME": "", "CNI_NETNS": ""]).status == 0)
        #expect(f.leases.count == 10)

        // a/eth0 and b/eth0 and container d stay; a/net1, c, e go.
        let gc = f.config("1.1.0", ipam: ipam, top: """
            "cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"},{"containerID":"b","ifname":"eth0"},{"containerID":"d","ifname":"eth0"}]
            """)
        let out = try f.run("GC", gc)
        #expect(out.status == 0 && out.stdout.isEmpty, "\(out.stdout)")
        #expect(Set(f.leases.values) == ["a\r\neth0", "b\r\neth0", "d"])
        #expect(f.leases.count == 5)
        #expect(f.leases(of: "c").isEmpty && f.leases(of: "e").isEmpty)
        #expect(!f.leases.values.contains("a\r\nnet1"))

        // The store is consistent afterwards: duplicates still refused, freed owners can ADD again,
        // DEL still finds what GC kept.
        #expect(try f.run("ADD", conf, containerID: "a").errorCode == 7)
        #expect(try f.run("ADD", conf, containerID: "c").status == 0)
        #expect(try f.run("DEL", conf, containerID: "b").status == 0)
        #expect(f.leases(of: "b").isEmpty)
        #expect(try f.run("DEL", conf, containerID: "d").status == 0)
        #expect(f.leases(of: "d").isEmpty)
        #expect(Set(f.leases.values) == ["a\r\neth0", "c\r\neth0"])
    }

    /// A lease file that names nobody (the reference creates a lease, then writes it: a crash in
    /// between leaves it empty) blocks its address until GC frees it.
    @Test func gcFreesOwnerlessLeaseFiles() throws {
        let f = HostLocalFixture("gc-ownerless")
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"")
        #expect(try f.run("ADD", conf, containerID: "a").status == 0)
        FileManager.default.createFile(atPath: "\(f.netDir)/2001:db8:1::3", contents: Data())
        FileManager.default.createFile(atPath: "\(f.netDir)/2001:db8:1::4", contents: Data(" \r\n".utf8))
        #expect(HL.addresses(try f.run("ADD", conf, containerID: "b")) == ["2001:db8:1::5"])
        #expect(try f.run("GC", conf).status == 0)  // no valid set: nothing released
        #expect(f.leases.count == 4)
        let gc = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"", top: """
            "cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"},{"containerID":"b","ifname":"eth0"}]
            """)
        #expect(try f.run("GC", gc).status == 0)
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0", "2001:db8:1::5": "b\r\neth0"])
    }

    /// A writer killed mid-write leaves `.v6cni/.tmp-<pid>` or `.tmp-<pid>-lease`; GC removes those of dead
    /// processes only.
    @Test func gcRemovesTemporaryFilesOfDeadWriters() throws {
        let f = HostLocalFixture("gc-tmp")
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"")
        #expect(try f.run("ADD", conf, containerID: "a").status == 0)
        let dead = "\(f.indexDir)/.tmp-2147483646"        // no such process
        let deadLease = "\(f.indexDir)/.tmp-2147483646-lease"
        let alive = "\(f.indexDir)/.tmp-\(getpid())"       // this test process
        let aliveLease = "\(f.indexDir)/.tmp-\(getpid())-lease"
        for path in [dead, deadLease, alive, aliveLease] { FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        let gc = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"", top: """
            "cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]
            """)
        #expect(try f.run("GC", gc).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dead) && !FileManager.default.fileExists(atPath: deadLease))
        #expect(FileManager.default.fileExists(atPath: alive) && FileManager.default.fileExists(atPath: aliveLease))
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0"])
    }

    /// I/O failures are code 5 (the spec's), not an internal error.
    @Test func ioFailuresAreCode5() throws {
        let f = HostLocalFixture("io")
        let conf = f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"")
        #expect(try f.run("ADD", conf, containerID: "a").status == 0)
        try FileManager.default.removeItem(atPath: "\(f.indexDir)/seen")
        try FileManager.default.createDirectory(atPath: "\(f.indexDir)/seen", withIntermediateDirectories: false)
        for verb in ["ADD", "DEL", "CHECK"] {
            let out = try f.run(verb, conf, containerID: "b")
            #expect(out.errorCode == 5, "\(verb): \(out.stdout)")
            #expect(out.errorMessage.contains(".v6cni/seen"))
        }
        let dns = try f.run("ADD", f.config(ipam: "\"subnet\":\"2001:db8:1::/64\",\"resolvConf\":\"\(f.root)\""), containerID: "c")
        #expect(dns.errorCode == 5, "\(dns.stdout)")
        #expect(f.leases == ["2001:db8:1::2": "a\r\neth0"])
    }

    @Test func gcWithAnEmptyValidSetReleasesEverything() throws {
        let f = HostLocalFixture("gc-empty")
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"")
        for id in ["a", "b", "c"] { #expect(try f.run("ADD", conf, containerID: id).status == 0) }
        for empty in ["[]", "null"] {
            let gc = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"", top: "\"cni.dev/valid-attachments\":\(empty)")
            #expect(try f.run("GC", gc).status == 0)
            #expect(f.leases.isEmpty, "\(empty)")
            #expect(f.indexFiles.isEmpty, "\(empty)")
            #expect(try f.run("ADD", conf, containerID: "a").status == 0)  // a is free to come back
        }
    }

    @Test func gcHonoursLegacyAttachmentsKey() throws {
        let f = HostLocalFixture("gc-legacy")
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"")
        for id in ["a", "b"] { #expect(try f.run("ADD", conf, containerID: id).status == 0) }
        let gc = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"",
                          top: "\"cni.dev/attachments\":[{\"containerID\":\"b\",\"ifname\":\"eth0\"}]")
        #expect(try f.run("GC", gc).status == 0)
        #expect(f.leases == ["2001:db8:1::3": "b\r\neth0"])
        let bad = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\"", top: "\"cni.dev/valid-attachments\":{\"containerID\":\"b\"}")
        #expect(try f.run("GC", bad).errorCode == 7)
        #expect(f.leases.count == 1)
    }

    @Test func versionVerb() throws {
        let out = try SpawnedPlugin.hostLocal("VERSION", containerID: "", config: "").wait().output
        #expect(out.status == 0)
        #expect(out.json["supportedVersions"] as? [String] == HL.versions)
    }

    /// Adds `prevResult` to a config.
    static func config(_ conf: String, prevResult: String) throws -> String {
        var obj = try JSONSerialization.jsonObject(with: Data(conf.utf8)) as! [String: Any]
        obj["prevResult"] = try JSONSerialization.jsonObject(with: Data(prevResult.utf8))
        return String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
    }
}

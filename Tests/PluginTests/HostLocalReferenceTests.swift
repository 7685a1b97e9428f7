import Foundation
import Testing

/// host-local6 and the reference /usr/lib/cni/host-local on one data directory: each sees, refuses
/// duplicates of, and releases the other's leases, and between them no address is handed out twice.
@Suite(.enabled(if: HL.referenceAvailable)) struct HostLocalReferenceTests {
    static let ipam = "\"ranges\":[[{\"subnet\":\"2001:db8:1::/64\"}],[{\"subnet\":\"10.1.2.0/24\"}]]"

    @Test(arguments: ["0.4.0", "1.0.0"])
    func alternatingAllocationsNeverCollide(_ v: String) throws {
        let f = HostLocalFixture("ref-alt")
        let ours = f.config(v, ipam: Self.ipam), theirs = f.referenceConfig(v, ipam: Self.ipam)
        var all: [String] = []
        for n in 0..<24 {
            let reference = n % 2 == 1
            let out = reference ? try f.runReference("ADD", theirs, containerID: "c\(n)") : try f.run("ADD", ours, containerID: "c\(n)")
            #expect(out.status == 0, "\(reference ? "reference" : "ours") ADD c\(n): \(out.stdout)")
            let got = HL.addresses(out)
            #expect(got.count == 2)
            all += got
            // Round robin continues from whoever allocated last.
            #expect(got == ["2001:db8:1::\(String(n + 2, radix: 16))", "10.1.2.\(n + 2)"], "c\(n)")
        }
        #expect(Set(all).count == all.count, "duplicates: \(all)")
        #expect(f.leases.count == 48)
        for n in 0..<24 {
            #expect(f.leases(of: "c\(n)").count == 2)
        }

        // Free every third container with the *other* plugin; re-add them alternately: still distinct.
        for n in stride(from: 0, to: 24, by: 3) {
            let out = n % 2 == 1 ? try f.run("DEL", ours, containerID: "c\(n)") : try f.runReference("DEL", theirs, containerID: "c\(n)")
            #expect(out.status == 0, "\(out.stdout)")
            #expect(f.leases(of: "c\(n)").isEmpty, "c\(n) still holds \(f.leases(of: "c\(n)"))")
        }
        #expect(f.leases.count == 48 - 16)
        for n in stride(from: 0, to: 24, by: 3) {
            let out = n % 2 == 0 ? try f.run("ADD", ours, containerID: "c\(n)") : try f.runReference("ADD", theirs, containerID: "c\(n)")
            #expect(out.status == 0, "\(out.stdout)")
        }
        let owners = f.leases.values.map { $0 }
        #expect(f.leases.count == 48)
        #expect(Set(owners).count == 24)  // one v6 + one v4 each, every file distinct by construction
        for n in 0..<24 { #expect(f.leases(of: "c\(n)").count == 2, "c\(n)") }
    }

    /// Both plugins at once, several processes each: no address twice; then each DELs the other's.
    @Test func concurrentWithTheReference() throws {
        let f = HostLocalFixture("ref-concurrent", tmpfs: true)
        let ours = f.config(ipam: Self.ipam), theirs = f.referenceConfig(ipam: Self.ipam)
        struct Run { var id: String; var reference: Bool; var exit: SpawnedPlugin.Exit? }
        let adds = HL.Collected<Run>()
        HL.onThreads(6) { t in
            let reference = t % 2 == 1
            for i in 0..<15 {
                let id = "\(reference ? "ref" : "our")-\(t)-\(i)"
                let e = try? SpawnedPlugin.hostLocal("ADD", containerID: id, config: reference ? theirs : ours, reference: reference).wait()
                adds.append(Run(id: id, reference: reference, exit: e))
            }
        }
        var owner: [String: String] = [:]
        for r in adds.all {
            guard let e = r.exit, e.code == 0 else {
                Issue.record("\(r.reference ? "reference" : "our") ADD \(r.id) failed: \(r.exit?.stdout ?? "spawn failed")")
                continue
            }
            for a in HL.addresses(e.output) {
                #expect(owner[a] == nil, "\(a) handed to \(owner[a] ?? "") and \(r.id)")
                owner[a] = r.id
            }
        }
        #expect(owner.count == 2 * 90)
        #expect(f.leases.count == 2 * 90)
        for (a, id) in owner { #expect(f.leases[a] == "\(id)\r\neth0") }
        let dels = HL.Collected<Run>()
        HL.onThreads(6) { t in
            let reference = t % 2 == 0  // the other plugin
            for i in 0..<15 {
                let id = "\(reference ? "our" : "ref")-\(t)-\(i)"
                let e = try? SpawnedPlugin.hostLocal("DEL", containerID: id, config: reference ? theirs : ours, reference: reference).wait()
                dels.append(Run(id: id, reference: reference, exit: e))
            }
        }
        for r in dels.all where r.exit?.code != 0 { Issue.record("DEL \(r.id) failed: \(r.exit?.stdout ?? "")") }
        #expect(f.leases.isEmpty, "\(f.leases.count) left")
    }

    @Test func eachRefusesADuplicateOfTheOthersLease() throws {
        let f = HostLocalFixture("ref-dup")
        let ours = f.config(ipam: Self.ipam), theirs = f.referenceConfig(ipam: Self.ipam)
        #expect(try f.runReference("ADD", theirs, containerID: "theirs").status == 0)
        let dup = try f.run("ADD", ours, containerID: "theirs")
        #expect(dup.errorCode == 7, "\(dup.stdout)")
        #expect(dup.errorMessage.contains("duplicate"))
        #expect(try f.run("ADD", ours, containerID: "mine").status == 0)
        let dup2 = try f.runReference("ADD", theirs, containerID: "mine")
        #expect(dup2.status != 0, "\(dup2.stdout)")
        #expect(dup2.errorMessage.contains("duplicate"))
        #expect(f.leases.count == 4)
        // Another ifname of the same container is a different attachment for both.
        #expect(try f.run("ADD", ours, containerID: "theirs", ifname: "net1").status == 0)
        #expect(try f.runReference("ADD", theirs, containerID: "mine", ifname: "net1").status == 0)
        #expect(f.leases.count == 8)
        // CHECK by each of the other's lease.
        #expect(try f.run("CHECK", ours, containerID: "theirs").status == 0)
        #expect(try f.runReference("CHECK", theirs, containerID: "mine").status == 0)
    }

    @Test func eachReleasesTheOthersLease() throws {
        let f = HostLocalFixture("ref-del")
        let ours = f.config(ipam: Self.ipam), theirs = f.referenceConfig(ipam: Self.ipam)
        #expect(try f.run("ADD", ours, containerID: "mine").status == 0)
        #expect(try f.runReference("ADD", theirs, containerID: "theirs").status == 0)
        #expect(try f.runReference("DEL", theirs, containerID: "mine").status == 0)
        #expect(f.leases(of: "mine").isEmpty)
        #expect(try f.run("DEL", ours, containerID: "theirs").status == 0)
        #expect(f.leases(of: "theirs").isEmpty)
        #expect(f.leases.isEmpty)
        // Our stale index entry for "mine" does not make it a duplicate, nor survive a re-ADD.
        let again = try f.run("ADD", ours, containerID: "mine")
        #expect(again.status == 0, "\(again.stdout)")
        #expect(f.leases(of: "mine").count == 2)
        #expect(try f.run("CHECK", ours, containerID: "mine").status == 0)
        #expect(try f.runReference("DEL", theirs, containerID: "mine").status == 0)
        #expect(f.leases.isEmpty)
        #expect(try f.run("CHECK", ours, containerID: "mine").status != 0)
    }

    /// A reference store made before host-local6 arrived (no `.v6cni`), including a legacy ID-only
    /// lease: our first call indexes it.
    @Test func takesOverAnExistingReferenceStore() throws {
        let f = HostLocalFixture("ref-takeover")
        let theirs = f.referenceConfig(ipam: Self.ipam)
        for n in 0..<5 { #expect(try f.runReference("ADD", theirs, containerID: "r\(n)").status == 0) }
        try Data("legacy".utf8).write(to: URL(fileURLWithPath: "\(f.netDir)/2001:db8:1::fff"))
        #expect(!HL.exists(f.indexDir))
        let ours = f.config(ipam: Self.ipam)
        #expect(try f.run("ADD", ours, containerID: "r3").errorCode == 7)
        #expect(try f.run("ADD", ours, containerID: "legacy").errorCode == 7)
        #expect(HL.addresses(try f.run("ADD", ours, containerID: "new")) == ["2001:db8:1::7", "10.1.2.7"])
        #expect(try f.run("DEL", ours, containerID: "legacy").status == 0)
        #expect(!HL.exists("\(f.netDir)/2001:db8:1::fff"))
        #expect(try f.run("DEL", ours, containerID: "r1").status == 0)
        #expect(f.leases(of: "r1").isEmpty)
        #expect(f.leases.count == 2 * 5)
    }

    /// Both plugins take `flock` on `<dir>/lock`: while we hold it the reference waits.
    @Test func theLockIsShared() throws {
        let f = HostLocalFixture("ref-lock")
        let theirs = f.referenceConfig(ipam: Self.ipam)
        #expect(try f.run("ADD", f.config(ipam: Self.ipam), containerID: "first").status == 0)
        let fd = open("\(f.netDir)/lock", O_RDWR)
        #expect(fd >= 0)
        defer { if fd >= 0 { close(fd) } }
        #expect(flock(fd, LOCK_EX) == 0)
        let p = try SpawnedPlugin.hostLocal("ADD", containerID: "waiting", config: theirs, reference: true)
        usleep(600_000)
        #expect(p.isRunning, "the reference did not wait for the lock")
        #expect(f.leases(of: "waiting").isEmpty)
        flock(fd, LOCK_UN)
        let out = p.wait()
        #expect(out.code == 0, "\(out.stdout)")
        #expect(f.leases(of: "waiting").count == 2)
    }
}

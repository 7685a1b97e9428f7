#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import IPAddressing

/// Many host-local6 processes at once, processes SIGKILLed at random moments, and a lock somebody
/// else holds. Serialized: each of these loads both cores on its own.
@Suite(.serialized) struct HostLocalStressTests {
    /// 16 processes × 50 ADDs (distinct containers), then the same for DEL: no address twice,
    /// nothing left over.
    @Test func concurrentProcessesNeverHandOutAnAddressTwice() throws {
        let f = HostLocalFixture("concurrent", tmpfs: true)
        let conf = f.config("1.0.0", ipam: "\"ranges\":[[{\"subnet\":\"2001:db8:c::/64\"}],[{\"subnet\":\"10.20.0.0/22\"}]]")
        let threads = 16, perThread = 50
        struct Run { var id: String; var exit: SpawnedPlugin.Exit?; var error: String? }
        let adds = HL.Collected<Run>()
        HL.onThreads(threads) { t in
            for i in 0..<perThread {
                let id = "ctr-\(t)-\(i)"
                do { adds.append(Run(id: id, exit: try SpawnedPlugin.hostLocal("ADD", containerID: id, config: conf).wait())) }
                catch { adds.append(Run(id: id, error: "\(error)")) }
            }
        }
        let results = adds.all
        #expect(results.count == threads * perThread)
        var owner: [String: String] = [:]
        var duplicates: [String] = []
        for r in results {
            guard let e = r.exit, e.code == 0 else {
                Issue.record("ADD \(r.id) failed: \(r.error ?? r.exit?.stdout ?? "")")
                continue
            }
            let addresses = HL.addresses(e.output)
            #expect(addresses.count == 2, "\(r.id): \(e.stdout)")
            for a in addresses {
                if let other = owner[a] { duplicates.append("\(a): \(other) and \(r.id)") }
                owner[a] = r.id
            }
        }
        #expect(duplicates.isEmpty, "\(duplicates.prefix(10))")
        // Disk agrees with what every process printed.
        let leases = f.leases
        #expect(leases.count == 2 * threads * perThread)
        for (a, id) in owner { #expect(leases[a] == "\(id)\r\neth0", "\(a)") }
        let index = f.indexFiles
        #expect(index.count == threads * perThread)
        for (name, entries) in index { #expect(entries.count == 2, "\(name): \(entries)") }

        let dels = HL.Collected<Run>()
        HL.onThreads(threads) { t in
            for i in 0..<perThread {
                let id = "ctr-\(t)-\(i)"
                do { dels.append(Run(id: id, exit: try SpawnedPlugin.hostLocal("DEL", containerID: id, config: conf).wait())) }
                catch { dels.append(Run(id: id, error: "\(error)")) }
            }
        }
        for r in dels.all where r.exit?.code != 0 {
            Issue.record("DEL \(r.id) failed: \(r.error ?? r.exit?.stdout ?? "")")
        }
        #expect(f.leases.isEmpty, "\(f.leases.count) leases left")
        #expect(f.indexFiles.isEmpty, "\(f.indexFiles.count) index files left")
        #expect(HL.listing(f.netDir) == [".v6cni", "last_reserved_ip.0", "last_reserved_ip.1", "lock"])
        // What is left in .v6cni: `seen` and at most four spare lease files (inodes kept for ADDs).
        #expect(HL.listing(f.indexDir).filter { !$0.hasPrefix(".spare-") } == ["seen"])
        #expect(HL.listing(f.indexDir).filter { $0.hasPrefix(".spare-") }.count <= 4)
    }

    static let crashIPAM = """
        "ranges":[[{"subnet":"2001:db8:d::/64","rangeStart":"2001:db8:d::100","rangeEnd":"2001:db8:d::fff"}],[{"subnet":"10.30.0.0/22"}]]
        """

    /// Runs `command` for each container in waves of `parallel`, SIGKILLing the j-th process of a wave
    /// after a random delay in [0, (j+1)·maxDelay) µs; `afterWave` sees each wave's outcomes.
    static func runKilling(_ command: String, _ ids: [String], config: String, parallel: Int, maxDelay: UInt32,
                           rng: inout some RandomNumberGenerator,
                           afterWave: ([(id: String, exit: SpawnedPlugin.Exit)]) throws -> Void = { _ in }) throws -> [String: SpawnedPlugin.Exit] {
        var outcomes: [String: SpawnedPlugin.Exit] = [:]
        for wave in stride(from: 0, to: ids.count, by: parallel) {
            let batch = Array(ids[wave..<min(wave + parallel, ids.count)])
            // Processes of a wave queue on the lock: the j-th one's turn comes about j runs later.
            let delays = batch.indices.map { j in UInt32.random(in: 0..<maxDelay * UInt32(j + 1), using: &rng) }
            let procs = try batch.map { try SpawnedPlugin.hostLocal(command, containerID: $0, config: config) }
            let start = HL.now()
            for (p, d) in zip(procs, delays).sorted(by: { $0.1 < $1.1 }) {
                let elapsed = UInt32(HL.seconds(since: start) * 1e6)
                if d > elapsed { usleep(d - elapsed) }
                p.kill()  // by the PID we spawned and have not reaped
            }
            var results: [(id: String, exit: SpawnedPlugin.Exit)] = []
            for (id, p) in zip(batch, procs) {
                let e = p.wait()
                outcomes[id] = e
                results.append((id, e))
            }
            try afterWave(results)
        }
        return outcomes
    }

    /// Everything in the store is well-formed: only lease files (canonical addresses inside the
    /// ranges, content `id\r\neth0` of a known container, at most one per container and set),
    /// `last_reserved_ip.N`, `lock` and `.v6cni` (index files listing addresses, `seen`, temporaries).
    static func checkStore(_ f: HostLocalFixture, knownIDs: Set<String>, sourceLocation: SourceLocation = #_sourceLocation) {
        let v6 = IPPrefix("2001:db8:d::/64")!, v4 = IPPrefix("10.30.0.0/22")!
        var perOwnerAndSet: [String: Int] = [:]
        for name in HL.listing(f.netDir) {
            if name == "lock" || name == ".v6cni" { continue }
            if name.hasPrefix("last_reserved_ip.") {
                #expect(["last_reserved_ip.0", "last_reserved_ip.1"].contains(name), "\(name)", sourceLocation: sourceLocation)
                #expect(IPAddress(HL.text("\(f.netDir)/\(name)") ?? "") != nil, "\(name) is not an address", sourceLocation: sourceLocation)
                continue
            }
            guard let a = IPAddress(name), a.description == name else {
                Issue.record("unexpected file \(name) in the store", sourceLocation: sourceLocation)
                continue
            }
            #expect(v6.contains(a) || v4.contains(a), "\(name) outside the ranges", sourceLocation: sourceLocation)
            let content = HL.text("\(f.netDir)/\(name)") ?? ""
            let parts = content.components(separatedBy: "\r\n")
            #expect(parts.count == 2 && knownIDs.contains(parts[0]) && parts[1] == "eth0",
                    "lease \(name) is malformed: \(content.debugDescription)", sourceLocation: sourceLocation)
            perOwnerAndSet["\(content) \(a.family == .v6 ? 0 : 1)", default: 0] += 1
        }
        for (key, n) in perOwnerAndSet where n > 1 {
            Issue.record("\(key.debugDescription) holds \(n) addresses of one set", sourceLocation: sourceLocation)
        }
        for name in HL.listing(f.indexDir) where name != "seen" && !name.hasPrefix(".tmp-") && !name.hasPrefix(".spare-") {
            let entries = (HL.indexText("\(f.indexDir)/\(name)") ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            #expect(entries.last == "" && entries.dropLast().allSatisfy { IPAddress($0) != nil },
                    "index \(name) is malformed", sourceLocation: sourceLocation)
        }
    }

    /// Index consistency: every lease is listed in its owner's index file.
    static func checkIndexed(_ f: HostLocalFixture, sourceLocation: SourceLocation = #_sourceLocation) {
        let index = f.indexFiles
        for (a, content) in f.leases {
            let parts = content.components(separatedBy: "\r\n")
            guard parts.count == 2 else { continue }
            let hex = parts[1].utf8.map { String(format: "%02x", $0) }.joined()
            #expect(index["\(parts[0]).\(hex)"]?.contains(a) == true, "lease \(a) of \(parts[0]) is not indexed",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func sigkillAtAnyMomentLeavesAStoreTheNextCallReads() throws {
        let f = HostLocalFixture("crash")  // on disk: the fsyncs widen every window
        let conf = f.config("1.0.0", ipam: Self.crashIPAM)
        var rng = SystemRandomNumberGenerator()

        // How long one ADD and one DEL take here (median of three): kill moments spread over 1.5× that.
        var addTimes: [Double] = [], delTimes: [Double] = []
        for _ in 0..<3 {
            var t = HL.now()
            #expect(try f.run("ADD", conf, containerID: "calibrate").status == 0)
            addTimes.append(HL.seconds(since: t))
            t = HL.now()
            #expect(try f.run("DEL", conf, containerID: "calibrate").status == 0)
            delTimes.append(HL.seconds(since: t))
        }
        let addTime = addTimes.sorted()[1], delTime = delTimes.sorted()[1]
        let addWindow = UInt32(max(addTime, 0.005) * 1.5e6), delWindow = UInt32(max(delTime, 0.005) * 1.5e6)

        // 1. ADDs killed at random moments. After each wave the next calls must read the store: DEL
        //    of every killed container leaves nothing of it (before any later rebuild could hide an
        //    unindexed lease), a completed one holds exactly what it printed.
        //    A kill must land after a lease was written at least once, and at least 10 ADDs must be
        //    killed and 10 complete. The calibration can be far off on a loaded machine (a 5-ms
        //    median when ADDs then took 1.5 ms: 6 kills in 180), so when a round misses, up to two
        //    more rounds of 180 try again with the window halved (too few kills) or doubled (too
        //    few completions).
        let rounds = (0..<3).map { r in (0..<180).map { "k\(r * 180 + $0)" } }
        var window = addWindow
        let known = Set(rounds.joined() + ["calibrate", "probe"])
        var completed: [String: [String]] = [:]
        var killed: [String] = []
        var killedWithLeases = 0
        var waves = 0
        for ids in rounds where killedWithLeases == 0 || killed.count < 10 || completed.count < 10 {
            let killedBefore = killed.count, completedBefore = completed.count
            _ = try Self.runKilling("ADD", ids, config: conf, parallel: 3, maxDelay: window, rng: &rng) { results in
                waves += 1
                if waves % 10 == 0 { Self.checkStore(f, knownIDs: known) }
                for (id, e) in results {
                    if e.signal == SIGKILL {
                        killed.append(id)
                        if !f.leases(of: id).isEmpty { killedWithLeases += 1 }
                        let out = try f.run("DEL", conf, containerID: id)
                        #expect(out.status == 0, "DEL \(id): \(out.stdout)")
                        #expect(f.leases(of: id).isEmpty, "killed \(id) still holds \(f.leases(of: id)) after DEL")
                        #expect(f.indexFiles["\(id).65746830"] == nil, "killed \(id) still indexed after DEL")
                    } else if e.code == 0 {
                        completed[id] = HL.addresses(e.output)
                        #expect(f.leases(of: id) == HL.addresses(e.output).sorted(), "\(id)")
                    } else {
                        Issue.record("ADD \(id) neither completed nor was killed: \(e.stdout) \(e.stderr)")
                    }
                }
            }
            if killed.count - killedBefore < 10 { window = max(window / 2, 500) }
            else if completed.count - completedBefore < 10 { window *= 2 }
        }
        #expect(killed.count >= 10, "too few ADDs were killed (add window \(addWindow) µs, last \(window) µs)")
        #expect(completed.count >= 10, "too few ADDs completed (add window \(addWindow) µs, last \(window) µs)")
        #expect(killedWithLeases >= 1, "no kill landed after a lease was written")
        Self.checkStore(f, knownIDs: known)
        Self.checkIndexed(f)
        for (id, addresses) in completed {
            #expect(addresses.count == 2)
            #expect(f.leases(of: id) == addresses.sorted(), "\(id)")
        }
        #expect(f.leases.count == 2 * completed.count)

        // 2. A new ADD works and gets free addresses; completed ADDs CHECK; a completed container
        //    cannot ADD twice.
        let probe = try f.run("ADD", conf, containerID: "probe")
        #expect(probe.status == 0, "\(probe.stdout)")
        #expect(f.leases(of: "probe") == HL.addresses(probe).sorted())
        for id in completed.keys.sorted().prefix(10) {
            #expect(try f.run("CHECK", conf, containerID: id).status == 0, "\(id)")
            #expect(try f.run("ADD", conf, containerID: id).errorCode == 7, "\(id)")
        }

        // 3. DELs killed at random moments, then DEL again for all: the store ends empty.
        let remaining = completed.keys.sorted() + ["probe"]
        let delOutcomes = try Self.runKilling("DEL", remaining, config: conf, parallel: 4, maxDelay: delWindow, rng: &rng)
        for (id, e) in delOutcomes where e.signal != SIGKILL && e.code != 0 {
            Issue.record("DEL \(id) neither completed nor was killed: \(e.stdout)")
        }
        Self.checkStore(f, knownIDs: known)
        for id in remaining {
            #expect(try f.run("DEL", conf, containerID: id).status == 0, "\(id)")
            #expect(f.leases(of: id).isEmpty)
        }
        #expect(f.leases.isEmpty, "\(f.leases)")
        #expect(f.indexFiles.isEmpty, "\(f.indexFiles)")
        // Killed processes may leave a temporary in .v6cni (never in the store itself); DELs leave spares.
        for name in HL.listing(f.indexDir) where name != "seen" {
            #expect(name.hasPrefix(".tmp-") || name.hasPrefix(".spare-"), "\(name)")
        }
    }

    /// GC killed half-way, then the next calls: what GC kept is still known (duplicate ADD refused,
    /// DEL finds it), what it had not yet freed can still be freed.
    @Test func gcKilledHalfWay() throws {
        let f = HostLocalFixture("crash-gc")
        let conf = f.config("1.1.0", ipam: Self.crashIPAM)
        let keep = (0..<6).map { "keep\($0)" }, drop = (0..<6).map { "drop\($0)" }
        let valid = keep.map { "{\"containerID\":\"\($0)\",\"ifname\":\"eth0\"}" }.joined(separator: ",")
        let gc = f.config("1.1.0", ipam: Self.crashIPAM, top: "\"cni.dev/valid-attachments\":[\(valid)]")
        var rng = SystemRandomNumberGenerator()
        for round in 0..<6 {
            for id in keep + drop { _ = try f.run("DEL", conf, containerID: id) }
            for id in keep + drop { #expect(try f.run("ADD", conf, containerID: id).status == 0) }
            let t = HL.now()
            #expect(try f.run("GC", f.config("1.1.0", ipam: Self.crashIPAM, top: "\"cni.dev/valid-attachments\":[\(valid),\(drop.map { "{\"containerID\":\"\($0)\",\"ifname\":\"eth0\"}" }.joined(separator: ","))]")).status == 0)
            let window = UInt32(max(HL.seconds(since: t), 0.005) * 1.5e6)
            let p = try SpawnedPlugin.hostLocal("GC", containerID: "", config: gc, extraEnv: ["CNI_NETNS": "", "CNI_IFNAME": ""])
            usleep(UInt32.random(in: 0..<window, using: &rng))
            p.kill()
            _ = p.wait()
            Self.checkStore(f, knownIDs: Set(keep + drop))
            for id in keep {
                #expect(f.leases(of: id).count == 2, "round \(round): GC freed \(id)")
                #expect(try f.run("ADD", conf, containerID: id).errorCode == 7, "round \(round): \(id) lost from the index")
            }
            for id in drop {
                #expect(try f.run("DEL", conf, containerID: id).status == 0)
                #expect(f.leases(of: id).isEmpty, "round \(round): \(id) still holds \(f.leases(of: id))")
            }
            Self.checkIndexed(f)
        }
    }

    /// A lock held elsewhere: every verb gives up with code 11 after `lockTimeout`, writing nothing.
    @Test func lockTimeoutIsCode11() throws {
        let f = HostLocalFixture("lock")
        let conf = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\",\"lockTimeout\":1")
        #expect(try f.run("ADD", conf, containerID: "before").status == 0)
        let before = f.leases
        let fd = open("\(f.netDir)/lock", O_RDWR)
        #expect(fd >= 0)
        defer { if fd >= 0 { close(fd) } }
        #expect(flock(fd, LOCK_EX) == 0)
        for verb in ["ADD", "DEL", "CHECK", "STATUS"] {
            let t = HL.now()
            let out = try f.run(verb, conf, containerID: verb == "ADD" ? "blocked" : "before")
            let waited = HL.seconds(since: t)
            #expect(out.errorCode == 11, "\(verb): \(out.stdout)")
            #expect(waited >= 0.95 && waited < 6, "\(verb) waited \(waited) s")
        }
        let gc = f.config("1.1.0", ipam: "\"subnet\":\"2001:db8:1::/64\",\"lockTimeout\":1", top: "\"cni.dev/valid-attachments\":[]")
        #expect(try f.run("GC", gc).errorCode == 11)
        #expect(f.leases == before)
        #expect(f.indexFiles.keys.sorted() == ["before.65746830"])
        flock(fd, LOCK_UN)
        #expect(try f.run("ADD", conf, containerID: "after").status == 0)
        #expect(f.leases.count == 2)
    }
}

/// The default lock timeout (10 s), on its own so its wait overlaps the other suites.
@Suite struct HostLocalDefaultLockTimeoutTests {
    @Test func defaultLockTimeoutIsTenSeconds() throws {
        let f = HostLocalFixture("lock-default")
        let conf = f.config(ipam: "\"subnet\":\"2001:db8:1::/64\"")
        #expect(try f.run("ADD", conf, containerID: "before").status == 0)
        let fd = open("\(f.netDir)/lock", O_RDWR)
        #expect(fd >= 0)
        defer { if fd >= 0 { close(fd) } }
        #expect(flock(fd, LOCK_EX) == 0)
        let t = HL.now()
        let out = try f.run("ADD", conf, containerID: "blocked")
        let waited = HL.seconds(since: t)
        #expect(out.errorCode == 11, "\(out.stdout)")
        #expect(waited >= 9.9 && waited < 20, "waited \(waited) s")
        #expect(f.leases(of: "blocked").isEmpty)
    }
}

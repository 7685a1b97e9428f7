#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import IPAddressing
@testable import CNI
@testable import IPAM

/// The on-disk store: reference layout, the `.v6cni` index, and what it does with files other
/// writers (the reference plugin, a killed process) leave behind.
@Suite struct LeaseStoreTests {
    let scratch = ScratchDirectory("store")
    var dir: String { "\(scratch.path)/net" }
    var indexDir: String { "\(scratch.path)/net/.v6cni" }
    let store: LeaseStore
    let x = LeaseStore.Owner(containerID: "ctrX", ifname: "eth0")
    let y = LeaseStore.Owner(containerID: "ctrY", ifname: "eth0")

    init() {
        store = LeaseStore(dataDir: scratch.path, network: "net")
    }

    func locked<T>(_ body: () throws -> T) throws -> T { try store.withLock(timeout: 5, body) }

    /// Index file names only (no `seen`, no temporaries, no spares).
    var indexFiles: [String] { listing(indexDir).filter { $0 != "seen" && !$0.hasPrefix(".tmp-") && !$0.hasPrefix(".spare-") } }
    var spares: [String] { listing(indexDir).filter { $0.hasPrefix(".spare-") }.sorted() }

    @Test func layoutIsTheReferenceOneWithPrivateModes() throws {
        let ok = try locked { try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0) }
        #expect(ok)
        #expect(fileBytes("\(dir)/2001:db8:1::2") == Array("ctrX\r\neth0".utf8))
        #expect(fileText("\(dir)/last_reserved_ip.0") == "2001:db8:1::2")  // no newline, like the reference
        #expect(fileExists("\(dir)/lock"))
        #expect(mode(dir) == 0o700)
        #expect(mode(indexDir) == 0o700)
        for name in listing(dir) where name != ".v6cni" {
            #expect(mode("\(dir)/\(name)") == 0o600, "\(name) has mode \(String(mode("\(dir)/\(name)") ?? 0, radix: 8))")
        }
        for name in listing(indexDir) {
            #expect(mode("\(indexDir)/\(name)") == 0o600, "\(name)")
        }
        // The index: one entry per (containerID, ifname), named id.hex(ifname), listing the addresses
        // in an attribute of the owner's first lease file, of which it is a second name (one inode).
        #expect(indexFiles == ["ctrX.65746830"])
        #expect(indexText("\(indexDir)/ctrX.65746830") == "2001:db8:1::2\n")
        let lease = inode("\(dir)/2001:db8:1::2"), index = inode("\(indexDir)/ctrX.65746830")
        #expect(lease != nil && lease?.number == index?.number && lease?.links == 2)
        #expect(listing(indexDir).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    /// DEL keeps the freed lease file as a spare and the next ADD rewrites it: no inode made or freed.
    @Test func aFreedLeaseFileBecomesTheNextLease() throws {
        let long = LeaseStore.Owner(containerID: "a-container-id-longer-than-the-next-one", ifname: "eth0")
        #expect(try locked { try store.reserve(ip("2001:db8:1::2"), for: long, rangeSet: 0) })
        let first = try #require(inode("\(dir)/2001:db8:1::2"))
        #expect(try locked { try store.release(long) } == [ip("2001:db8:1::2")])
        #expect(!fileExists("\(dir)/2001:db8:1::2"))
        #expect(indexFiles.isEmpty && spares == [".spare-0"])
        #expect(inode("\(indexDir)/.spare-0")?.number == first.number && inode("\(indexDir)/.spare-0")?.links == 1)
        // Nothing names the departed owner: its text is blanked, its length kept.
        #expect(fileText("\(indexDir)/.spare-0") == String(repeating: " ", count: "\(long.containerID)\r\neth0".utf8.count))
        #expect(try locked { try store.addresses(of: long) }.isEmpty)

        #expect(try locked { try store.reserve(ip("2001:db8:1::3"), for: y, rangeSet: 0) })
        let second = try #require(inode("\(dir)/2001:db8:1::3"))
        #expect(second.number == first.number && second.links == 2)  // lease and index entry
        #expect(fileBytes("\(dir)/2001:db8:1::3") == Array("ctrY\r\neth0".utf8))  // shorter: cut to length
        #expect(indexText("\(indexDir)/ctrY.65746830") == "2001:db8:1::3\n")
        #expect(spares.isEmpty && indexFiles == ["ctrY.65746830"])
        #expect(try locked { try store.addresses(of: y) } == [ip("2001:db8:1::3")])
        #expect(try store.owner(of: ip("2001:db8:1::2")) == nil)
    }

    /// At most four spares; one that still has a second name (a process killed mid-DEL, before the
    /// index entry went) is dropped, never rewritten under that name.
    @Test func sparesAreFewAndNeverShared() throws {
        let owners = (0..<6).map { LeaseStore.Owner(containerID: "c\($0)", ifname: "eth0") }
        let reserved = try locked { try owners.enumerated().map { (i, o) in try store.reserve(ip("2001:db8:1::\(i + 10)"), for: o, rangeSet: 0) } }
        #expect(reserved == Array(repeating: true, count: 6))
        try locked { for o in owners { _ = try store.release(o) } }
        #expect(spares == [".spare-0", ".spare-1", ".spare-2", ".spare-3"])
        #expect(listing(dir).filter { IPAddress($0) != nil }.isEmpty && indexFiles.isEmpty)
        let kept = try #require(inode("\(indexDir)/.spare-1"))
        #expect(link("\(indexDir)/.spare-0", "\(scratch.path)/other") == 0)

        #expect(try locked { try store.reserve(ip("2001:db8:1::20"), for: x, rangeSet: 0) })
        #expect(fileText("\(scratch.path)/other") == "        ")  // untouched (c0's eight bytes, blanked)
        #expect(inode("\(scratch.path)/other")?.links == 1)
        #expect(inode("\(dir)/2001:db8:1::20")?.number != kept.number)  // a file of its own this time
        #expect(spares == [".spare-1", ".spare-2", ".spare-3"])
        #expect(try locked { try store.reserve(ip("2001:db8:1::21"), for: y, rangeSet: 0) })
        #expect(inode("\(dir)/2001:db8:1::21")?.number == kept.number)
        #expect(spares == [".spare-2", ".spare-3"])
        // Not ours to rewrite: another mode (a lease the reference plugin made is 0644).
        #expect(chmod("\(indexDir)/.spare-2", 0o644) == 0)
        #expect(try locked { try store.reserve(ip("2001:db8:1::22"), for: LeaseStore.Owner(containerID: "z", ifname: "eth0"), rangeSet: 0) })
        #expect(spares == [".spare-3"])
        #expect(mode("\(dir)/2001:db8:1::22") == 0o600)
        #expect(try locked { try store.addresses(of: x) + store.addresses(of: y) } == [ip("2001:db8:1::20"), ip("2001:db8:1::21")])
    }

    @Test func reserveRefusesATakenAddressWithoutTouchingIt() throws {
        let (first, second) = try locked {
            (try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0), try store.reserve(ip("2001:db8:1::2"), for: y, rangeSet: 0))
        }
        #expect(first && !second)
        #expect(fileText("\(dir)/2001:db8:1::2") == "ctrX\r\neth0")
        #expect(!fileExists("\(indexDir)/ctrY.65746830"))
        #expect(try store.owner(of: ip("2001:db8:1::2")) == x)
    }

    @Test func multipleAddressesPerOwnerAndRelease() throws {
        try locked {
            _ = try store.reserve(ip("10.1.2.2"), for: x, rangeSet: 0)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 1)
            _ = try store.reserve(ip("2001:db8:1::3"), for: y, rangeSet: 1)
        }
        #expect(indexText("\(indexDir)/ctrX.65746830") == "10.1.2.2\n2001:db8:1::2\n")
        #expect(try Set(store.addresses(of: x)) == [ip("10.1.2.2"), ip("2001:db8:1::2")])
        let released = try locked { try store.release(x) }
        #expect(Set(released) == [ip("10.1.2.2"), ip("2001:db8:1::2")])
        #expect(!fileExists("\(dir)/10.1.2.2") && !fileExists("\(dir)/2001:db8:1::2"))
        #expect(!fileExists("\(indexDir)/ctrX.65746830"))
        #expect(fileText("\(dir)/2001:db8:1::3") == "ctrY\r\neth0")
        // Releasing again, or an owner that never had anything, is fine.
        #expect(try locked { try store.release(x) }.isEmpty)
        #expect(try locked { try store.release(.init(containerID: "nobody", ifname: "eth0")) }.isEmpty)
    }

    @Test func ifnamesAreSeparateOwners() throws {
        let x1 = LeaseStore.Owner(containerID: "ctrX", ifname: "net1")
        try locked {
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
            _ = try store.reserve(ip("2001:db8:1::3"), for: x1, rangeSet: 0)
        }
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::2")])
        #expect(try store.addresses(of: x1) == [ip("2001:db8:1::3")])
        _ = try locked { try store.release(x1) }
        #expect(fileExists("\(dir)/2001:db8:1::2"))
        #expect(!fileExists("\(dir)/2001:db8:1::3"))
    }

    /// DEL reads the owner's index file, not the directory: a lease file nobody indexed is not found
    /// until the store notices another writer (next test).
    @Test func releaseUsesTheIndexNotAWalk() throws {
        try locked {
            try store.syncWithOtherWriters(rangeSets: 1)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
        }
        try scratch.write("net/2001:db8:1::9", "ctrX\r\neth0")  // unindexed, last_reserved unchanged
        try locked { try store.syncWithOtherWriters(rangeSets: 1) }
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::2")])
        #expect(try locked { try store.release(x) } == [ip("2001:db8:1::2")])
        #expect(fileExists("\(dir)/2001:db8:1::9"))
    }

    @Test func foreignLeasesArePickedUpWhenLastReservedChanges() throws {
        try locked {
            try store.syncWithOtherWriters(rangeSets: 2)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
        }
        // The reference plugin allocates: lease file + last_reserved_ip rewritten in place.
        try scratch.write("net/2001:db8:1::3", "ctrY\r\neth0")
        try scratch.write("net/last_reserved_ip.0", "2001:db8:1::3")
        try locked { try store.syncWithOtherWriters(rangeSets: 2) }
        #expect(try store.addresses(of: y) == [ip("2001:db8:1::3")])
        #expect(fileText("\(indexDir)/ctrY.65746830") == "2001:db8:1::3\n")
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::2")])
        // Same for a set we never wrote to.
        try scratch.write("net/10.0.0.2", "ctrZ\r\neth0")
        try scratch.write("net/last_reserved_ip.1", "10.0.0.2")
        try locked { try store.syncWithOtherWriters(rangeSets: 2) }
        #expect(try store.addresses(of: .init(containerID: "ctrZ", ifname: "eth0")) == [ip("10.0.0.2")])
    }

    @Test func firstUseOfAnExistingReferenceDirectoryBuildsTheIndex() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try scratch.write("net/2001:db8:1::2", "ctrX\r\neth0")
        try scratch.write("net/2001:db8:1::3", "ctrY\r\neth0")
        try scratch.write("net/10.1.2.2", "ctrX\r\neth0")
        try scratch.write("net/last_reserved_ip.0", "2001:db8:1::3")
        try scratch.write("net/lock", "")
        try locked { try store.syncWithOtherWriters(rangeSets: 1) }
        #expect(try Set(store.addresses(of: x)) == [ip("2001:db8:1::2"), ip("10.1.2.2")])
        #expect(try store.addresses(of: y) == [ip("2001:db8:1::3")])
        #expect(Set(indexFiles) == ["ctrX.65746830", "ctrY.65746830"])
        #expect(fileExists("\(indexDir)/seen"))
    }

    @Test func anIndexEntryThatLostItsAttributeIsRebuiltFromTheLeases() throws {
        try locked {
            try store.syncWithOtherWriters(rangeSets: 1)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
        }
        // The store copied without attributes: the index entry is a plain copy of the lease file.
        let index = "\(indexDir)/ctrX.65746830"
        #expect(indexText(index) == "2001:db8:1::2\n")
        try FileManager.default.removeItem(atPath: index)
        try scratch.write("net/.v6cni/ctrX.65746830", "ctrX\r\neth0")
        #expect(try locked { try store.release(x) } == [ip("2001:db8:1::2")])
        #expect(!fileExists("\(dir)/2001:db8:1::2"))
        #expect(!fileExists(index))
    }

    @Test func staleIndexEntriesAreIgnored() throws {
        try locked {
            try store.syncWithOtherWriters(rangeSets: 1)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
        }
        // X's index claims ::5 (never created: a process killed between index and lease) and ::6,
        // which now belongs to Y (X's lease was freed by someone else, then reused).
        try scratch.write("net/.v6cni/ctrX.65746830", "2001:db8:1::2\n2001:db8:1::5\n2001:db8:1::6\n")
        try scratch.write("net/2001:db8:1::6", "ctrY\r\neth0")
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::2")])
        #expect(try locked { try store.release(x) } == [ip("2001:db8:1::2")])
        #expect(fileText("\(dir)/2001:db8:1::6") == "ctrY\r\neth0")
        #expect(!fileExists("\(indexDir)/ctrX.65746830"))
        // A stale entry does not block reserving the address for someone else.
        #expect(try locked { try store.reserve(ip("2001:db8:1::5"), for: y, rangeSet: 0) })
    }

    @Test func legacyIDOnlyLeases() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try scratch.write("net/2001:db8:1::7", "ctrX")          // pre-0.7 reference: only the ID
        try scratch.write("net/2001:db8:1::8", "  ctrY \n")    // whitespace trimmed
        try scratch.write("net/last_reserved_ip.0", "2001:db8:1::8")
        try locked { try store.syncWithOtherWriters(rangeSets: 1) }
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::7")])
        #expect(try store.owner(of: ip("2001:db8:1::7")) == LeaseStore.Owner(containerID: "ctrX", ifname: ""))
        #expect(try locked { try store.release(x) } == [ip("2001:db8:1::7")])
        #expect(!fileExists("\(dir)/2001:db8:1::7"))
        #expect(try store.addresses(of: .init(containerID: "ctrY", ifname: "eth1")) == [ip("2001:db8:1::8")])
        #expect(try store.addresses(of: .init(containerID: "ctrZ", ifname: "eth0")).isEmpty)
    }

    @Test func ownerFileContentParsing() {
        #expect(LeaseStore.Owner(fileContent: Array("abc\r\neth0".utf8)) == .init(containerID: "abc", ifname: "eth0"))
        #expect(LeaseStore.Owner(fileContent: Array(" abc \r\n eth0\n".utf8)) == .init(containerID: "abc", ifname: "eth0"))
        #expect(LeaseStore.Owner(fileContent: Array("abc".utf8)) == .init(containerID: "abc", ifname: ""))
        #expect(LeaseStore.Owner(fileContent: []) == nil)
        #expect(LeaseStore.Owner(fileContent: Array(" \r\neth0".utf8)) == nil)
        #expect(LeaseStore.Owner(containerID: "abc", ifname: "eth0").fileContent == Array("abc\r\neth0".utf8))
    }

    @Test func allLeasesSkipsEverythingThatIsNotALease() throws {
        try locked {
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
            _ = try store.reserve(ip("10.0.0.2"), for: y, rangeSet: 1)
        }
        try scratch.write("net/2001:0db8:1::9", "ctrQ\r\neth0")   // not the canonical name
        try scratch.write("net/2001:db8:1::a", "")                 // empty: not a lease
        try scratch.write("net/notes.txt", "ctrQ\r\neth0")
        let leases = try store.allLeases()
        #expect(Set(leases.map(\.address)) == [ip("2001:db8:1::2"), ip("10.0.0.2")])
        #expect(Set(leases.map(\.owner)) == [x, y])
    }

    @Test func ownerlessLeaseFiles() throws {
        try locked { _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0) }
        try scratch.write("net/2001:db8:1::3", "")
        try scratch.write("net/2001:db8:1::4", "\r\n")
        try scratch.write("net/2001:db8:1::5", "legacy")
        try scratch.write("net/2001:0db8:1::6", "")   // not a lease name
        #expect(try Set(store.ownerlessLeases()) == [ip("2001:db8:1::3"), ip("2001:db8:1::4")])
        // An ownerless file still blocks its address: it is never overwritten.
        #expect(try !locked { try store.reserve(ip("2001:db8:1::3"), for: y, rangeSet: 0) })
    }

    @Test func ioFailuresInsideTheLockAreCode5() throws {
        let e = cniError {
            try store.withLock(timeout: 1) { throw FileSystem.Failure(operation: "reading", path: "/x", errno: EIO) }
        }
        #expect(e?.code == 5)
        #expect(e?.msg.contains("reading /x") == true)
        let passthrough = cniError { try store.withLock(timeout: 1) { throw CNIError(code: 101, "full") } }
        #expect(passthrough?.code == 101)
    }

    @Test func atomicWritesNeverLeaveHalfFiles() throws {
        try FileManager.default.createDirectory(atPath: indexDir, withIntermediateDirectories: true)
        let target = "\(dir)/2001:db8:1::2"
        // Exclusive, as a lease is made: a whole temporary linked into place only if nothing is there.
        func linkLease(_ text: String) throws -> Bool {
            let tmp = try FileSystem.createTemporary(Array(text.utf8), in: indexDir, suffix: "-lease").path
            defer { unlink(tmp) }
            return try FileSystem.link(tmp, to: target)
        }
        #expect(try linkLease("a\r\neth0"))
        #expect(try !linkLease("b\r\neth0"))
        #expect(fileText(target) == "a\r\neth0")
        #expect(mode(target) == 0o600)
        try FileSystem.writeAtomically(Array("c".utf8), to: target, temporaryDirectory: indexDir)
        #expect(fileText(target) == "c")
        #expect(listing(indexDir).isEmpty)  // no temporaries left
        // A temporary left by a killed process with our PID is replaced, not an error.
        try scratch.write("net/.v6cni/.tmp-\(getpid())", "junk")
        try FileSystem.writeAtomically(Array("d".utf8), to: target, temporaryDirectory: indexDir)
        #expect(fileText(target) == "d")
        #expect(listing(indexDir).isEmpty)
    }

    @Test func makeDirectoriesCreatesMissingParentsAndToleratesExisting() throws {
        let deep = "\(dir)/a/b/c"
        try FileSystem.makeDirectories(deep, mode: 0o700)
        #expect(mode(deep) == 0o700)
        #expect(mode("\(dir)/a") == 0o755 && mode("\(dir)/a/b") == 0o755)
        try FileSystem.makeDirectories(deep, mode: 0o700)  // exists: fine
        try scratch.write("net/file", "x")
        #expect(throws: FileSystem.Failure.self) { try FileSystem.makeDirectories("\(dir)/file/sub") }
    }

    /// In-place writes must never be torn by a SIGKILL: same or longer content is one pwrite on the
    /// same inode; shorter content (which a pwrite plus ftruncate could tear into "fd42::90") is
    /// renamed over, leaving exactly the new bytes.
    @Test func inPlaceWritesKeepTheInodeOrReplaceWhole() throws {
        try FileManager.default.createDirectory(atPath: indexDir, withIntermediateDirectories: true)
        let target = "\(dir)/last_reserved_ip.0"
        func inode() -> UInt { var st = stat(); return stat(target, &st) == 0 ? UInt(st.st_ino) : 0 }
        try FileSystem.writeInPlace(Array("fd42::9".utf8), to: target, temporaryDirectory: indexDir)
        #expect(fileText(target) == "fd42::9")
        #expect(mode(target) == 0o600)
        let first = inode()
        try FileSystem.writeInPlace(Array("fd42::a".utf8), to: target, temporaryDirectory: indexDir)
        try FileSystem.writeInPlace(Array("fd42::10".utf8), to: target, temporaryDirectory: indexDir)
        #expect(fileText(target) == "fd42::10")
        #expect(inode() == first)
        try FileSystem.writeInPlace(Array("fd42::2".utf8), to: target, temporaryDirectory: indexDir)
        #expect(fileText(target) == "fd42::2")
        #expect(inode() != first)
        #expect(listing(indexDir).isEmpty)
    }

    /// A rebuild that stops half-way (a SIGKILL, an I/O error) must not leave `seen` vouching for the
    /// half-empty index: the next call has to rebuild, or DEL would miss leases and ADD allow a second one.
    @Test func interruptedRebuildIsRedone() throws {
        try locked {
            try store.syncWithOtherWriters(rangeSets: 1)
            _ = try store.reserve(ip("2001:db8:1::2"), for: x, rangeSet: 0)
            _ = try store.reserve(ip("2001:db8:1::3"), for: y, rangeSet: 0)
        }
        // Make every index write fail: our temporary file's name is taken by a directory.
        let blocker = "\(indexDir)/.tmp-\(getpid())"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        #expect(cniError { try locked { try store.rebuildIndex() } }?.code == 5)
        try FileManager.default.removeItem(atPath: blocker)
        try locked { try store.syncWithOtherWriters(rangeSets: 1) }
        #expect(try store.addresses(of: x) == [ip("2001:db8:1::2")])
        #expect(try store.addresses(of: y) == [ip("2001:db8:1::3")])
    }

    @Test func lockWaitIsBoundedWithCode11() throws {
        try locked {}  // creates the directory and the lock file
        let fd = open("\(dir)/lock", O_RDWR)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)  // another open file description: conflicts like another process
        let start = Date()
        let e = cniError { try store.withLock(timeout: 0.4) {} }
        let waited = Date().timeIntervalSince(start)
        #expect(e?.code == 11)
        #expect(e?.msg.contains("locked") == true)
        #expect(waited >= 0.39 && waited < 3, "waited \(waited) s")
        flock(fd, LOCK_UN)
        #expect(throws: Never.self) { try store.withLock(timeout: 0.4) {} }
    }
}

@Suite struct LinesTests {
    @Test func oneItemPerLine() {
        #expect([String]().lines(terminated: true) == "")
        #expect(["a"].lines(terminated: false) == "a")
        #expect(["a", "b"].lines(terminated: false) == "a\nb")
        #expect(["fd42::3", "10.0.0.3"].lines(terminated: true) == "fd42::3\n10.0.0.3\n")
    }
}

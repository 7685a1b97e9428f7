#if canImport(Glibc)
import Glibc
#endif
import CNI
import IPAddressing

/// The on-disk lease store, byte-compatible with the reference host-local:
/// `<dataDir>/<network>/<ip>` holds `containerID\r\nifname`, `last_reserved_ip.<set>` the last address
/// handed out from a set, `lock` is flock'd around every change.
///
/// What we add lives in `.v6cni/`: one index entry per `(containerID, ifname)` naming its addresses, so
/// ADD's duplicate check and DEL cost O(1) instead of a directory walk. The entry is usually a second
/// name of the owner's first lease file, its addresses in the `user.v6cni.index` attribute: one inode
/// per ADD, as the reference plugin makes (a file of its own per owner doubled ext4's inode
/// allocations, the largest kernel cost of a host-local6 ADD under churn). Where attributes are not
/// kept, and after a rebuild, it is a file of its own listing the addresses; both are read. The index
/// is written *before* a lease is created and every entry is checked against the lease file when read,
/// so a process killed at any point leaves nothing the next call cannot free. A freed lease file is
/// kept as a spare for the next ADD (`SpareFiles`) instead of removed. Leases another program
/// (the reference plugin) creates are noticed through `last_reserved_ip.<set>`, which it rewrites on
/// every allocation: when that file is not as we last left it, the index is rebuilt once.
///
/// Every method other than `init` must be called with the lock held (`withLock`). Within one hold
/// nobody else changes the store, so what was read or written once is remembered until the lock is
/// released instead of read again (an ADD read `seen`, `last_reserved_ip` and its index twice or
/// three times).
public final class LeaseStore {
    public let directory: String
    let indexDirectory: String
    let spares: SpareFiles
    private var indexCache: [Owner: [IPAddress]] = [:]
    private var seenCache: [String]?
    private var lastReservedCache: [Int: String?] = [:]  // set → file content, nil when it does not exist

    public struct Owner: Hashable, Sendable {
        public var containerID: String
        public var ifname: String
        public init(containerID: String, ifname: String) { self.containerID = containerID; self.ifname = ifname }

        var fileContent: [UInt8] { Array("\(containerID)\r\n\(ifname)".utf8) }

        init?(fileContent bytes: [UInt8]) {
            let text = String(decoding: bytes, as: UTF8.self)
            let lines = text.split(separator: "\r\n" as Character, maxSplits: 1, omittingEmptySubsequences: false)
            let id = lines[0].trimmingWhitespace
            guard !id.isEmpty else { return nil }
            containerID = id
            ifname = lines.count > 1 ? lines[1].trimmingWhitespace : ""  // "" = a legacy ID-only lease
        }
    }

    public struct Lease: Hashable, Sendable {
        public var address: IPAddress
        public var owner: Owner
    }

    public init(dataDir: String, network: String) {
        directory = "\(dataDir)/\(network)"
        indexDirectory = "\(directory)/.v6cni"
        spares = SpareFiles(directory: indexDirectory)
    }

    /// Runs `body` holding the store's lock (creating the directories on first use).
    public func withLock<T>(timeout: Double, _ body: () throws -> T) throws -> T {
        do {
            try FileSystem.makeDirectories(directory)
            try FileSystem.makeDirectories(indexDirectory)
        } catch { throw error.cniError }
        let lock = try FileLock(path: "\(directory)/lock", timeout: timeout)
        forgetReads()
        defer { forgetReads() }
        let result: T
        do { result = try body() } catch { throw error.cniError }  // I/O failures are code 5, not 999
        _ = consume lock
        return result
    }

    private func forgetReads() {
        indexCache = [:]
        seenCache = nil
        lastReservedCache = [:]
    }

    func leasePath(_ a: IPAddress) -> String { "\(directory)/\(a)" }

    func indexPath(_ owner: Owner) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for b in owner.ifname.utf8 { hex += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        let hexName = String(decoding: hex, as: UTF8.self)
        return "\(indexDirectory)/\(owner.containerID).\(hexName)"
    }

    // MARK: lookups

    /// Who holds `a`, or nil when it is free.
    public func owner(of a: IPAddress) throws(FileSystem.Failure) -> Owner? {
        try FileSystem.read(leasePath(a)).flatMap(Owner.init(fileContent:))
    }

    public func isLeased(_ a: IPAddress) -> Bool { FileSystem.exists(leasePath(a)) }

    /// The addresses `owner` holds (plus legacy ID-only leases of its container), each confirmed by its
    /// lease file.
    public func addresses(of owner: Owner) throws(FileSystem.Failure) -> [IPAddress] {
        var found: [IPAddress] = []
        for candidate in [owner, Owner(containerID: owner.containerID, ifname: "")] {
            if candidate.ifname.isEmpty, owner.ifname.isEmpty, !found.isEmpty { break }
            for a in try indexEntries(candidate) where !found.contains(a) {
                if try self.owner(of: a) == candidate { found.append(a) }
            }
        }
        return found
    }

    static let indexAttribute = "user.v6cni.index"

    func indexEntries(_ owner: Owner) throws(FileSystem.Failure) -> [IPAddress] {
        if let known = indexCache[owner] { return known }
        let path = indexPath(owner)
        var entries: [IPAddress]
        switch try FileSystem.attribute(Self.indexAttribute, of: path) {
        case .value(let bytes):
            entries = Self.addresses(listed: bytes)
        case .noFile:
            entries = []
        case .absent:
            let bytes = try FileSystem.read(path) ?? []
            entries = Self.addresses(listed: bytes)
            // A lease's second name that lost its attribute (a copy without attributes): the
            // directory still knows, so rebuild the index from it once.
            if entries.isEmpty, Owner(fileContent: bytes) != nil {
                try rebuildIndex()
                return try indexEntries(owner)
            }
        }
        indexCache[owner] = entries
        return entries
    }

    static func addresses(listed bytes: [UInt8]) -> [IPAddress] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { IPAddress($0) }
    }

    static func listing(_ entries: [IPAddress]) -> [UInt8] {
        Array(entries.map { $0.description }.lines(terminated: true).utf8)
    }

    private func removeIndex(_ owner: Owner) throws(FileSystem.Failure) {
        try FileSystem.remove(indexPath(owner))
        indexCache[owner] = []
    }

    // MARK: changes

    /// Leases `a` to `owner`; false when someone holds it already.
    public func reserve(_ a: IPAddress, for owner: Owner, rangeSet: Int) throws(FileSystem.Failure) -> Bool {
        if isLeased(a) { return false }
        let held = try indexEntries(owner)
        let entries = held.contains(a) ? held : held + [a]
        // A spare DEL left, else a new file; its own suffix: writeIndex below may need the plain
        // temporary while this one is alive.
        let attribute = (name: Self.indexAttribute, value: Self.listing(entries))
        let lease: (path: String, attributeSet: Bool)
        if let spare = spares.take(owner.fileContent, attribute: attribute) {
            lease = spare
        } else {
            lease = try FileSystem.createTemporary(owner.fileContent, in: indexDirectory, suffix: "-lease", attribute: attribute)
        }
        defer { unlink(lease.path) }
        // Intent first: a crash after this leaves an entry DEL can clear. An owner's first address
        // makes the lease file's inode its index too.
        if entries != held {
            let linked = held.isEmpty && lease.attributeSet ? try FileSystem.link(lease.path, to: indexPath(owner)) : false
            if !linked { try writeIndex(owner, entries) }
            indexCache[owner] = entries
        }
        guard try FileSystem.link(lease.path, to: leasePath(a)) else {
            try writeIndex(owner, entries.filter { $0 != a })
            return false
        }
        // In place, as the reference writes it (one inode less per ADD than a rename).
        try FileSystem.writeInPlace(Array(a.description.utf8), to: lastReservedPath(rangeSet),
                                    temporaryDirectory: indexDirectory)
        lastReservedCache[rangeSet] = a.description
        try rememberLastReserved(rangeSet)
        return true
    }

    /// Frees every address `owner` holds; returns them.
    @discardableResult
    public func release(_ owner: Owner) throws(FileSystem.Failure) -> [IPAddress] {
        let held = try addresses(of: owner)
        for a in held where !spares.keep(leasePath(a)) { try FileSystem.remove(leasePath(a)) }
        try removeIndex(owner)
        if !owner.ifname.isEmpty, try !indexEntries(Owner(containerID: owner.containerID, ifname: "")).isEmpty {
            try removeIndex(Owner(containerID: owner.containerID, ifname: ""))
        }
        return held
    }

    /// Frees one address if `owner` holds it.
    public func release(_ a: IPAddress, of owner: Owner) throws(FileSystem.Failure) {
        if try self.owner(of: a) == owner, !spares.keep(leasePath(a)) { try FileSystem.remove(leasePath(a)) }
        let rest = try indexEntries(owner).filter { $0 != a }
        if rest.isEmpty { try removeIndex(owner) } else { try writeIndex(owner, rest) }
    }

    /// Rewrites an owner's index: in its attribute when it has one, else as a file of its own.
    func writeIndex(_ owner: Owner, _ entries: [IPAddress]) throws(FileSystem.Failure) {
        let listing = Self.listing(entries)
        if try !FileSystem.replaceAttribute(Self.indexAttribute, of: indexPath(owner), with: listing) {
            try FileSystem.writeAtomically(listing, to: indexPath(owner), temporaryDirectory: indexDirectory)
        }
        indexCache[owner] = entries
    }

    func lastReservedPath(_ set: Int) -> String { "\(directory)/last_reserved_ip.\(set)" }

    private func lastReservedContent(_ set: Int) throws(FileSystem.Failure) -> String? {
        if let known = lastReservedCache[set] { return known }
        let content = try FileSystem.readString(lastReservedPath(set))
        lastReservedCache[set] = content
        return content
    }

    public func lastReserved(rangeSet: Int) throws(FileSystem.Failure) -> IPAddress? {
        try lastReservedContent(rangeSet).flatMap { IPAddress($0.trimmingWhitespace) }
    }

    // MARK: leases made by others

    private var seenPath: String { "\(indexDirectory)/seen" }

    private func lastReservedStamp(_ set: Int) throws(FileSystem.Failure) -> String {
        guard let content = try lastReservedContent(set) else { return "\(set) -" }
        return "\(set) \(FileSystem.modificationTime(lastReservedPath(set)) ?? 0) \(content)"
    }

    /// The stamps in `seen`, or nil when there is no `seen` (first use, or a rebuild cut short).
    private func seenStamps() throws(FileSystem.Failure) -> [String]? {
        if let known = seenCache { return known }
        let stamps = try FileSystem.readString(seenPath).map { $0.split(separator: "\n").map(String.init) }
        seenCache = stamps
        return stamps
    }

    private func writeSeen(_ stamps: [String], inPlace: Bool) throws(FileSystem.Failure) {
        let bytes = Array(stamps.sorted().lines(terminated: false).utf8)
        if inPlace {
            try FileSystem.writeInPlace(bytes, to: seenPath, temporaryDirectory: indexDirectory)
        } else {
            try FileSystem.writeAtomically(bytes, to: seenPath, temporaryDirectory: indexDirectory)
        }
        seenCache = stamps
    }

    private func rememberLastReserved(_ set: Int) throws(FileSystem.Failure) {
        var stamps = (try seenStamps() ?? []).filter { !$0.hasPrefix("\(set) ") }
        stamps.append(try lastReservedStamp(set))
        try writeSeen(stamps, inPlace: true)
    }

    /// Rebuilds the index when another program allocated since we last looked (or on first use).
    public func syncWithOtherWriters(rangeSets: Int) throws(FileSystem.Failure) {
        let current = try (0..<rangeSets).map { i throws(FileSystem.Failure) in try lastReservedStamp(i) }
        let stored = try seenStamps()
        if let stored, current.allSatisfy({ stored.contains($0) }) { return }
        let seen = stored ?? []
        try rebuildIndex()
        let merged = seen.filter { s in !current.contains { $0.split(separator: " ").first == s.split(separator: " ").first } } + current
        try writeSeen(merged, inPlace: false)
    }

    /// Every lease in the directory (a walk: GC, STATUS and index rebuilds only).
    public func allLeases() throws(FileSystem.Failure) -> [Lease] {
        var leases: [Lease] = []
        for name in try FileSystem.list(directory) {
            guard let a = IPAddress(name), a.description == name,
                  let owner = try FileSystem.read("\(directory)/\(name)").flatMap(Owner.init(fileContent:)) else { continue }
            leases.append(Lease(address: a, owner: owner))
        }
        return leases
    }

    /// Files named like a lease but naming no owner (empty or blank): left by a writer killed between
    /// creating and writing one (the reference plugin creates, then writes). Nobody's attachment.
    public func ownerlessLeases() throws(FileSystem.Failure) -> [IPAddress] {
        var found: [IPAddress] = []
        for name in try FileSystem.list(directory) {
            guard let a = IPAddress(name), a.description == name,
                  let bytes = try FileSystem.read("\(directory)/\(name)"), Owner(fileContent: bytes) == nil else { continue }
            found.append(a)
        }
        return found
    }

    /// Temporary files of writers that were killed mid-write (their process is gone).
    public func removeStaleTemporaryFiles() throws(FileSystem.Failure) {
        for name in try FileSystem.list(indexDirectory) where name.hasPrefix(".tmp-") {
            guard let pid = Int32(name.dropFirst(5).prefix { $0.isNumber }), pid != getpid(), kill(pid, 0) != 0,
                  errno == ESRCH else { continue }
            try FileSystem.remove("\(indexDirectory)/\(name)")
        }
    }

    func rebuildIndex() throws(FileSystem.Failure) {
        // Until the rebuild completes, `seen` must not vouch for a half-built index: without it the
        // next call rebuilds again (an interrupted GC or sync would otherwise hide leases from DEL/ADD).
        try FileSystem.remove(seenPath)
        seenCache = nil
        for name in try FileSystem.list(indexDirectory) where name != "seen" && !name.hasPrefix(".tmp-") {
            try FileSystem.remove("\(indexDirectory)/\(name)")
        }
        indexCache = [:]
        var byOwner: [Owner: [IPAddress]] = [:]
        for lease in try allLeases() { byOwner[lease.owner, default: []].append(lease.address) }
        for (owner, addresses) in byOwner { try writeIndex(owner, addresses.sorted()) }
    }
}

extension FileSystem.Failure {
    var asCNIError: CNIError { cniError }
}

extension Error {
    var cniError: CNIError {
        if let e = self as? CNIError { return e }
        if let e = self as? FileSystem.Failure { return e.cniError }
        return CNIError(.ioFailure, "\(self)")
    }
}

extension Array where Element == String {
    /// The items one per line. A plain loop: the standard library's generic `joined(separator:)`,
    /// unspecialised here, cost host-local6 a tenth of its instructions in metadata lookups.
    func lines(terminated: Bool) -> String {
        var text = ""
        for (i, item) in enumerated() {
            if i > 0 { text += "\n" }
            text += item
        }
        if terminated, !isEmpty { text += "\n" }
        return text
    }
}

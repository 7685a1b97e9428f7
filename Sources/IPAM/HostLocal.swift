#if canImport(Glibc)
import Glibc
#endif
import CNI
import IPAddressing

/// host-local6's verbs, on top of `HostLocalConfig` and `LeaseStore`.
public struct HostLocal: Plugin {
    public init() {}

    public var about: String { "host-local6: IPv6-first host-local IPAM (v6cni)" }

    /// CNI_ARGS keys this plugin reads.
    static let knownArgs: Set<String> = ["IP"]

    func prepare(_ request: Request) throws -> (HostLocalConfig, LeaseStore, LeaseStore.Owner) {
        try request.env.args.validate(known: Self.knownArgs)
        let config = try HostLocalConfig(request: request)
        let store = LeaseStore(dataDir: config.dataDir, network: request.networkName)
        return (config, store, LeaseStore.Owner(containerID: request.env.containerID, ifname: request.env.ifname))
    }

    public func add(_ request: Request) throws -> CNIResult {
        let (config, store, owner) = try prepare(request)
        var result = CNIResult(routes: config.routes)
        if let path = config.resolvConf {
            let content: String?
            do { content = try FileSystem.readString(path) } catch { throw error.cniError }
            guard let text = content else {
                throw CNIError.invalidConfig("field \"ipam.resolvConf\": \(path) does not exist")
            }
            result.dns = ResolvConf.parse(text)
        }
        var requested = config.requestedIPs
        try store.withLock(timeout: config.lockTimeout) {
            try store.syncWithOtherWriters(rangeSets: config.rangeSets.count)
            let held = try store.addresses(of: owner)
            if !held.isEmpty {
                throw CNIError.invalidConfig("\(held.map(\.description).joined(separator: ", ")) already allocated to container \(owner.containerID) interface \(owner.ifname): duplicate allocation is not allowed")
            }
            do {
                for (i, set) in config.rangeSets.enumerated() {
                    let mine = requested.firstIndex { set.range(containing: $0) != nil }
                    let ip = try Allocator(set: set, setIndex: i, store: store)
                        .allocate(for: owner, requested: mine.map { requested[$0] })
                    if let mine { requested.remove(at: mine) }
                    result.ips.append(ip)
                }
                if !requested.isEmpty {
                    throw CNIError.invalidConfig("failed to allocate all requested IPs: \(requested.map(\.description).joined(separator: ", ")) not in any range set")
                }
            } catch {
                _ = try? store.release(owner)
                throw error.cniError
            }
        }
        return result
    }

    public func del(_ request: Request) throws {
        let (config, store, owner) = try prepare(request)
        try store.withLock(timeout: config.lockTimeout) {
            try store.syncWithOtherWriters(rangeSets: config.rangeSets.count)
            try store.release(owner)
        }
    }

    public func check(_ request: Request) throws {
        let (config, store, owner) = try prepare(request)
        let prev = try request.prevResult()
        try store.withLock(timeout: config.lockTimeout) {
            try store.syncWithOtherWriters(rangeSets: config.rangeSets.count)
            let held = try store.addresses(of: owner)
            if held.isEmpty {
                throw CNIError(code: 100, "host-local6: no address is leased to container \(owner.containerID) interface \(owner.ifname)")
            }
            for ip in prev?.ips ?? [] where config.rangeSets.contains(where: { $0.range(containing: ip.address.address) != nil }) {
                if !held.contains(ip.address.address) {
                    throw CNIError(code: 100, "host-local6: \(ip.address.address) from prevResult is not leased to container \(owner.containerID) interface \(owner.ifname)")
                }
            }
        }
    }

    public func status(_ request: Request) throws {
        let config = try HostLocalConfig(request: request)
        let store = LeaseStore(dataDir: config.dataDir, network: request.networkName)
        do {
            try FileSystem.makeDirectories(store.directory)
        } catch {
            throw CNIError(.notAvailable, "data directory \(store.directory) cannot be created: \(error)")
        }
        guard access(store.directory, W_OK) == 0 else {
            throw CNIError(.notAvailable, "data directory \(store.directory) is not writable")
        }
        let leases = try store.withLock(timeout: config.lockTimeout) { try store.allLeases() }
        for (i, set) in config.rangeSets.enumerated() {
            let capacity = set.reduce(UInt128(0)) { total, r in
                let gatewayInside: UInt128 = r.gateway.map { r.contains($0) ? 1 : 0 } ?? 0
                return total &+ (r.size - gatewayInside)
            }
            let used = UInt128(leases.filter { set.range(containing: $0.address) != nil }.count)
            if used >= capacity {
                throw CNIError(.notAvailable, "range set \(i) (\(set.description)) is exhausted: \(used) of \(capacity) addresses leased")
            }
        }
    }

    public func gc(_ request: Request) throws {
        let config = try HostLocalConfig(request: request)
        guard let valid = try request.validAttachments() else { return }
        let keep = Set(valid.map { LeaseStore.Owner(containerID: $0.containerID, ifname: $0.ifname) })
        let keepIDs = Set(valid.map(\.containerID))
        let store = LeaseStore(dataDir: config.dataDir, network: request.networkName)
        var failures: [String] = []
        try store.withLock(timeout: config.lockTimeout) {
            for lease in try store.allLeases() {
                let inUse = lease.owner.ifname.isEmpty ? keepIDs.contains(lease.owner.containerID) : keep.contains(lease.owner)
                if inUse { continue }
                do { try FileSystem.remove(store.leasePath(lease.address)) } catch { failures.append("\(error)") }
            }
            for a in try store.ownerlessLeases() {
                do { try FileSystem.remove(store.leasePath(a)) } catch { failures.append("\(error)") }
            }
            try store.rebuildIndex()
            try store.removeStaleTemporaryFiles()
        }
        if !failures.isEmpty {
            throw CNIError(.ioFailure, "GC could not release every stale lease", details: failures.joined(separator: "; "))
        }
    }
}

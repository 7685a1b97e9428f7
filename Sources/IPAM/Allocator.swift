import CNI
import IPAddressing

/// Hands out one address from one range set: round-robin from the address after the set's last
/// reservation, wrapping across the set's ranges, never the gateway (as the reference host-local).
struct Allocator {
    let set: RangeSet
    let setIndex: Int
    let store: LeaseStore

    /// Upper bound on candidates probed, so a huge, nearly full prefix fails instead of spinning.
    static let maxProbes = 1 << 20

    func allocate(for owner: LeaseStore.Owner, requested: IPAddress?) throws -> CNIResult.IPConfig {
        if let requested {
            guard let range = set.range(containing: requested) else {
                throw CNIError.invalidConfig("requested IP address \(requested) is not in range set \(set.description)")
            }
            if requested == range.gateway {
                throw CNIError.invalidConfig("requested IP address \(requested) is the gateway of range set \(set.description)")
            }
            guard try store.reserve(requested, for: owner, rangeSet: setIndex) else {
                throw CNIError.invalidConfig("requested IP address \(requested) is not available in range set \(set.description)")
            }
            return config(requested, range)
        }
        var rangeIndex = 0
        var candidate = set[0].start
        if let last = try store.lastReserved(rangeSet: setIndex), let i = set.firstIndex(where: { $0.contains(last) }) {
            rangeIndex = i
            candidate = last
            advance(&rangeIndex, &candidate)
        }
        let first = (rangeIndex, candidate)
        var probes = 0
        repeat {
            let range = set[rangeIndex]
            if candidate != range.gateway, try store.reserve(candidate, for: owner, rangeSet: setIndex) {
                return config(candidate, range)
            }
            advance(&rangeIndex, &candidate)
            probes += 1
        } while (rangeIndex, candidate) != first && probes < Self.maxProbes
        throw CNIError(code: 101, "no IP addresses available in range set: \(set.description)")
    }

    private func advance(_ rangeIndex: inout Int, _ candidate: inout IPAddress) {
        if candidate < set[rangeIndex].end, let n = candidate.next {
            candidate = n
        } else {
            rangeIndex = (rangeIndex + 1) % set.count
            candidate = set[rangeIndex].start
        }
    }

    private func config(_ a: IPAddress, _ range: AddressRange) -> CNIResult.IPConfig {
        CNIResult.IPConfig(address: IPPrefix(address: a, length: range.subnet.length)!, gateway: range.gateway)
    }
}

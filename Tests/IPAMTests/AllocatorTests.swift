import Testing
import IPAddressing
@testable import CNI
@testable import IPAM

/// The round-robin allocator over a real lease store in a scratch directory (allocator_test.go).
@Suite struct AllocatorTests {
    let scratch = ScratchDirectory("alloc")
    var store: LeaseStore { LeaseStore(dataDir: scratch.path, network: "net") }

    func owner(_ n: Int, _ ifname: String = "eth0") -> LeaseStore.Owner { .init(containerID: "ctr\(n)", ifname: ifname) }

    /// Allocates one address for `owner` from `set` (set index `index`) under the store's lock.
    func allocate(_ set: RangeSet, _ owner: LeaseStore.Owner, requested: String? = nil, index: Int = 0) throws -> CNIResult.IPConfig {
        let store = self.store
        return try store.withLock(timeout: 5) {
            try Allocator(set: set, setIndex: index, store: store).allocate(for: owner, requested: requested.map(ip))
        }
    }

    func lastReserved(_ index: Int = 0) -> String? { fileText("\(scratch.path)/net/last_reserved_ip.\(index)") }

    @Test func firstLeaseOfASlash64IsNetworkPlusTwo() throws {
        let set: RangeSet = [try range("2001:db8:1::/64")]
        let a = try allocate(set, owner(1))
        #expect(a.address == prefix("2001:db8:1::2/64"))
        #expect(a.gateway == ip("2001:db8:1::1"))
        #expect(try allocate(set, owner(2)).address == prefix("2001:db8:1::3/64"))
        #expect(lastReserved() == "2001:db8:1::3")
        #expect(fileText("\(scratch.path)/net/2001:db8:1::2") == "ctr1\r\neth0")
        #expect(fileText("\(scratch.path)/net/2001:db8:1::3") == "ctr2\r\neth0")
    }

    @Test func ipv4NeverHandsOutNetworkGatewayOrBroadcast() throws {
        let set: RangeSet = [try range("192.0.2.0/29")]
        var got: [String] = []
        for n in 0..<5 { got.append(try allocate(set, owner(n)).address.description) }
        #expect(got == ["192.0.2.2/29", "192.0.2.3/29", "192.0.2.4/29", "192.0.2.5/29", "192.0.2.6/29"])
        let e = cniError { _ = try allocate(set, owner(9)) }
        #expect(e?.code == 101)
        #expect(e?.msg.hasPrefix("no IP addresses available in range set") == true)
    }

    @Test func continuesAfterLastReservedAndWraps() throws {
        let set: RangeSet = [try range("2001:db8:1::/64", start: "2001:db8:1::10", end: "2001:db8:1::12")]
        try store.withLock(timeout: 5) {}  // creates the directory
        try scratch.write("net/last_reserved_ip.0", "2001:db8:1::10")
        #expect(try allocate(set, owner(1)).address.address == ip("2001:db8:1::11"))
        #expect(try allocate(set, owner(2)).address.address == ip("2001:db8:1::12"))
        #expect(try allocate(set, owner(3)).address.address == ip("2001:db8:1::10"))  // wrapped
        #expect(cniError { _ = try allocate(set, owner(4)) }?.code == 101)
    }

    @Test func lastReservedOutsideTheSetStartsAtTheBeginning() throws {
        let set: RangeSet = [try range("2001:db8:1::/64")]
        try store.withLock(timeout: 5) {}
        try scratch.write("net/last_reserved_ip.0", "2001:db8:99::5")
        #expect(try allocate(set, owner(1)).address.address == ip("2001:db8:1::2"))
        try scratch.write("net/last_reserved_ip.0", "garbage")
        #expect(try allocate(set, owner(2)).address.address == ip("2001:db8:1::3"))
    }

    @Test func wrapSkipsTheGatewayAtRangeStart() throws {
        let set: RangeSet = [try range("2001:db8:1::/126")]  // ::1 (gateway) … ::3
        #expect(try allocate(set, owner(1)).address.address == ip("2001:db8:1::2"))
        #expect(try allocate(set, owner(2)).address.address == ip("2001:db8:1::3"))
        let e = cniError { _ = try allocate(set, owner(3)) }
        #expect(e?.code == 101)
        #expect(e?.msg == "no IP addresses available in range set: 2001:db8:1::1-2001:db8:1::3")
        #expect(!fileExists("\(scratch.path)/net/2001:db8:1::1"))
        #expect(!fileExists("\(scratch.path)/net/2001:db8:1::"))
    }

    @Test func multiRangeSetAdvancesAndRolls() throws {
        let set: RangeSet = [try range("2001:db8:1::/126"), try range("2001:db8:2::/126")]
        var got: [IPAddress] = []
        for n in 0..<4 { got.append(try allocate(set, owner(n)).address.address) }
        #expect(got == [ip("2001:db8:1::2"), ip("2001:db8:1::3"), ip("2001:db8:2::2"), ip("2001:db8:2::3")])
        #expect(cniError { _ = try allocate(set, owner(9)) }?.code == 101)
        // Free one in the first range: the next allocation rolls over from the second range to it.
        try store.withLock(timeout: 5) { _ = try store.release(owner(1)) }
        let again = try allocate(set, owner(10))
        #expect(again.address == prefix("2001:db8:1::3/126"))
        #expect(again.gateway == ip("2001:db8:1::1"))
    }

    @Test func multiRangeGatewayIsTheRangesOwn() throws {
        let set: RangeSet = [try range("10.1.2.0/30"), try range("10.2.2.0/24", start: "10.2.2.100", end: "10.2.2.101")]
        #expect(try allocate(set, owner(1)).gateway == ip("10.1.2.1"))
        let second = try allocate(set, owner(2))
        #expect(second.address == prefix("10.2.2.100/24"))
        #expect(second.gateway == ip("10.2.2.1"))
    }

    @Test func ipv4Slash30HasOneAddress() throws {
        let set: RangeSet = [try range("192.0.2.0/30")]
        #expect(try allocate(set, owner(1)).address == prefix("192.0.2.2/30"))
        #expect(cniError { _ = try allocate(set, owner(2)) }?.msg == "no IP addresses available in range set: 192.0.2.1-192.0.2.2")
    }

    @Test func releaseThenNextAllocationMovesOn() throws {
        let set: RangeSet = [try range("2001:db8:1::/64")]
        #expect(try allocate(set, owner(1)).address.address == ip("2001:db8:1::2"))
        try store.withLock(timeout: 5) { _ = try store.release(owner(1)) }
        #expect(!fileExists("\(scratch.path)/net/2001:db8:1::2"))
        // Round robin: a freed address is not handed out again right away.
        #expect(try allocate(set, owner(2)).address.address == ip("2001:db8:1::3"))
    }

    @Test func fullExceptOne() throws {
        let set: RangeSet = [try range("2001:db8:1::/64", start: "2001:db8:1::10", end: "2001:db8:1::1f")]
        try store.withLock(timeout: 5) {
            for n in 0x10...0x1f where n != 0x17 {
                let ok = try store.reserve(ip("2001:db8:1::\(String(n, radix: 16))"), for: owner(n), rangeSet: 0)
                #expect(ok)
            }
        }
        #expect(try allocate(set, owner(99)).address.address == ip("2001:db8:1::17"))
        #expect(cniError { _ = try allocate(set, owner(100)) }?.code == 101)
    }

    @Test func requestedAddress() throws {
        let set: RangeSet = [try range("2001:db8:1::/64", start: "2001:db8:1::100", end: "2001:db8:1::1ff")]
        let got = try allocate(set, owner(1), requested: "2001:db8:1::150")
        #expect(got.address == prefix("2001:db8:1::150/64"))
        #expect(fileText("\(scratch.path)/net/2001:db8:1::150") == "ctr1\r\neth0")
        #expect(lastReserved() == "2001:db8:1::150")

        let taken = cniError { _ = try allocate(set, owner(2), requested: "2001:db8:1::150") }
        #expect(taken?.code == 7)
        #expect(taken?.msg == "requested IP address 2001:db8:1::150 is not available in range set 2001:db8:1::100-2001:db8:1::1ff")
        #expect(fileText("\(scratch.path)/net/2001:db8:1::150") == "ctr1\r\neth0")

        let outside = cniError { _ = try allocate(set, owner(3), requested: "2001:db8:1::5") }
        #expect(outside?.msg.contains("is not in range set") == true)
        #expect(!fileExists("\(scratch.path)/net/2001:db8:1::5"))

        let gwSet: RangeSet = [try range("2001:db8:2::/64")]
        let gw = cniError { _ = try allocate(gwSet, owner(4), requested: "2001:db8:2::1", index: 1) }
        #expect(gw?.msg.contains("is the gateway") == true)
        #expect(!fileExists("\(scratch.path)/net/2001:db8:2::1"))
        #expect(listing("\(scratch.path)/net/.v6cni").filter { $0.hasPrefix("ctr") } == [LeaseStore.Owner(containerID: "ctr1", ifname: "eth0")].map { store.indexPath($0).split(separator: "/").last.map(String.init)! })
    }

    @Test func eachSetHasItsOwnLastReserved() throws {
        let v6: RangeSet = [try range("2001:db8:1::/64")]
        let v4: RangeSet = [try range("10.1.2.0/24")]
        _ = try allocate(v4, owner(1), index: 0)
        _ = try allocate(v6, owner(1), index: 1)
        _ = try allocate(v6, owner(2), index: 1)
        #expect(lastReserved(0) == "10.1.2.2")
        #expect(lastReserved(1) == "2001:db8:1::3")
    }
}

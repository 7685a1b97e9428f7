import Testing
import IPAddressing
@testable import CNI
@testable import IPAM

/// `AddressRange.canonicalize`: the reference host-local's defaults and refusals (range_test.go).
@Suite struct AddressRangeTests {
    @Test func ipv6Slash64Defaults() throws {
        let r = try range("2001:db8:1::/64")
        #expect(r.start == ip("2001:db8:1::1"))
        #expect(r.end == ip("2001:db8:1::ffff:ffff:ffff:ffff"))
        #expect(r.gateway == ip("2001:db8:1::1"))
        #expect(r.size == UInt128(1) << 64 - 1)
    }

    @Test func ipv4ExcludesBroadcast() throws {
        let r = try range("192.0.2.0/24")
        #expect(r.start == ip("192.0.2.1"))
        #expect(r.end == ip("192.0.2.254"))
        #expect(r.gateway == ip("192.0.2.1"))
        #expect(!r.contains(ip("192.0.2.255")))
        #expect(!r.contains(ip("192.0.2.0")))
        #expect(r.size == 254)
    }

    @Test func smallestAllowedPrefixes() throws {
        let v6 = try range("2001:db8::/126")
        #expect(v6.start == ip("2001:db8::1") && v6.end == ip("2001:db8::3"))
        let v4 = try range("192.0.2.0/30")
        #expect(v4.start == ip("192.0.2.1") && v4.end == ip("192.0.2.2"))
    }

    @Test(arguments: ["2001:db8::/127", "2001:db8::/128", "192.0.2.0/31", "192.0.2.1/32"])
    func tooSmallIsRejected(_ subnet: String) {
        let e = cniError { _ = try range(subnet) }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("too small") == true, "\(e?.msg ?? "")")
        #expect(e?.msg.contains("test.subnet") == true)
    }

    @Test func hostBitsAreRejectedWithTheNetworkAddress() throws {
        let e = cniError { _ = try range("2001:db8:1::1/64") }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("has host bits set") == true, "\(e?.msg ?? "")")
        #expect(e?.msg.contains("2001:db8:1::") == true)
        let e63 = cniError { _ = try range("2001:db8:1:1::/63") }
        #expect(e63?.msg.contains("has host bits set") == true)
        #expect(e63?.msg.contains("network address is 2001:db8:1::") == true, "\(e63?.msg ?? "")")
        let v4 = cniError { _ = try range("10.1.2.3/24") }
        #expect(v4?.msg.contains("network address is 10.1.2.0") == true)
        #expect(try range("2001:db8:1::/63").start == ip("2001:db8:1::1"))
    }

    @Test func explicitBoundsAndGatewayAreKept() throws {
        let r = try range("2001:db8:1::/64", start: "2001:db8:1::100", end: "2001:db8:1::1ff", gateway: "2001:db8:1::fffe")
        #expect(r.start == ip("2001:db8:1::100"))
        #expect(r.end == ip("2001:db8:1::1ff"))
        #expect(r.gateway == ip("2001:db8:1::fffe"))
        #expect(r.size == 256)
        #expect(r.contains(ip("2001:db8:1::150")))
        #expect(!r.contains(ip("2001:db8:1::200")))
        #expect(!r.contains(ip("2001:db8:1::ff")))
    }

    @Test func badBoundsAreRejectedNamingTheField() {
        let outside = cniError { _ = try range("2001:db8:1::/64", start: "2001:db8:2::5") }
        #expect(outside?.code == 7)
        #expect(outside?.msg.contains("test.rangeStart") == true, "\(outside?.msg ?? "")")
        let endOutside = cniError { _ = try range("2001:db8:1::/64", end: "2001:db8:2::5") }
        #expect(endOutside?.msg.contains("test.rangeEnd") == true)
        let reversed = cniError { _ = try range("2001:db8:1::/64", start: "2001:db8:1::9", end: "2001:db8:1::5") }
        #expect(reversed?.code == 7)
        #expect(reversed?.msg.contains("after rangeEnd") == true)
        let family = cniError { _ = try range("2001:db8:1::/64", gateway: "10.0.0.1") }
        #expect(family?.msg.contains("test.gateway") == true)
        let family2 = cniError { _ = try range("10.0.0.0/24", start: "2001:db8::1") }
        #expect(family2?.msg.contains("test.rangeStart") == true)
    }

    @Test func overlaps() throws {
        let a = try range("2001:db8:1::/64")
        let b = try range("2001:db8:1::/64", start: "2001:db8:1::100", end: "2001:db8:1::200")
        let c = try range("2001:db8:2::/64")
        let v4 = try range("10.0.0.0/8")
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!a.overlaps(c) && !c.overlaps(a))
        #expect(!a.overlaps(v4) && !v4.overlaps(a))
        // Same subnet, disjoint ranges: no overlap; touching at one address: overlap.
        let low = try range("2001:db8:1::/64", start: "2001:db8:1::1", end: "2001:db8:1::ff")
        let high = try range("2001:db8:1::/64", start: "2001:db8:1::100", end: "2001:db8:1::1ff")
        let touching = try range("2001:db8:1::/64", start: "2001:db8:1::ff", end: "2001:db8:1::100")
        #expect(!low.overlaps(high))
        #expect(low.overlaps(touching) && high.overlaps(touching))
        // A /48 contains the /64.
        #expect(try range("2001:db8::/32").overlaps(a))
    }

    @Test func rangeSetHelpers() throws {
        let set: RangeSet = [try range("2001:db8:1::/126"), try range("2001:db8:2::/126")]
        #expect(set.range(containing: ip("2001:db8:2::3"))?.subnet == prefix("2001:db8:2::/126"))
        #expect(set.range(containing: ip("2001:db8:3::1")) == nil)
        #expect(set.family == .v6)
        #expect(set.description == "2001:db8:1::1-2001:db8:1::3,2001:db8:2::1-2001:db8:2::3")
    }
}

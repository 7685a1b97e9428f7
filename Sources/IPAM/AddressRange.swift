import CNI
import IPAddressing

/// One range of a range set: a subnet, the part of it handed out, and its gateway.
public struct AddressRange: Sendable, Equatable {
    public var subnet: IPPrefix
    public var rangeStart: IPAddress?
    public var rangeEnd: IPAddress?
    public var gateway: IPAddress?

    public init(subnet: IPPrefix, rangeStart: IPAddress? = nil, rangeEnd: IPAddress? = nil, gateway: IPAddress? = nil) {
        self.subnet = subnet; self.rangeStart = rangeStart; self.rangeEnd = rangeEnd; self.gateway = gateway
    }

    /// One `{"subnet", "rangeStart", "rangeEnd", "gateway"}` object of a configuration.
    public init?(field: ConfigField) throws(CNIError) {
        guard let range = try field.object() else { return nil }
        self.init(subnet: try range["subnet"].required({ (f: ConfigField) throws(CNIError) in try f.prefix() }, expected: "a string"),
                  rangeStart: try range["rangeStart"].address(), rangeEnd: try range["rangeEnd"].address(),
                  gateway: try range["gateway"].address())
    }

    /// The reference host-local's defaults and checks: no host bits, not /127–/128 (/31–/32 for
    /// IPv4), gateway = network+1, start = network+1, end = last address (IPv4: before broadcast).
    public mutating func canonicalize(field: String) throws(CNIError) {
        let bits = subnet.address.bitWidth
        if subnet.length > bits - 2 {
            throw CNIError.invalidConfig("field \"\(field).subnet\": network \(subnet) is too small to allocate from: at most /\(bits - 2)")
        }
        if subnet.hasHostBits {
            throw CNIError.invalidConfig("field \"\(field).subnet\": network \(subnet) has host bits set: for a prefix of length \(subnet.length) the network address is \(subnet.networkAddress)")
        }
        let family = subnet.family
        for (name, value) in [("rangeStart", rangeStart), ("rangeEnd", rangeEnd), ("gateway", gateway)] {
            if let v = value, v.family != family {
                throw CNIError.invalidConfig("field \"\(field).\(name)\": \(v) is not of the same family as subnet \(subnet)")
            }
        }
        if gateway == nil { gateway = subnet.networkAddress.next }
        let firstHost = subnet.networkAddress.next!
        let lastHost = family == .v4 ? subnet.lastAddress.previous! : subnet.lastAddress
        if let s = rangeStart {
            guard subnet.contains(s) else {
                throw CNIError.invalidConfig("field \"\(field).rangeStart\": \(s) is not in network \(subnet)")
            }
        } else {
            rangeStart = firstHost
        }
        if let e = rangeEnd {
            guard subnet.contains(e) else {
                throw CNIError.invalidConfig("field \"\(field).rangeEnd\": \(e) is not in network \(subnet)")
            }
        } else {
            rangeEnd = lastHost
        }
        if rangeStart! > rangeEnd! {
            throw CNIError.invalidConfig("field \"\(field)\": rangeStart \(rangeStart!) is after rangeEnd \(rangeEnd!)")
        }
    }

    public var start: IPAddress { rangeStart! }
    public var end: IPAddress { rangeEnd! }

    public func contains(_ a: IPAddress) -> Bool {
        a.family == subnet.family && a >= start && a <= end
    }

    public func overlaps(_ other: AddressRange) -> Bool {
        subnet.family == other.subnet.family && !(end < other.start || other.end < start)
    }

    /// Number of addresses in the range (saturating at UInt128.max for ::/0-sized spans).
    public var size: UInt128 {
        let d = end.integer - start.integer
        return d == UInt128.max ? d : d + 1
    }
}

/// A pool of disjoint ranges of one family; one address is handed out per set.
public typealias RangeSet = [AddressRange]

extension Array where Element == AddressRange {
    public func range(containing a: IPAddress) -> AddressRange? { first { $0.contains(a) } }

    public var family: IPAddress.Family? { first?.subnet.family }

    public var description: String {
        map { "\($0.start)-\($0.end)" }.joined(separator: ",")
    }
}

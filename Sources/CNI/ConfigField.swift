import IPAddressing

/// One field of a network configuration, read by hand: typed getters that name the field's path in
/// their errors (`field "ipam.ranges[0][0].subnet": expected a string`, code 7).
///
/// Plugins read their options through this instead of `Decodable`: a plugin lives a few
/// milliseconds, and Codable's generic containers cost it about a fifth of its instructions
/// (generic metadata built at first use) and pages of code.
/// An absent field and `null` both read as nil; a required one reports `missing field "…"`.
public struct ConfigField: Sendable {
    /// nil when the key is absent.
    public let value: JSONValue?
    public let path: String

    public init(_ value: JSONValue?, path: String) {
        self.value = value
        self.path = path
    }

    public subscript(key: String) -> ConfigField {
        ConfigField(value?[key], path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// nil for absent and null.
    private var present: JSONValue? {
        guard let value, !value.isNull else { return nil }
        return value
    }

    public func mismatch(_ expected: String) -> CNIError {
        if value?.isNull ?? false { return CNIError.invalidConfig("field \"\(path)\": expected \(expected), got null") }
        return CNIError.invalidConfig("field \"\(path)\": expected \(expected)")
    }

    public func invalid(_ why: String) -> CNIError {
        CNIError.invalidConfig("field \"\(path)\": \(why)")
    }

    /// The field's value, or an error naming it when absent (null reads as the wrong type).
    public func required<T>(_ read: (ConfigField) throws(CNIError) -> T?, expected: String) throws(CNIError) -> T {
        guard value != nil else { throw CNIError.invalidConfig("missing field \"\(path)\"") }
        guard let v = try read(self) else { throw mismatch(expected) }
        return v
    }

    public func string() throws(CNIError) -> String? {
        guard let v = present else { return nil }
        guard case .string(let s) = v else { throw mismatch("a string") }
        return s
    }

    public func bool() throws(CNIError) -> Bool? {
        guard let v = present else { return nil }
        guard case .bool(let b) = v else { throw mismatch("a boolean") }
        return b
    }

    public func int() throws(CNIError) -> Int? {
        guard let v = present else { return nil }
        let found: Int?
        switch v {
        case .int(let i): found = Int(exactly: i)
        case .double(let d): found = Int(exactly: d)
        default: throw mismatch("an integer")
        }
        guard let found else { throw invalid("\(v.serialized()) does not fit in an integer") }
        return found
    }

    public func double() throws(CNIError) -> Double? {
        guard let v = present else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw mismatch("a number")
        }
    }

    /// The items of a list, each with its path (`name[3]`).
    public func list() throws(CNIError) -> [ConfigField]? {
        guard let v = present else { return nil }
        guard case .array(let items) = v else { throw mismatch("a list") }
        var fields: [ConfigField] = []
        fields.reserveCapacity(items.count)
        for (i, item) in items.enumerated() { fields.append(ConfigField(item, path: "\(path)[\(i)]")) }
        return fields
    }

    /// A list whose every item is read by `read`; a null item is an error naming it.
    public func list<T>(of read: (ConfigField) throws(CNIError) -> T?, expected: String) throws(CNIError) -> [T]? {
        guard let items = try list() else { return nil }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = try read(item) else { throw item.mismatch(expected) }
            out.append(v)
        }
        return out
    }

    public func strings() throws(CNIError) -> [String]? {
        try list(of: { (f: ConfigField) throws(CNIError) in try f.string() }, expected: "a string")
    }

    /// An object's presence checked, for fields that must be objects when given.
    public func object() throws(CNIError) -> ConfigField? {
        guard let v = present else { return nil }
        guard case .object = v else { throw mismatch("an object") }
        return self
    }

    public func prefix() throws(CNIError) -> IPPrefix? {
        guard let s = try string() else { return nil }
        guard let p = IPPrefix(s) else { throw invalid("invalid CIDR \"\(s)\"") }
        return p
    }

    public func address() throws(CNIError) -> IPAddress? {
        guard let s = try string() else { return nil }
        guard let a = IPAddress(s) else { throw invalid("invalid IP address \"\(s)\"") }
        return a
    }

    public func prefixes() throws(CNIError) -> [IPPrefix]? {
        try list(of: { (f: ConfigField) throws(CNIError) in try f.prefix() }, expected: "a string")
    }
}

extension Request {
    /// The configuration's top level, for `ConfigField` reads.
    public var field: ConfigField { ConfigField(config, path: "") }
}

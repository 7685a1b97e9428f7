/// CNI spec versions, ordered.
public struct CNIVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major; self.minor = minor; self.patch = patch
    }

    /// Parses `X.Y.Z` (non-negative integers).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isNumber) }),
              let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]) else { return nil }
        self.init(a, b, c)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (l: Self, r: Self) -> Bool {
        (l.major, l.minor, l.patch) < (r.major, r.minor, r.patch)
    }

    public static let v010 = CNIVersion(0, 1, 0)
    public static let v020 = CNIVersion(0, 2, 0)
    public static let v030 = CNIVersion(0, 3, 0)
    public static let v031 = CNIVersion(0, 3, 1)
    public static let v040 = CNIVersion(0, 4, 0)
    public static let v100 = CNIVersion(1, 0, 0)
    public static let v110 = CNIVersion(1, 1, 0)

    public static let supported: [CNIVersion] = [v010, v020, v030, v031, v040, v100, v110]
    public static let latest = v110

    /// Validates a config's `cniVersion`: missing means 0.1.0; unknown is code 1.
    public static func of(config value: String?) throws(CNIError) -> CNIVersion {
        guard let value else { return .v010 }
        guard let v = CNIVersion(value) else {
            throw CNIError(.incompatibleVersion, "invalid cniVersion \"\(value)\": expected one of \(supportedList)")
        }
        guard supported.contains(v) else {
            throw CNIError(.incompatibleVersion, "unsupported cniVersion \"\(value)\": this plugin supports \(supportedList)")
        }
        return v
    }

    static var supportedList: String { supported.map(\.description).joined(separator: ", ") }
}

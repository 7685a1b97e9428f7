/// The `CNI_*` variables of one invocation, validated for the verb.
public struct Environment: Sendable {
    public var command: Command
    public var containerID: String
    public var netns: String
    public var ifname: String
    public var args: CNIArgs
    public var path: [String]

    /// Reads and validates the variables the verb needs; reports every missing one at once (code 4).
    public init(command: Command, variables env: [String: String]) throws(CNIError) {
        self.command = command
        let missing = command.requiredVariables.filter { (env[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            throw CNIError(.invalidEnvironment, "required env variables [\(missing.joined(separator: ","))] missing")
        }
        containerID = env["CNI_CONTAINERID"] ?? ""
        netns = env["CNI_NETNS"] ?? ""
        ifname = env["CNI_IFNAME"] ?? ""
        path = (env["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        args = try CNIArgs(parsing: env["CNI_ARGS"] ?? "")
        if [.add, .del, .check].contains(command) {
            try Environment.validateContainerID(containerID)
            try Environment.validateInterfaceName(ifname)
        }
    }

    /// The spec's container ID rule `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, plus a length bound because
    /// the ID reaches file contents and index names.
    public static func validateContainerID(_ id: String) throws(CNIError) {
        if id.isEmpty { throw CNIError(.unknownContainer, "missing containerID") }
        guard id.utf8.count <= 200 else {
            throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is \(id.utf8.count) bytes long: at most 200 allowed")
        }
        guard matchesName(id) else {
            throw CNIError(.invalidEnvironment, "invalid characters in CNI_CONTAINERID \"\(id)\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        }
    }

    /// The kernel's and the spec's interface-name rules.
    public static func validateInterfaceName(_ name: String) throws(CNIError) {
        if name.isEmpty { throw CNIError(.invalidEnvironment, "CNI_IFNAME is empty") }
        guard name.utf8.count <= 15 else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" is \(name.utf8.count) bytes long: at most 15 allowed")
        }
        guard name != ".", name != ".." else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" is not a valid interface name")
        }
        guard !name.unicodeScalars.contains(where: { $0 == "/" || $0 == ":" || $0.properties.isWhitespace || $0.value == 0 }) else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" contains '/', ':' or whitespace")
        }
    }

    /// `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`
    public static func matchesName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard let first = u.first, isAlnum(first) else { return false }
        return u.dropFirst().allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
}

/// `CNI_ARGS`: `K=V;K=V`. `IgnoreUnknown=1|true` lets keys no plugin knows pass (kubelet sends it).
public struct CNIArgs: Sendable, Equatable {
    public var pairs: [(key: String, value: String)]

    public static func == (a: CNIArgs, b: CNIArgs) -> Bool {
        a.pairs.map(\.key) == b.pairs.map(\.key) && a.pairs.map(\.value) == b.pairs.map(\.value)
    }

    public init(parsing text: String) throws(CNIError) {
        pairs = []
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS: invalid pair \"\(item)\": expected KEY=VALUE")
            }
            pairs.append((String(kv[0]), String(kv[1])))
        }
    }

    public subscript(key: String) -> String? { pairs.last { $0.key == key }?.value }

    public var ignoreUnknown: Bool {
        guard let v = self["IgnoreUnknown"]?.lowercased() else { return false }
        return v == "1" || v == "true"
    }

    /// Refuses keys outside `known` unless `IgnoreUnknown` is set (the reference `types.LoadArgs`).
    /// The Kubernetes keys kubelet always sends are known to every plugin.
    public func validate(known: Set<String>) throws(CNIError) {
        if ignoreUnknown { return }
        let always: Set<String> = ["IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"]
        for (k, _) in pairs where !known.contains(k) && !always.contains(k) {
            throw CNIError(.invalidEnvironment, "CNI_ARGS: unknown key \"\(k)\" (set IgnoreUnknown=1 to ignore it)")
        }
    }
}

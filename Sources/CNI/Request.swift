import IPAddressing

/// One invocation: the validated environment plus the network configuration from stdin.
public struct Request: Sendable {
    public var env: Environment
    /// The whole configuration object as the runtime sent it.
    public var config: JSONValue
    /// The stdin bytes, unchanged (a delegated IPAM plugin receives exactly these).
    public var rawConfig: [UInt8]
    public var version: CNIVersion
    public var networkName: String
    public var pluginType: String

    public var command: Command { env.command }

    public init(env: Environment, rawConfig: [UInt8]) throws(CNIError) {
        self.env = env
        self.rawConfig = rawConfig
        let json: JSONValue
        do { json = try JSONValue.parse(rawConfig) } catch {
            throw CNIError(.decodingFailure, "network configuration on stdin is not valid JSON", details: "\(error)")
        }
        guard case .object = json else {
            throw CNIError(.decodingFailure, "network configuration on stdin must be a JSON object")
        }
        config = json
        let versionValue = json["cniVersion"]
        if let v = versionValue, !v.isNull, v.stringValue == nil {
            throw CNIError(.decodingFailure, "field \"cniVersion\": expected a string such as \"1.0.0\"")
        }
        version = try CNIVersion.of(config: versionValue?.stringValue)
        guard let name = json["name"]?.stringValue, !name.isEmpty else {
            throw CNIError.invalidConfig("missing network name: field \"name\" must be a non-empty string")
        }
        guard Environment.matchesName(name), name.utf8.count <= 128 else {
            throw CNIError.invalidConfig("invalid network name \"\(name)\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 bytes")
        }
        networkName = name
        pluginType = json["type"]?.stringValue ?? ""
        if version < env.command.introducedIn {
            throw CNIError(.incompatibleVersion, "config version \(version) does not allow \(env.command.rawValue): it needs cniVersion \(env.command.introducedIn) or later")
        }
    }

    /// `prevResult`, read in the request's version, or nil when absent.
    public func prevResult() throws(CNIError) -> CNIResult? {
        guard let p = config["prevResult"], !p.isNull else { return nil }
        return try CNIResult(json: p, defaultVersion: version)
    }

    public var runtimeConfig: JSONValue? { config["runtimeConfig"] }

    /// GC's set of attachments still in use: nil when the runtime sent no such key (release nothing),
    /// empty when it sent an empty list (nothing is valid). Reads the legacy `cni.dev/attachments` too.
    public func validAttachments() throws(CNIError) -> [Attachment]? {
        var found: [Attachment]? = nil
        for key in ["cni.dev/valid-attachments", "cni.dev/attachments"] {
            guard let v = config[key] else { continue }
            var list = found ?? []
            if case .array(let items) = v {
                for (i, item) in items.enumerated() {
                    guard let id = item["containerID"]?.stringValue else {
                        throw CNIError.invalidConfig("field \"\(key)[\(i)].containerID\": expected a string")
                    }
                    list.append(Attachment(containerID: id, ifname: item["ifname"]?.stringValue ?? ""))
                }
            } else if !v.isNull {
                throw CNIError.invalidConfig("field \"\(key)\": expected a list of {containerID, ifname}")
            }
            found = list
        }
        return found
    }

    /// Refuses keys the plugin does not know (code 2 naming the key), so a typo never passes silently.
    /// Keys every runtime may inject are always allowed.
    public func refuseUnknownKeys(known: Set<String>, in value: JSONValue? = nil, field: String = "") throws(CNIError) {
        let base: Set<String> = ["cniVersion", "name", "type", "ipam", "dns", "args", "runtimeConfig",
                                 "prevResult", "capabilities", "cniVersions", "disableCheck", "disableGC"]
        let object = value ?? config
        for key in object.objectKeys where !known.contains(key) && (value != nil || !base.contains(key)) && !key.hasPrefix("cni.dev/") {
            let path = field.isEmpty ? key : "\(field).\(key)"
            throw CNIError(.unsupportedField, "unsupported option \"\(path)\" = \(object[key]!.serialized()) in \(pluginType.isEmpty ? "this plugin" : pluginType) config")
        }
    }
}

public struct Attachment: Hashable, Sendable {
    public var containerID: String
    public var ifname: String
    public init(containerID: String, ifname: String) { self.containerID = containerID; self.ifname = ifname }
}

import CNI
import Netlink

/// The pod interface's MAC, when the runtime asks for one: `runtimeConfig.mac` (capability `mac`),
/// else `args.cni.mac`, else the deprecated `CNI_ARGS MAC=`.
public enum PodMAC {
    public static func requested(_ request: Request) throws(CNIError) -> MACAddress? {
        let runtimeMAC = try request.field["runtimeConfig"].object()?["mac"].string()
        let argsMAC = try request.field["args"].object()?["cni"].object()?["mac"].string()
        guard let text = runtimeMAC ?? argsMAC ?? request.env.args["MAC"] else { return nil }
        guard let mac = MACAddress(text) else {
            throw CNIError.invalidConfig("MAC address \"\(text)\" is not valid: expected six hex pairs such as c2:11:22:33:44:55")
        }
        return mac
    }
}

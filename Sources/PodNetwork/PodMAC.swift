import CNI
import Netlink

/// The pod interface's MAC, when the runtime asks for one: `runtimeConfig.mac` (capability `mac`),
/// else `args.cni.mac`, else the deprecated `CNI_ARGS MAC=`.
public enum PodMAC {
    private struct Sources: Decodable {
        var runtimeConfig: Section?
        var args: Args?
        struct Section: Decodable { var mac: String? }
        struct Args: Decodable { var cni: Section? }
    }

    public static func requested(_ request: Request) throws(CNIError) -> MACAddress? {
        let sources = try request.decodeConfig(Sources.self)
        guard let text = sources.runtimeConfig?.mac ?? sources.args?.cni?.mac ?? request.env.args["MAC"] else { return nil }
        guard let mac = MACAddress(text) else {
            throw CNIError.invalidConfig("MAC address \"\(text)\" is not valid: expected six hex pairs such as c2:11:22:33:44:55")
        }
        return mac
    }
}

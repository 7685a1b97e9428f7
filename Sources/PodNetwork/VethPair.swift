import CNI
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// A veth pair whose pod end is born inside the pod's namespace as `CNI_IFNAME`, and whose node end
/// gets a random `veth%08x` name (as the reference plugins name it).
public struct VethPair {
    public var host: Link
    public var pod: Link

    /// Both ends are left down, so sysctls can be set before anything is sent.
    public static func create(node: RouteSocket, pod: NetworkNamespace, podSocket: RouteSocket,
                              podIfName: String, mtu: UInt32?, podMAC: MACAddress?) throws -> VethPair {
        for attempt in 0..<10 {
            let name = String(format8hex: UInt32.random(in: 0...UInt32.max), prefix: "veth")
            do {
                let host = try node.addVeth(name: name, peerName: podIfName, peerNamespace: pod, mtu: mtu, peerMAC: podMAC)
                guard let podLink = try podSocket.link(named: podIfName) else {
                    try? node.deleteLink(index: host.index)
                    throw CNIError(.internalError, "veth \(podIfName) vanished from \(pod.path) right after it was created")
                }
                return VethPair(host: host, pod: podLink)
            } catch let e as KernelError where e.errno == EEXIST {
                // Either our random name or the pod's name is taken; tell which.
                if try podSocket.link(named: podIfName) != nil {
                    throw CNIError.invalidConfig("interface \(podIfName) already exists in \(pod.path)")
                }
                if attempt == 9 { throw e }
            }
        }
        fatalError("unreachable")
    }
}

extension String {
    init(format8hex value: UInt32, prefix: String) {
        let hex = String(value, radix: 16)
        self = prefix + String(repeating: "0", count: 8 - hex.count) + hex
    }
}

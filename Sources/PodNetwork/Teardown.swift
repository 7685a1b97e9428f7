import CNI
import IPAM
import IPAddressing
import Netlink

/// DEL for an interface plugin: the masquerade removal and the IPAM DEL run as child processes
/// while `removeLinks` deletes the veth (the kernel takes an RCU grace period or more for that,
/// 15–40 ms on a busy node). Every part runs even when another failed; the first failure is thrown.
public func teardown(_ request: Request, masquerade: MasqueradeStep, prevAddresses: [IPAddress]?,
                     hasIPAM: Bool, removeLinks: () throws -> Void) throws {
    // Without prevResult (a runtime that lost its cache) the pod's interface still says which
    // addresses have a jump, which keeps the removal exact; otherwise it must read the whole nat
    // table (`ip6tables-save`: 200+ ms on a node with 1000 pods).
    let addresses = prevAddresses ?? (masquerade.enabled ? podAddresses(request) : nil)
    let pendingMasquerade = try masquerade.startRemove(addresses)
    let pendingIPAM = hasIPAM ? try Delegate(request: request).startDel() : nil
    var failure: (any Error)?
    do { try removeLinks() } catch { failure = error }
    do { try pendingMasquerade.wait() } catch { failure = failure ?? error }
    do { _ = try pendingIPAM?.wait() } catch { failure = failure ?? error }
    if let failure { throw failure }
}

/// The global addresses on the pod's interface, or nil when its namespace or interface is gone.
func podAddresses(_ request: Request) -> [IPAddress]? {
    guard let pod = PodNamespace.ifPresent(request.env.netns),
          let link = try? pod.socket.link(named: request.env.ifname),
          let found = try? pod.socket.addresses(index: link.index, family: .v6) else { return nil }
    let global = found.filter { $0.scope == .universe }.map(\.prefix.address)
    return global.isEmpty ? nil : global
}

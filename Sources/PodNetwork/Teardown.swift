import CNI
import IPAM
import IPAddressing

/// DEL for an interface plugin: the masquerade removal and the IPAM DEL run as child processes
/// while `removeLinks` deletes the veth (the kernel takes an RCU grace period or more for that,
/// 15–40 ms on a busy node). Every part runs even when another failed; the first failure is thrown.
public func teardown(_ request: Request, masquerade: MasqueradeStep, prevAddresses: [IPAddress]?,
                     hasIPAM: Bool, removeLinks: () throws -> Void) throws {
    let pendingMasquerade = try masquerade.startRemove(prevAddresses)
    let pendingIPAM = hasIPAM ? try Delegate(request: request).startDel() : nil
    var failure: (any Error)?
    do { try removeLinks() } catch { failure = error }
    do { try pendingMasquerade.wait() } catch { failure = failure ?? error }
    do { _ = try pendingIPAM?.wait() } catch { failure = failure ?? error }
    if let failure { throw failure }
}

import CNI
import Firewall
import IPAddressing
import IPAM
import Netlink
import PodNetwork

/// ptp6: routed point-to-point pods. A veth per pod, no bridge, no shared L2; the pod reaches
/// everything through the link-local gateway fe80::1 on its host veth, the node reaches the pod
/// through a /128 route. Nothing waits for DAD: the pod can send, and the node can forward to it,
/// the moment ADD returns. The layout and its reasons: `PtpRouting`.
struct Ptp6: Plugin {
    var about: String { "ptp6: IPv6 routed point-to-point plugin with a link-local gateway (v6cni)" }

    func add(_ request: Request) throws -> CNIResult {
        let conf = try PtpConfig.load(request)
        let ipam = try Delegate(request: request)
        let nodeSysctls = try IPv6Sysctls.require("ptp6")
        let pod = try PodNamespace(request.env.netns)
        let node = try RouteSocket.inCurrentNamespace()
        if try pod.socket.link(named: request.env.ifname) != nil {
            throw CNIError.invalidConfig("interface \(request.env.ifname) already exists in \(request.env.netns)")
        }
        let undo = Undo()
        do {
            // A foreign IPAM plugin runs in its own process while the veth pair and its node end
            // are made, which need nothing from it; the host-local6 built with us answers here at once.
            let ipamAdd = try ipam.startAdd()
            undo.push("releasing the addresses (IPAM DEL)") { if ipamAdd.succeeded { try ipam.del() } }

            let pair = try VethPair.create(node: node, pod: pod.namespace, podSocket: pod.socket,
                                           podIfName: request.env.ifname, mtu: conf.mtu.map { UInt32($0) },
                                           podMAC: try PodMAC.requested(request))
            undo.push("deleting veth \(pair.host.name)") { try node.deleteLink(index: pair.host.index) }

            // Node end: no DAD for its own link-local (it is the source of the node's neighbour
            // solicitations towards the pod), no RAs, then up, then the pod's gateway on it.
            try nodeSysctls.prepareNodeInterface(pair.host.name)
            try node.setUp(index: pair.host.index)
            try node.addAddress(PtpRouting.gatewayAddress, index: pair.host.index, flags: [.noDAD])
            try nodeSysctls.enableForwarding()

            let allocated = try ipamAdd.result()
            let plan = try PtpRouting(ipam: allocated)
            // ip6tables-restore runs in a child process while the pod end is set up below.
            let masquerade = try MasqueradeStep(request: request, enabled: conf.masquerade, except: conf.masqueradeExcept ?? [])
                .startInstall(plan.ips.map(\.address.address), undo: undo)

            // Pod end: sysctls before up, addresses NODAD without a prefix route, routes via fe80::1.
            try PodInterface(namespace: pod.namespace, socket: pod.socket, link: pair.pod)
                .configure(addresses: plan.ips, routes: plan.podRoutes(index: pair.pod.index), enableDAD: false,
                           addressFlags: [.noPrefixRoute])
            // Both ends up: make the kernel finish the carrier change before anything is sent
            // (qdisc attached, IPv6 ready), or the first packets can be dropped for up to a second
            // (a pair whose two ends share an ifindex; see `firstPacketSameIfindex`).
            let notReady = try LinkReady.wait(for: [LinkReady.Target(pod.socket, pair.pod, ipv6: true),
                                                    LinkReady.Target(node, pair.host, ipv6: true)])
            if !notReady.isEmpty {
                logWarning("ptp6: still not ready after 3 s: \(notReady.joined(separator: "; ")); the first packets may be lost")
            }
            let podLink = try pod.socket.link(index: pair.pod.index) ?? pair.pod
            let hostLink = try node.link(index: pair.host.index) ?? pair.host

            // The node's way back: one /128 per pod address. IPAM has just handed the address to
            // this pod, so a route left over from an attachment that leaked is replaced, not kept.
            for ip in plan.ips {
                try node.replaceRoute(PtpRouting.hostRoute(to: ip.address.address, via: pair.host.index))
            }

            try masquerade.wait()

            var result = CNIResult(
                interfaces: [
                    .init(name: hostLink.name, mac: hostLink.mac?.description, mtu: Int(hostLink.mtu)),
                    .init(name: podLink.name, mac: podLink.mac?.description, mtu: Int(podLink.mtu), sandbox: request.env.netns),
                ],
                ips: plan.ips, routes: plan.routes, dns: allocated.dns)
            if let dns = conf.dns, dns.isSet { result.dns = dns }
            undo.commit()
            return result
        } catch {
            undo.abandon(plugin: "ptp6")
            throw error
        }
    }

    /// Idempotent, and complete without the pod's namespace: the chain is found from prevResult
    /// (or by its name), the lease by IPAM DEL; the host veth and its /128 routes vanish with the
    /// namespace, or are removed here when the namespace outlived the pod.
    func del(_ request: Request) throws {
        let conf = try PtpConfig.load(request)
        let prev = try? request.prevResult()
        let masquerade = MasqueradeStep(request: request, enabled: conf.masquerade, except: [])
        try teardown(request, masquerade: masquerade, prevAddresses: prev.map { $0.ips.map(\.address.address) },
                     hasIPAM: true) {
            let node = try RouteSocket.inCurrentNamespace()
            if let pod = PodNamespace.ifPresent(request.env.netns),
               let link = try pod.socket.link(named: request.env.ifname), link.kind == "veth" {
                try ignoringNotFound { try pod.socket.deleteLink(index: link.index) }
            }
            // A host end that outlived its peer's namespace (held open elsewhere): found by the name
            // in prevResult, and only if it is still a ptp6 host end (a veth, no master, fe80::1).
            for iface in prev?.interfaces ?? [] where (iface.sandbox ?? "").isEmpty && iface.name.hasPrefix("veth") {
                guard let l = try node.link(named: iface.name), l.kind == "veth", l.masterIndex == nil else { continue }
                let gatewayHere = try node.addresses(index: l.index, family: .v6).contains { $0.prefix == PtpRouting.gatewayAddress }
                if gatewayHere { try ignoringNotFound { try node.deleteLink(index: l.index) } }
            }
        }
    }

    func check(_ request: Request) throws {
        let conf = try PtpConfig.load(request)
        guard let prev = try request.prevResult() else {
            throw CNIError.invalidConfig("CHECK needs \"prevResult\": the result of the ADD")
        }
        try Delegate(request: request).check()
        let node = try RouteSocket.inCurrentNamespace()
        let pod = try PodNamespace(request.env.netns)
        // The pod interface, its addresses and routes (via fe80::1), and that the host veth exists.
        let podLink = try CheckStep(prev: prev, request: request, pod: pod, node: node).verify(hostMaster: nil)

        guard let hostName = prev.interfaces.first(where: { ($0.sandbox ?? "").isEmpty })?.name else {
            throw CNIError.checkFailed("prevResult lists no host veth")
        }
        guard let host = try node.link(named: hostName) else {
            throw CNIError.checkFailed("host veth \(hostName) does not exist")
        }
        if host.linkIndex != podLink.index {
            throw CNIError.checkFailed("host veth \(hostName) is not the peer of \(podLink.name) in \(request.env.netns)")
        }
        if host.masterIndex != nil {
            throw CNIError.checkFailed("host veth \(hostName) is attached to a master (ptp6 host ends stand alone)")
        }
        if !host.isUp {
            throw CNIError.checkFailed("host veth \(hostName) is down")
        }
        let hostAddresses = try node.addresses(index: host.index, family: .v6)
        guard let gw = hostAddresses.first(where: { $0.prefix == PtpRouting.gatewayAddress }) else {
            throw CNIError.checkFailed("gateway \(PtpRouting.gatewayAddress) is missing from host veth \(hostName)")
        }
        if gw.isTentative || gw.isDADFailed {
            throw CNIError.checkFailed("gateway \(PtpRouting.gateway) on host veth \(hostName) is \(gw.isDADFailed ? "DAD-failed" : "tentative")")
        }
        let hostRoutes = try node.routes(family: .v6, table: Route.mainTable, outputIndex: host.index)
        for ip in prev.ips where ip.address.family == .v6 {
            let dst = IPPrefix(address: ip.address.address, length: 128)!
            guard hostRoutes.contains(where: { $0.destination == dst && $0.gateway == nil }) else {
                throw CNIError.checkFailed("node route \(dst) dev \(hostName) is missing")
            }
        }
        try MasqueradeStep(request: request, enabled: conf.masquerade, except: conf.masqueradeExcept ?? [])
            .check(prev.ips.map(\.address.address))
    }

    func status(_ request: Request) throws {
        let conf = try PtpConfig.load(request)
        guard try IPv6Sysctls.open() != nil else {
            throw CNIError(.notAvailable, "IPv6 is disabled on this node (no /proc/sys/net/ipv6): ptp6 cannot configure pods")
        }
        try Delegate(request: request).status()
        try MasqueradeStep(request: request, enabled: conf.masquerade, except: []).status()
    }

    func gc(_ request: Request) throws {
        let conf = try PtpConfig.load(request)
        var failures: [String] = []
        do { try Delegate(request: request).gc() } catch { failures.append("\(error)") }
        failures += MasqueradeStep(request: request, enabled: conf.masquerade, except: [])
            .garbageCollect(validAttachments: try request.validAttachments())
        if !failures.isEmpty {
            throw CNIError(.ioFailure, "GC did not finish cleanly", details: failures.joined(separator: "; "))
        }
    }
}

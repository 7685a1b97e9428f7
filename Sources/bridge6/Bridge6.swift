import CNI
import Firewall
import IPAddressing
import IPAM
import Netlink
import PodNetwork

/// bridge6: pods on a Linux bridge in the node namespace, IPv6 usable the moment ADD returns.
struct Bridge6: Plugin {
    var about: String { "bridge6: IPv6-first bridge plugin (v6cni)" }

    func add(_ request: Request) throws -> CNIResult {
        let conf = try BridgeConfig.load(request)
        let ipam = try conf.hasIPAM(request) ? Delegate(request: request) : nil
        let pod = try PodNamespace(request.env.netns)
        let node = try RouteSocket.inCurrentNamespace()
        if try pod.socket.link(named: request.env.ifname) != nil {
            throw CNIError.invalidConfig("interface \(request.env.ifname) already exists in \(request.env.netns)")
        }
        let undo = Undo()
        do {
            // A foreign IPAM plugin runs in its own process while the veth pair is made, which
            // needs nothing from it; the host-local6 built with us answers here at once.
            let ipamAdd = try ipam?.startAdd()
            if let ipam, let ipamAdd {
                undo.push("releasing the addresses (IPAM DEL)") { if ipamAdd.succeeded { try ipam.del() } }
            }
            let pair = try VethPair.create(node: node, pod: pod.namespace, podSocket: pod.socket,
                                           podIfName: request.env.ifname, mtu: conf.mtu.map { UInt32($0) },
                                           podMAC: try PodMAC.requested(request))
            undo.push("deleting veth \(pair.host.name)") { try node.deleteLink(index: pair.host.index) }
            // The port too, when the bridge exists. A new bridge waits for the addresses: an ADD
            // whose IPAM fails, or whose MTU is below IPv6's minimum for them, leaves none behind.
            let setup = BridgeSetup(node: node, conf: conf, sysctls: try IPv6Sysctls.open())
            var attachedTo: Link? = nil
            if (conf.mtu ?? 1280) >= 1280, let existing = try setup.existingBridge() {
                attachedTo = existing
                try setup.attach(pair.host, to: existing)
            }
            var result = try ipamAdd?.result() ?? CNIResult()
            let hasV6 = result.ips.contains { $0.address.family == .v6 }
            if hasV6 {
                if let mtu = conf.mtu, mtu < 1280 {
                    throw CNIError.invalidConfig("field \"mtu\": \(mtu) is below 1280, the minimum MTU of IPv6")
                }
                guard setup.sysctls != nil else { throw IPv6Sysctls.unavailable("bridge6 with IPv6 addresses") }
            }
            // ip6tables-restore runs in a child process while the interfaces are set up below.
            let masquerade = try MasqueradeStep(request: request, enabled: conf.ipMasq ?? true, except: conf.masqueradeExcept ?? [])
                .startInstall(result.ips.map(\.address.address), undo: undo)
            let bridge: Link
            if let attachedTo {
                bridge = attachedTo
            } else {
                bridge = try setup.ensureBridge()
                try setup.attach(pair.host, to: bridge)
            }
            let gateways = Gateways(result: &result, conf: conf)
            if hasV6 {  // before the pod's interface is up and sends MLD reports of its own
                setup.pinSolicitedNodeGroups(
                    pod: result.ips.map(\.address.address), port: pair.host,
                    gateways: conf.gateway ? gateways.bridgeAddresses.map(\.address) : [], on: bridge)
            }

            let routes = result.routes.map { $0.kernelRoute(index: pair.pod.index, defaultGateways: gateways.addresses) }
            try PodInterface(namespace: pod.namespace, socket: pod.socket, link: pair.pod)
                .configure(addresses: result.ips, routes: routes, enableDAD: conf.enabledad ?? false,
                           bringUp: !(conf.disableContainerInterface ?? false))
            if conf.gateway {
                try setup.addGatewayAddresses(gateways.bridgeAddresses, to: bridge)
                if hasV6 { try setup.sysctls?.enableForwarding() }
                if result.ips.contains(where: { $0.address.family == .v4 }) { try IPv6Sysctls.enableIPv4Forwarding() }
            }
            if !(conf.disableContainerInterface ?? false) {
                // Return only once the kernel has finished bringing all of it up (see LinkReady).
                var targets = [LinkReady.Target(pod.socket, pair.pod, ipv6: hasV6),
                               LinkReady.Target(node, pair.host, bridgePort: true)]
                if conf.gateway { targets.append(LinkReady.Target(node, bridge, ipv6: hasV6)) }
                let notReady = try LinkReady.wait(for: targets)
                if !notReady.isEmpty {
                    logWarning("bridge6: still not ready after 3 s: \(notReady.joined(separator: "; ")); the first packets may be lost")
                }
            }
            // Read once, now that both are up: for the result, and for the neighbour entries (a
            // bridge made by someone else takes the lowest MAC of its ports unless one was set, so
            // joining it may just have changed it).
            let podLink = try pod.socket.link(index: pair.pod.index) ?? pair.pod
            let bridgeNow = try node.link(index: bridge.index) ?? bridge
            if !(conf.disableContainerInterface ?? false) {
                try setup.seedNeighbors(pod: pod.socket, podLink: podLink, addresses: result.ips.map(\.address.address),
                                        gateways: conf.gateway ? gateways.bridgeAddresses.map(\.address) : [], bridge: bridgeNow)
            }
            try masquerade.wait()

            result.interfaces = [
                .init(name: bridgeNow.name, mac: bridgeNow.mac?.description, mtu: Int(bridgeNow.mtu)),
                .init(name: pair.host.name, mac: pair.host.mac?.description, mtu: Int(pair.host.mtu)),
                .init(name: podLink.name, mac: podLink.mac?.description, mtu: Int(podLink.mtu), sandbox: request.env.netns),
            ]
            if let dns = conf.dns, dns.isSet { result.dns = dns }
            undo.commit()
            return result
        } catch {
            undo.abandon(plugin: "bridge6")
            throw error
        }
    }

    func del(_ request: Request) throws {
        let conf = try BridgeConfig.load(request)
        let prev = try? request.prevResult()
        let masquerade = MasqueradeStep(request: request, enabled: conf.ipMasq ?? true, except: [])
        try teardown(request, masquerade: masquerade, prevAddresses: prev.map { $0.ips.map(\.address.address) },
                     hasIPAM: try conf.hasIPAM(request)) {
            let node = try RouteSocket.inCurrentNamespace()
            let bridge = prev == nil ? nil : try node.link(named: conf.bridgeName).flatMap { $0.kind == "bridge" ? $0 : nil }
            // The bridge's entries for the pod's addresses (seeded at ADD) go with the pod, before
            // IPAM can hand the addresses out again: they would only linger in the kernel's one
            // neighbour table for all namespaces until garbage collection.
            if let prev, let bridge {
                for ip in prev.ips { try node.forgetNeighbor(ip.address.address, index: bridge.index) }
            }
            if let pod = PodNamespace.ifPresent(request.env.netns),
               let link = try pod.socket.link(named: request.env.ifname) {
                try ignoringNotFound { try pod.socket.deleteLink(index: link.index) }
            }
            // With the pod's namespace gone the kernel has removed the pair already; a host end that
            // outlived it (a namespace still held elsewhere) is found by the name in prevResult.
            for iface in prev?.interfaces ?? [] where (iface.sandbox ?? "").isEmpty && iface.name.hasPrefix("veth") {
                if let l = try node.link(named: iface.name), l.kind == "veth", let bridge, l.masterIndex == bridge.index {
                    try ignoringNotFound { try node.deleteLink(index: l.index) }
                }
            }
        }
    }

    func check(_ request: Request) throws {
        let conf = try BridgeConfig.load(request)
        guard let prev = try request.prevResult() else {
            throw CNIError.invalidConfig("CHECK needs \"prevResult\": the result of the ADD")
        }
        if try conf.hasIPAM(request) { try Delegate(request: request).check() }
        let node = try RouteSocket.inCurrentNamespace()
        guard let bridge = try node.link(named: conf.bridgeName), bridge.kind == "bridge" else {
            throw CheckFailure("bridge \(conf.bridgeName) does not exist")
        }
        let pod = try PodNamespace(request.env.netns)
        try CheckStep(prev: prev, request: request, pod: pod, node: node).verify(hostMaster: bridge.index)
        if conf.gateway {
            let onBridge = try node.addresses(index: bridge.index).map(\.prefix)
            for ip in prev.ips {
                guard let gw = ip.gateway else { continue }
                if !onBridge.contains(where: { $0.address == gw }) {
                    throw CheckFailure("gateway \(gw) is not on bridge \(conf.bridgeName)")
                }
            }
        }
        try MasqueradeStep(request: request, enabled: conf.ipMasq ?? true, except: conf.masqueradeExcept ?? [])
            .check(prev.ips.map(\.address.address))
    }

    func status(_ request: Request) throws {
        let conf = try BridgeConfig.load(request)
        if try conf.hasIPAM(request) { try Delegate(request: request).status() }
        try MasqueradeStep(request: request, enabled: conf.ipMasq ?? true, except: []).status()
    }

    func gc(_ request: Request) throws {
        let conf = try BridgeConfig.load(request)
        var failures: [String] = []
        if try conf.hasIPAM(request) {
            do { try Delegate(request: request).gc() } catch { failures.append("\(error)") }
        }
        failures += MasqueradeStep(request: request, enabled: conf.ipMasq ?? true, except: [])
            .garbageCollect(validAttachments: try request.validAttachments())
        if !failures.isEmpty {
            throw CNIError(.ioFailure, "GC did not finish cleanly", details: failures.joined(separator: "; "))
        }
    }
}

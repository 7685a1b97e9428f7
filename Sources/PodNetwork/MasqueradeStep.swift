import CNI
import Firewall
import IPAddressing

/// The masquerade part of an interface plugin's verbs: ULA pod addresses only, GUA never.
public struct MasqueradeStep {
    let network: String
    let containerID: String
    let enabled: Bool
    let except: [IPPrefix]
    let firewall = Masquerade()

    public init(request: Request, enabled: Bool, except: [IPPrefix]) {
        network = request.networkName
        containerID = request.env.containerID
        self.enabled = enabled
        self.except = except
    }

    public func install(_ addresses: [IPAddress], undo: Undo) throws {
        guard enabled else { return }
        let ula = addresses.filter(Masquerade.needsMasquerade)
        if addresses.contains(where: { $0.isGlobalUnicastV6 }) {
            logWarning("note: global (GUA) pod addresses are routed as they are; ipMasq applies to ULA (fc00::/7) addresses only")
        }
        guard !ula.isEmpty else { return }
        do {
            try firewall.install(network: network, containerID: containerID, podAddresses: ula, except: except)
        } catch {
            throw CNIError(.internalError, "installing masquerade for \(ula.map(\.description).joined(separator: ", ")): \(error)")
        }
        undo.push("removing masquerade chain") {
            try firewall.remove(network: network, containerID: containerID, podAddresses: ula)
        }
    }

    /// `addresses` from prevResult; nil when there was none (then the chain is found by name).
    public func remove(_ addresses: [IPAddress]?) throws {
        guard enabled else { return }
        if let addresses, !addresses.contains(where: Masquerade.needsMasquerade) { return }
        do {
            try firewall.remove(network: network, containerID: containerID, podAddresses: addresses?.filter(Masquerade.needsMasquerade))
        } catch {
            throw CNIError(.internalError, "removing masquerade chain \(Masquerade.chainName(network: network, containerID: containerID)): \(error)")
        }
    }

    public func check(_ addresses: [IPAddress]) throws {
        let ula = addresses.filter(Masquerade.needsMasquerade)
        guard enabled, !ula.isEmpty else { return }
        do {
            try firewall.check(network: network, containerID: containerID, podAddresses: ula, except: except)
        } catch {
            throw CNIError.checkFailed("masquerade for \(ula.map(\.description).joined(separator: ", ")): \(error)")
        }
    }

    /// STATUS: masquerade may be needed and ip6tables-restore is missing ⇒ not available (50).
    public func status() throws {
        guard enabled, !firewall.isAvailable() else { return }
        throw CNIError(.notAvailable, "ip6tables-restore is not installed: ULA pods cannot be masqueraded (install iptables, or set \"ipMasq\": false)")
    }

    public func garbageCollect(validAttachments: [Attachment]?) -> [String] {
        guard let valid = validAttachments else { return [] }
        return firewall.garbageCollect(network: network, keep: Set(valid.map(\.containerID))).map { "\($0)" }
    }
}

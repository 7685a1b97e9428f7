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

    /// A masquerade change running in a child process while the plugin does other work. `wait()`
    /// collects it once; later calls repeat the outcome.
    public final class Pending {
        private var pending: Masquerade.Pending?
        private let what: String
        private var outcome: Result<Void, CNIError>?

        init(_ pending: Masquerade.Pending?, what: String) { self.pending = pending; self.what = what }

        public func wait() throws {
            if outcome == nil {
                do {
                    try pending?.wait()
                    outcome = .success(())
                } catch {
                    outcome = .failure(CNIError(.internalError, "\(what): \(error)"))
                }
                pending = nil
            }
            try outcome!.get()
        }
    }

    /// `install` started: ip6tables-restore runs while the caller configures the interfaces;
    /// `wait()` before ADD returns. Undo (a failed ADD) lets it finish, then removes the chain.
    public func startInstall(_ addresses: [IPAddress], undo: Undo) throws -> Pending {
        guard enabled else { return Pending(nil, what: "") }
        let ula = addresses.filter(Masquerade.needsMasquerade)
        if addresses.contains(where: { $0.isGlobalUnicastV6 }) {
            logWarning("note: global (GUA) pod addresses are routed as they are; ipMasq applies to ULA (fc00::/7) addresses only")
        }
        guard !ula.isEmpty else { return Pending(nil, what: "") }
        let what = "installing masquerade for \(ula.map(\.description).joined(separator: ", "))"
        let step: Pending
        do {
            step = Pending(try firewall.startInstall(network: network, containerID: containerID, podAddresses: ula, except: except),
                           what: what)
        } catch {
            throw CNIError(.internalError, "\(what): \(error)")
        }
        undo.push("removing masquerade chain") {
            _ = try? step.wait()
            try firewall.remove(network: network, containerID: containerID, podAddresses: ula)
        }
        return step
    }

    /// `remove` started: ip6tables-restore runs while the caller deletes the interface.
    public func startRemove(_ addresses: [IPAddress]?) throws -> Pending {
        guard enabled else { return Pending(nil, what: "") }
        if let addresses, !addresses.contains(where: Masquerade.needsMasquerade) { return Pending(nil, what: "") }
        let what = "removing masquerade chain \(Masquerade.chainName(network: network, containerID: containerID))"
        do {
            return Pending(try firewall.startRemove(network: network, containerID: containerID,
                                                    podAddresses: addresses?.filter(Masquerade.needsMasquerade)),
                           what: what)
        } catch {
            throw CNIError(.internalError, "\(what): \(error)")
        }
    }

    /// `addresses` from prevResult; nil when there was none (then the chain is found by name).
    public func remove(_ addresses: [IPAddress]?) throws {
        try startRemove(addresses).wait()
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

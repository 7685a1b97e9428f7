// Masquerade — IPv6 source NAT for ULA pod addresses, through ip6tables (nat table).
//
// Public API
//   struct Masquerade: Sendable
//     init(commandPrefix: [String] = [], ip6tablesRestore: String = "ip6tables-restore",
//          ip6tablesSave: String = "ip6tables-save", timeout: Duration = .seconds(60))
//     static func chainName(network: String, containerID: String) -> String
//     static func comment(network: String, containerID: String) -> String
//     static func needsMasquerade(_ address: IPAddress) -> Bool
//     func isAvailable() -> Bool
//     func install(network:containerID:podAddresses:except:) throws(FirewallError)
//     func startInstall(network:containerID:podAddresses:except:) throws(FirewallError) -> Pending
//     func remove(network:containerID:podAddresses:) throws(FirewallError)
//     func startRemove(network:containerID:podAddresses:) throws(FirewallError) -> Pending
//     struct Pending { func wait() throws(FirewallError) }   (a change under way in a child process)
//     func exists(network:containerID:) throws(FirewallError) -> Bool
//     func check(network:containerID:podAddresses:except:) throws(FirewallError)
//     func garbageCollect(network:keep:) -> [FirewallError]
//
// What is installed, per attachment (network + container ID), only when a pod address is ULA
// (fc00::/7) — a GUA pod address is routable and is never translated:
//
//   *nat
//   :CNI-<24 hex> - [0:0]                         chain = ("CNI-" + hex(sha512(net + id)))[..<28]
//   -A CNI-… -d fc00::/7 -m comment --comment "name: \"net\" id: \"cid\"" -j ACCEPT
//   -A CNI-… -d ff00::/8 …comment… -j ACCEPT          multicast is never translated
//   -A CNI-… -d <each masqueradeExcept prefix> …comment… -j ACCEPT
//   -A CNI-… …comment… -j MASQUERADE
//   -A POSTROUTING -s <ULA pod address>/128 …comment… -j CNI-…
//   COMMIT
//
// ULA-to-ULA traffic (other pods, other nodes, the organisation) keeps its source; the reference
// plugins instead accept only the pod's own subnet and NAT traffic to pods on other nodes.
// Chain name and comment are the reference's (`utils.FormatChainName`, `FormatComment`), so DEL
// and GC find the reference's chains too.
//
// Every change is one `ip6tables-restore --noflush -w` transaction (all or nothing). Install first
// tries a script that creates the chain with `-N`: a chain that does not exist yet can have no jump
// to it, so on the usual path (a new pod) nothing has to be read and one exec does it all. When the
// chain exists (a repeated ADD, a retry after a crash) `-N` fails the whole transaction; install
// then reads `ip6tables-save -t nat` and rewrites the chain, leaving exactly one jump per address.
// Remove is idempotent: with the pod addresses (from
// prevResult) it tries one exact delete transaction, and falls back — or, without addresses, goes
// straight — to deleting whatever the saved table shows jumping to the chain, then the chain.
// Nothing there is success. GC removes the chains whose comment names the network and a
// container that is not kept.
//
// `commandPrefix` runs every command through a wrapper, e.g. `["ip", "netns", "exec", "ns1"]`,
// which is how the tests work in a namespace of their own.

import IPAddressing
import Spawn

public struct Masquerade: Sendable {
    public var commandPrefix: [String]
    public var ip6tablesRestore: String
    public var ip6tablesSave: String
    public var timeout: Duration
    /// Starts argv with stdin and returns what waits for it; Spawn.start unless a test injects
    /// something else.
    let launch: @Sendable (_ argv: [String], _ stdin: [UInt8], _ timeout: Duration) throws -> () throws -> SpawnResult

    public init(commandPrefix: [String] = [], ip6tablesRestore: String = "ip6tables-restore",
                ip6tablesSave: String = "ip6tables-save", timeout: Duration = .seconds(60)) {
        self.commandPrefix = commandPrefix
        self.ip6tablesRestore = ip6tablesRestore
        self.ip6tablesSave = ip6tablesSave
        self.timeout = timeout
        self.launch = { argv, stdin, timeout in
            let child = try start(argv[0], arguments: Array(argv.dropFirst()), stdin: stdin, timeout: timeout)
            return { try child.wait() }
        }
    }

    /// Tests: `execute` answers each command synchronously.
    init(commandPrefix: [String] = [], ip6tablesRestore: String = "ip6tables-restore",
         ip6tablesSave: String = "ip6tables-save", timeout: Duration = .seconds(60),
         execute: @escaping @Sendable ([String], [UInt8], Duration) throws -> SpawnResult) {
        self.commandPrefix = commandPrefix
        self.ip6tablesRestore = ip6tablesRestore
        self.ip6tablesSave = ip6tablesSave
        self.timeout = timeout
        self.launch = { argv, stdin, timeout in
            let result = try execute(argv, stdin, timeout)
            return { result }
        }
    }

    // MARK: Naming

    /// `"CNI-" + hex(sha512(network + containerID))`, truncated to 28 characters (reference
    /// `utils.FormatChainName`).
    public static func chainName(network: String, containerID: String) -> String {
        Naming.chainName(network: network, containerID: containerID)
    }

    /// `name: "<network>" id: "<containerID>"` (reference `utils.FormatComment`).
    public static func comment(network: String, containerID: String) -> String {
        Naming.comment(network: network, containerID: containerID)
    }

    /// Only ULA (fc00::/7) pod addresses are masqueraded; GUA and IPv4 never.
    public static func needsMasquerade(_ address: IPAddress) -> Bool { address.isULA }

    /// Whether ip6tables-restore and ip6tables-save are in PATH (for STATUS).
    public func isAvailable() -> Bool {
        let path = currentSearchPath()
        return which(ip6tablesRestore, searchPath: path) != nil && which(ip6tablesSave, searchPath: path) != nil
    }

    // MARK: Verbs

    /// Installs (or rewrites) the attachment's chain and one POSTROUTING jump per ULA pod address,
    /// in one transaction. Does nothing when no address is ULA. `except`: IPv6 destinations that keep
    /// the pod's source (IPv4 entries are ignored).
    public func install(network: String, containerID: String, podAddresses: [IPAddress],
                        except: [IPPrefix] = []) throws(FirewallError) {
        try startInstall(network: network, containerID: containerID, podAddresses: podAddresses, except: except).wait()
    }

    /// `install` in two halves: the one-transaction script for a new chain is started as a child
    /// process, so the caller can set up the pod's interface meanwhile; `wait()` collects it (and
    /// falls back to save + rewrite when the chain existed).
    public func startInstall(network: String, containerID: String, podAddresses: [IPAddress],
                             except: [IPPrefix] = []) throws(FirewallError) -> Pending {
        let addresses = Self.ulaAddresses(podAddresses)
        guard !addresses.isEmpty else { return Pending(nothing: self) }
        let comment = try Self.validatedComment(network: network, containerID: containerID)
        let chain = Self.chainName(network: network, containerID: containerID)
        let operation = "installing masquerade chain \(chain) for network \"\(network)\" container \"\(containerID)\""
        let fresh = RestoreScript.freshInstall(chain: chain, comment: comment, addresses: addresses, except: except)
        let started = try begin(restoreCommand, stdin: Array(fresh.utf8), operation: operation, script: fresh)
        return Pending(masquerade: self, first: started) { m throws(FirewallError) in
            let current = try m.save(operation)
            let script = RestoreScript.install(chain: chain, comment: comment, addresses: addresses,
                                               except: except, current: current)
            try m.restore(script, operation)
        }
    }

    /// A change under way: a first ip6tables-restore transaction running as a child, and what
    /// to do instead when it fails (something was not as expected: look at the table).
    public struct Pending {
        let masquerade: Masquerade
        let first: Started?
        let fallback: ((Masquerade) throws(FirewallError) -> Void)?

        init(masquerade: Masquerade, first: Started?, fallback: ((Masquerade) throws(FirewallError) -> Void)?) {
            self.masquerade = masquerade; self.first = first; self.fallback = fallback
        }

        init(nothing m: Masquerade) { self.init(masquerade: m, first: nil, fallback: nil) }

        public func wait() throws(FirewallError) {
            if let first {
                do {
                    _ = try masquerade.finish(first)
                    return
                } catch .commandFailed {
                    // fall back below
                } catch {
                    throw error
                }
            }
            try fallback?(masquerade)
        }
    }

    /// Removes the attachment's jumps and chain. Succeeds when they are already gone.
    /// `podAddresses`: the addresses from prevResult, or nil when unknown. Known addresses none of
    /// which is ULA mean nothing was installed: nothing is run.
    public func remove(network: String, containerID: String, podAddresses: [IPAddress]?) throws(FirewallError) {
        try startRemove(network: network, containerID: containerID, podAddresses: podAddresses).wait()
    }

    /// `remove` in two halves: the exact delete transaction (when the addresses are known) is
    /// started as a child process, so the caller can delete the pod's interface meanwhile;
    /// `wait()` collects it, or looks at the saved table when it failed or could not be used.
    public func startRemove(network: String, containerID: String, podAddresses: [IPAddress]?) throws(FirewallError) -> Pending {
        let chain = Self.chainName(network: network, containerID: containerID)
        let operation = "removing masquerade chain \(chain) for network \"\(network)\" container \"\(containerID)\""
        let removeSaved = { (m: Masquerade) throws(FirewallError) in
            let current = try m.save(operation)
            guard let script = RestoreScript.removal(chain: chain, current: current) else { return }
            try m.restore(script, operation)
        }
        var first: Started?
        if let podAddresses {
            let addresses = Self.ulaAddresses(podAddresses)
            if addresses.isEmpty { return Pending(nothing: self) }
            if let comment = try? Self.validatedComment(network: network, containerID: containerID) {
                let script = RestoreScript.fastRemove(chain: chain, comment: comment, addresses: addresses)
                first = try begin(restoreCommand, stdin: Array(script.utf8), operation: operation, script: script)
            }
        }
        return Pending(masquerade: self, first: first, fallback: removeSaved)
    }

    /// Whether the attachment's chain exists.
    public func exists(network: String, containerID: String) throws(FirewallError) -> Bool {
        let chain = Self.chainName(network: network, containerID: containerID)
        return try save("looking for masquerade chain \(chain)").hasChain(chain)
    }

    /// CHECK: throws `.notAsInstalled` unless the chain holds exactly the rules `install` writes
    /// and every ULA pod address has its jump. No ULA address: passes when there is no chain.
    public func check(network: String, containerID: String, podAddresses: [IPAddress],
                      except: [IPPrefix] = []) throws(FirewallError) {
        let chain = Self.chainName(network: network, containerID: containerID)
        let table = try save("checking masquerade chain \(chain)")
        let addresses = Self.ulaAddresses(podAddresses)
        var problems: [String] = []
        if addresses.isEmpty {
            if table.hasChain(chain) { problems.append("exists although no pod address is ULA") }
        } else if !table.hasChain(chain) {
            problems.append("missing")
        } else {
            let comment = try Self.validatedComment(network: network, containerID: containerID)
            let want = RestoreScript.chainRules(comment: comment, except: except)
            let have = table.rules.filter { $0.chain == chain }.map(\.spec)
            if have != want { problems.append("rules are [\(have.joined(separator: " | "))], expected [\(want.joined(separator: " | "))]") }
            let jumps = table.rules(targeting: chain).filter { $0.chain == "POSTROUTING" }.map(\.spec)
            for a in addresses where !jumps.contains(RestoreScript.jump(from: a, chain: chain, comment: comment)) {
                problems.append("no POSTROUTING jump for \(a)")
            }
        }
        if !problems.isEmpty { throw .notAsInstalled(chain: chain, problems: problems) }
    }

    /// Removes every masquerade chain (and its jumps) whose comment names `network` and a container
    /// ID not in `keep`, one transaction per chain; goes on after a failure and returns every error.
    public func garbageCollect(network: String, keep: Set<String>) -> [FirewallError] {
        let operation = "collecting stale masquerade chains of network \"\(network)\""
        let table: NatTable
        do { table = try save(operation) } catch { return [error] }
        var stale: [String: String] = [:]  // chain → container ID
        for rule in table.rules {
            guard let text = rule.comment, let (net, id) = Naming.parseComment(text),
                  net == network, !keep.contains(id) else { continue }
            let chain = Self.chainName(network: net, containerID: id)
            // Only chains named as ours: portmap and others may share the comment format.
            guard rule.chain == chain || rule.target == chain else { continue }
            stale[chain] = id
        }
        var errors: [FirewallError] = []
        for (chain, id) in stale.sorted(by: { $0.key < $1.key }) {
            guard let script = RestoreScript.removal(chain: chain, current: table) else { continue }
            do {
                try restore(script, "removing stale masquerade chain \(chain) of container \"\(id)\"")
            } catch {
                errors.append(error)
            }
        }
        return errors
    }

    // MARK: Helpers

    static func ulaAddresses(_ addresses: [IPAddress]) -> [IPAddress] {
        var seen = Set<IPAddress>()
        return addresses.filter { needsMasquerade($0) && seen.insert($0).inserted }
    }

    static func validatedComment(network: String, containerID: String) throws(FirewallError) -> String {
        guard Naming.isValidName(network) else { throw .invalidName(what: "network name", value: network) }
        guard Naming.isValidName(containerID) else { throw .invalidName(what: "container ID", value: containerID) }
        let c = comment(network: network, containerID: containerID)
        guard c.utf8.count <= Naming.maxCommentLength else { throw .commentTooLong(c) }
        return c
    }

    var saveCommand: [String] { commandPrefix + [ip6tablesSave, "-t", "nat"] }
    var restoreCommand: [String] { commandPrefix + [ip6tablesRestore, "--noflush", "-w"] }

    func save(_ operation: String) throws(FirewallError) -> NatTable {
        let r = try invoke(saveCommand, stdin: [], operation: operation, script: nil)
        return NatTable(parsing: r.stdoutText)
    }

    func restore(_ script: String, _ operation: String) throws(FirewallError) {
        _ = try invoke(restoreCommand, stdin: Array(script.utf8), operation: operation, script: script)
    }

    private func invoke(_ argv: [String], stdin: [UInt8], operation: String,
                        script: String?) throws(FirewallError) -> SpawnResult {
        try finish(begin(argv, stdin: stdin, operation: operation, script: script))
    }

    /// A command started by `begin`, to be collected by `finish`.
    struct Started {
        let argv: [String]
        let operation: String
        let script: String?
        let wait: () throws -> SpawnResult
    }

    func begin(_ argv: [String], stdin: [UInt8], operation: String, script: String?) throws(FirewallError) -> Started {
        do {
            return Started(argv: argv, operation: operation, script: script, wait: try launch(argv, stdin, timeout))
        } catch let e as SpawnError {
            throw .couldNotRun(operation: operation, command: argv, error: e)
        } catch {
            throw .couldNotRun(operation: operation, command: argv,
                               error: .system(call: "\(error)", executable: argv[0], errno: 0))
        }
    }

    func finish(_ s: Started) throws(FirewallError) -> SpawnResult {
        let result: SpawnResult
        do {
            result = try s.wait()
        } catch let e as SpawnError {
            throw .couldNotRun(operation: s.operation, command: s.argv, error: e)
        } catch {
            throw .couldNotRun(operation: s.operation, command: s.argv,
                               error: .system(call: "\(error)", executable: s.argv[0], errno: 0))
        }
        guard result.status == 0 else {
            throw .commandFailed(operation: s.operation, command: s.argv, status: result.status,
                                 stderr: result.stderrText.trimmingTrailingNewlines, script: s.script)
        }
        return result
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CNI
import Spawn

/// Runs the IPAM plugin named by `ipam.type` from `CNI_PATH`, the way libcni runs plugins: the same
/// environment with `CNI_COMMAND` set to the verb, the whole network configuration on stdin.
public struct Delegate {
    public let type: String
    let request: Request

    public init(request: Request) throws(CNIError) {
        guard let ipam = request.config["ipam"], case .object = ipam else {
            throw CNIError.invalidConfig("missing field \"ipam\": an IPAM plugin is required (e.g. {\"type\": \"host-local6\", ...})")
        }
        guard let type = ipam["type"]?.stringValue, !type.isEmpty else {
            throw CNIError.invalidConfig("missing field \"ipam.type\": name of the IPAM plugin to run")
        }
        guard !type.contains("/"), type != ".", type != ".." else {
            throw CNIError.invalidConfig("field \"ipam.type\": \"\(type)\" must be a plugin name, not a path")
        }
        self.type = type
        self.request = request
    }

    /// ADD: the IPAM result, read in whatever version the plugin answered.
    public func add() throws(CNIError) -> CNIResult {
        try addResult(try invoke(.add))
    }

    /// ADD started as a child process: the interface plugin makes its links while the IPAM plugin
    /// picks the addresses. The host-local6 built with this executable runs here and now instead
    /// (`CompanionIPAM`): its process would cost more than its work.
    public func startAdd() throws(CNIError) -> PendingAdd { PendingAdd(delegate: self, pending: try launch(.add)) }

    /// An IPAM ADD under way; `result()` waits for it once, later calls give the same outcome.
    public final class PendingAdd {
        let delegate: Delegate
        private var pending: Pending?
        private var outcome: Result<CNIResult, CNIError>?

        init(delegate: Delegate, pending: Pending) { self.delegate = delegate; self.pending = pending }

        public func result() throws(CNIError) -> CNIResult {
            if outcome == nil {
                do throws(CNIError) {
                    outcome = .success(try delegate.addResult(try pending!.wait()))
                } catch {
                    outcome = .failure(error)
                }
                pending = nil
            }
            return try outcome!.get()
        }

        /// True once the ADD has finished and succeeded (waits for it): only then is there
        /// something for a DEL to release.
        public var succeeded: Bool { (try? result()) != nil }
    }

    func addResult(_ out: [UInt8]) throws(CNIError) -> CNIResult {
        let json: JSONValue
        do { json = try JSONValue.parse(out) } catch {
            throw CNIError(.decodingFailure, "IPAM plugin \(type) printed a result that is not JSON: \(String(decoding: out.prefix(200), as: UTF8.self))")
        }
        return try CNIResult(json: json, defaultVersion: request.version)
    }

    public func del() throws(CNIError) { _ = try invoke(.del) }
    public func check() throws(CNIError) { _ = try invoke(.check) }
    public func status() throws(CNIError) { _ = try invoke(.status) }
    public func gc() throws(CNIError) { _ = try invoke(.gc) }

    /// DEL started as a child process; `wait()` collects it. Lets the interface plugin take its
    /// interface apart while the IPAM plugin releases the addresses.
    public func startDel() throws(CNIError) -> Pending { try launch(.del) }

    /// An IPAM call under way, or already answered in this process.
    public struct Pending {
        enum Run {
            case child(RunningChild)
            case finished(SpawnResult)
        }
        let delegate: Delegate
        let command: Command
        let path: String
        let run: Run

        /// The plugin's stdout, or its error (code kept) as `invoke` reports it.
        public func wait() throws(CNIError) -> [UInt8] {
            let result: SpawnResult
            switch run {
            case .finished(let answered):
                result = answered
            case .child(let child):
                do {
                    result = try child.wait()
                } catch {
                    throw CNIError(.ioFailure, "running IPAM plugin \(path): \(error)")
                }
            }
            return try delegate.interpret(result, command)
        }
    }

    func invoke(_ command: Command) throws(CNIError) -> [UInt8] {
        try launch(command).wait()
    }

    func launch(_ command: Command) throws(CNIError) -> Pending {
        guard let path = request.env.path.lazy.map({ "\($0)/\(self.type)" }).first(where: isExecutable) else {
            throw CNIError.invalidConfig("IPAM plugin \"\(type)\" not found in CNI_PATH \(request.env.path.joined(separator: ":"))")
        }
        var env = PluginMain.currentEnvironment()
        env["CNI_COMMAND"] = command.rawValue
        // Only ADD: a DEL's child runs while the kernel deletes the veth, which waits for RCU rather
        // than a CPU, so there the child costs no wall time and in-process work would add to it
        // (CHECK, STATUS and GC are rare).
        if command == .add, CompanionIPAM.isCompanion(path) {
            return Pending(delegate: self, command: command, path: path,
                           run: .finished(CompanionIPAM.run(environment: env, config: request.rawConfig)))
        }
        do {
            return Pending(delegate: self, command: command, path: path,
                           run: .child(try Spawn.start(path, environment: env, stdin: request.rawConfig)))
        } catch {
            throw CNIError(.ioFailure, "running IPAM plugin \(path): \(error)")
        }
    }

    func interpret(_ result: SpawnResult, _ command: Command) throws(CNIError) -> [UInt8] {
        if result.status == 0 { return result.stdout }
        // A plugin reports its error as JSON on stdout; keep its code and say who failed.
        if let json = try? JSONValue.parse(result.stdout), case .int(let code)? = json["code"] {
            let msg = json["msg"]?.stringValue ?? ""
            throw CNIError(code: Int(code), "IPAM plugin \(type) \(command.rawValue) failed: \(msg)", details: json["details"]?.stringValue ?? "")
        }
        let text = result.stdout.isEmpty ? result.stderrText : result.stdoutText
        throw CNIError(code: 999, "IPAM plugin \(type) \(command.rawValue) failed (exit \(result.status)): \(text.prefix(500))")
    }
}

private func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }


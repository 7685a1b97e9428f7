#if canImport(Glibc)
import Glibc
#endif

/// What every executable implements. Each verb gets a validated request; errors are thrown as
/// `CNIError` (any other error becomes code 999 with its description).
public protocol Plugin {
    /// Shown on stderr when `CNI_COMMAND` is empty.
    var about: String { get }
    func add(_ request: Request) throws -> CNIResult
    func del(_ request: Request) throws
    func check(_ request: Request) throws
    func status(_ request: Request) throws
    func gc(_ request: Request) throws
}

/// The dispatcher all executables call: environment + stdin in, result or error JSON out.
public enum PluginMain {
    /// Largest configuration accepted on stdin.
    public static let maxConfigBytes = 1 << 20

    public static func run(_ plugin: some Plugin) -> Never {
        let outcome = handle(plugin, environment: currentEnvironment(), readStdin: readStandardInput)
        if !outcome.stdout.isEmpty { writeAll(1, outcome.stdout + "\n") }
        if !outcome.stderr.isEmpty { writeAll(2, outcome.stderr + "\n") }
        exit(outcome.exitCode)
    }

    public struct Outcome: Sendable, Equatable {
        public var stdout: String
        public var stderr: String
        public var exitCode: Int32
    }

    /// The whole contract without process I/O, so it can be tested directly.
    public static func handle(_ plugin: some Plugin, environment: [String: String],
                              readStdin: () throws(CNIError) -> [UInt8]) -> Outcome {
        let commandText = environment["CNI_COMMAND"] ?? ""
        if commandText.isEmpty {
            let versions = CNIVersion.supported.map(\.description).joined(separator: ", ")
            return Outcome(stdout: "", stderr: "\(plugin.about)\nCNI protocol versions supported: \(versions)", exitCode: 0)
        }
        var version = CNIVersion.latest
        do {
            guard let command = Command(rawValue: commandText) else {
                throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND \"\(commandText)\": expected ADD, DEL, CHECK, STATUS, GC or VERSION")
            }
            if command == .version {
                let info: JSONValue = .object([
                    ("cniVersion", .string(CNIVersion.latest.description)),
                    ("supportedVersions", .array(CNIVersion.supported.map { .string($0.description) })),
                ])
                return Outcome(stdout: info.serialized(), stderr: "", exitCode: 0)
            }
            let env = try Environment(command: command, variables: environment)
            let stdin = try readStdin()
            let request = try Request(env: env, rawConfig: stdin)
            version = request.version
            switch command {
            case .add:
                let result = try plugin.add(request)
                return Outcome(stdout: try result.json(version: version).serialized(), stderr: "", exitCode: 0)
            case .del: try plugin.del(request)
            case .check: try plugin.check(request)
            case .status: try plugin.status(request)
            case .gc: try plugin.gc(request)
            case .version: break
            }
            return Outcome(stdout: "", stderr: "", exitCode: 0)
        } catch let e as CNIError {
            return Outcome(stdout: e.json(cniVersion: version.description).serialized(), stderr: "", exitCode: 1)
        } catch {
            let e = CNIError(.internalError, "\(error)")
            return Outcome(stdout: e.json(cniVersion: version.description).serialized(), stderr: "", exitCode: 1)
        }
    }

    public static func currentEnvironment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            // Bytes, not Characters: a Character search runs grapheme breaking over every variable.
            if let eq = strchr(entry, Int32(UInt8(ascii: "="))) {
                let key = String(decoding: UnsafeRawBufferPointer(start: entry, count: eq - entry), as: UTF8.self)
                env[key] = String(cString: eq + 1)
            }
            p += 1
        }
        return env
    }

    static func readStandardInput() throws(CNIError) -> [UInt8] {
        var data: [UInt8] = []
        // Not zero-filled: clearing 64 kB was a tenth of host-local6's instructions.
        let buf = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 65536)
        defer { buf.deallocate() }
        while true {
            let n = read(0, buf.baseAddress, buf.count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw CNIError(.ioFailure, "error reading from stdin: \(String(cString: strerror(errno)))")
            }
            data.append(contentsOf: UnsafeBufferPointer(rebasing: buf[0..<n]))
            if data.count > maxConfigBytes {
                throw CNIError(.invalidNetworkConfig, "network configuration on stdin is larger than \(maxConfigBytes) bytes")
            }
        }
        return data
    }

    static func writeAll(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue } else { return } }
            bytes = bytes.dropFirst(n)
        }
    }
}

/// Logs a line to stderr (runtimes keep it; stdout is reserved for the result).
public func logWarning(_ message: String) {
    PluginMain.writeAll(2, message + "\n")
}
